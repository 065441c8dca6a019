"""Fixtures for the hand-offs: the platform served on a real port, partner
simulators on 127.0.0.1 (ports 8670-8699, 8770-8799 in the suite's second
process: tests/parallel.py), and configured partners."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db import connections
from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler, _StaticFilesHandler

from core.models import Organisation
from integrations.models import Partner
from integrations.simulators import PartnerSimulator
from integrations.transport import close_connections
from tests import factories as f
from tests.parallel import port

# Moved on by 100 in each further process of the suite (tests/parallel.py).
PLATFORM_PORT = port(8670)
SIM_PORTS = {
    "1813": port(8671),
    "hospital": port(8672),
    "gp": port(8673),
    "home_nursing": port(8674),
    "eoj": port(8675),
}


class _ReusableLiveServer(LiveServerThread):
    """The platform on a fixed port from this suite's range; a restarted test
    server may bind it again at once."""

    def _create_server(self, connections_override=None):
        return self.server_class(
            (self.host, self.port),
            QuietWSGIRequestHandler,
            allow_reuse_address=True,
            connections_override=connections_override,
        )


@pytest.fixture
def platform_url(transactional_db: None) -> Iterator[str]:
    """This platform, served over HTTP on 127.0.0.1 for the simulators to call."""
    override = {}
    for conn in connections.all():
        if conn.vendor == "sqlite" and conn.is_in_memory_db():  # type: ignore[attr-defined]
            conn.inc_thread_sharing()
            override[conn.alias] = conn
    thread = _ReusableLiveServer(
        "127.0.0.1", _StaticFilesHandler, connections_override=override, port=PLATFORM_PORT
    )
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{PLATFORM_PORT}/fhir/$process-message"
    # The server serves a kept-alive connection, and holds its database
    # session, until the client closes it.
    close_connections()
    thread.terminate()
    for conn in override.values():
        conn.dec_thread_sharing()


@dataclass
class Network:
    """The configured partners and their simulators."""

    acute: Organisation
    helpline: Partner
    hospital: Partner
    gp: Partner
    home_nursing: Partner
    records: Partner
    sims: dict[str, PartnerSimulator]


def _network(platform: str = "") -> Iterator[Network]:
    acute = f.acute_function()
    gentofte = f.municipality("157")
    orgs = {
        "1813": f.organisation(Organisation.Kind.HELPLINE_1813, "Akuttelefonen 1813"),
        "hospital": f.organisation(Organisation.Kind.HOSPITAL, "Herlev og Gentofte Hospital"),
        "gp": f.gp_practice(),
        "home_nursing": f.organisation(
            Organisation.Kind.HOME_NURSING, "Gentofte Hjemmesygepleje", parent=gentofte
        ),
        "eoj": gentofte,
    }
    orgs["hospital"].serves.add(gentofte)
    kinds = {
        "1813": Partner.Kind.HELPLINE_1813,
        "hospital": Partner.Kind.HOSPITAL,
        "gp": Partner.Kind.GP,
        "home_nursing": Partner.Kind.HOME_NURSING,
        "eoj": Partner.Kind.MUNICIPAL_RECORDS,
    }
    sims: dict[str, PartnerSimulator] = {}
    partners: dict[str, Partner] = {}
    try:
        for key, port in SIM_PORTS.items():
            partner = f.integration_partner(
                kinds[key],
                orgs[key],
                endpoint_url=f"http://127.0.0.1:{port}/inbox",
                backoff_base_seconds=1,
                backoff_max_seconds=4,
                request_timeout_seconds=3,
            )
            partners[key] = partner
            sims[key] = PartnerSimulator(
                code=partner.code, secret=partner.secret, port=port, platform_url=platform
            ).start()
        yield Network(
            acute=acute,
            helpline=partners["1813"],
            hospital=partners["hospital"],
            gp=partners["gp"],
            home_nursing=partners["home_nursing"],
            records=partners["eoj"],
            sims=sims,
        )
    finally:
        for sim in sims.values():
            sim.stop()


@pytest.fixture
def network(transactional_db: None) -> Iterator[Network]:
    """Partners and simulators; the simulators do not call the platform."""
    yield from _network()


@pytest.fixture
def live_network(platform_url: str) -> Iterator[Network]:
    """Partners and simulators that send to the platform over HTTP."""
    yield from _network(platform_url)
