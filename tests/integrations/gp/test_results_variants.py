"""Results to the GP, the variants a practice's system meets less often:

- a result the catalogue does not code with NPU (a local code, a vital sign
  without an NPU code): a GP system files a HomeCareObservation's
  Observations by their NPU code, so such a result is not sent as an
  Observation; its value reaches the GP in the report's conclusion with the
  reason, and the message keeps MedCom's rules;
- a citizen known only by a replacement CPR: the report's Patient carries it
  as DK-core's X-eCPR (``use=temp``), never an empty CPR;
- the GP practice's simulated inbox checks what it receives with MedCom's
  rules: a broken HomeCareObservation gets MedCom's fatal-error
  Acknowledgement naming the rule, a valid one ok, a duplicate the same
  acknowledgement again; when the simulator acknowledges separately
  (``async``) it sends that same MedCom Acknowledgement, never an ok for a
  message it refused.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from acute.clinical.models import NPU_SYSTEM, TestDefinition
from core.cpr import X_ECPR_SYSTEM
from core.models import Citizen
from integrations.medcom.validation import validate_message
from integrations.messages import Event
from integrations.models import OutboundMessage, Partner
from integrations.simulators import PartnerSimulator
from integrations.transport import OUR_SENDER_CODE, post_signed
from tests import factories as f
from tests.acute.clinical.conftest import Scene, visit_scene
from tests.conftest import wait_for
from tests.integrations.medcom.peers import ack_parts

pytestmark = pytest.mark.django_db

ECPR = "0703921VJ4"
REPORT_PROFILE = "medcom-homecareobservation-diagnosticreport"


def _entries(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ]


def _temperature() -> TestDefinition:
    """A vital sign added to the catalogue under a local code (no NPU code)."""
    return TestDefinition.objects.create(
        code="TEMP-ORE",
        system="urn:tvaerakut:observation",
        display="Temperatur (øre)",
        kind=TestDefinition.Kind.OBSERVATION,
        predefined=True,
        unit="Cel",
        unit_display="°C",
        decimals=1,
        plausible_low=Decimal(25),
        plausible_high=Decimal(45),
    )


def _results(scene: Scene, *results: dict[str, str]) -> OutboundMessage:
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": list(results)},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return OutboundMessage.objects.get(event=Event.HOME_CARE_OBSERVATION)


def _with_gp_partner(scene: Scene) -> Partner:
    return f.integration_partner(
        Partner.Kind.GP, scene.gp, endpoint_url="http://127.0.0.1:8679/inbox"
    )


def test_a_result_without_an_npu_code_reaches_the_gp_in_the_conclusion_not_as_an_observation():
    scene = visit_scene()
    _with_gp_partner(scene)
    _temperature()

    message = _results(
        scene,
        {"code": "TEMP-ORE", "value": "38.5", "unit": "Cel"},
        {"code": "NPU19748", "value": "25", "unit": "mg/L"},
    )

    assert message.status == OutboundMessage.Status.PENDING, message.last_error
    assert validate_message(message.bundle) == []
    observations = _entries(message.bundle, "Observation")
    assert [o["code"]["coding"][0]["system"] for o in observations] == [NPU_SYSTEM]
    assert [o["code"]["coding"][0]["code"] for o in observations] == ["NPU19748"]
    [report] = _entries(message.bundle, "DiagnosticReport")
    assert len(report["result"]) == 1
    # The GP still reads the value, and why it is not a measurement of its own.
    assert report["conclusion"] == (
        "Uden NPU-kode, derfor ikke sendt som målinger: Temperatur (øre): 38,5 °C"
    )
    assert "38,5 °C" in report["text"]["div"]
    assert "TEMP-ORE" not in json.dumps(message.bundle)


def test_results_all_without_an_npu_code_still_reach_the_gp_as_a_valid_report():
    scene = visit_scene()
    _with_gp_partner(scene)
    _temperature()

    message = _results(scene, {"code": "TEMP-ORE", "value": "39.1", "unit": "Cel"})

    assert message.status == OutboundMessage.Status.PENDING, message.last_error
    assert validate_message(message.bundle) == []
    assert _entries(message.bundle, "Observation") == []
    [report] = _entries(message.bundle, "DiagnosticReport")
    assert "result" not in report  # FHIR has no empty lists
    assert report["conclusion"].endswith("Temperatur (øre): 39,1 °C")


def test_a_citizen_known_only_by_a_replacement_cpr_reaches_the_gp_by_it():
    scene = visit_scene()
    _with_gp_partner(scene)
    Citizen.objects.filter(pk=scene.citizen.pk).update(
        cpr=None, replacement_cpr=ECPR, replacement_cpr_system=X_ECPR_SYSTEM
    )

    message = _results(scene, {"code": "NPU19748", "value": "25", "unit": "mg/L"})

    assert message.status == OutboundMessage.Status.PENDING, message.last_error
    assert validate_message(message.bundle) == []
    [patient] = _entries(message.bundle, "Patient")
    assert patient["identifier"] == [{"use": "temp", "system": X_ECPR_SYSTEM, "value": ECPR}]
    assert "Erstatnings-CPR" in patient["text"]["div"]


# --- the GP practice's simulated inbox ----------------------------------------


class _PlatformInbox:
    """The platform's side of the wire, as far as the simulator can tell:
    records what the simulator sends and answers 200."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                inbox.received.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/fhir/$process-message"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gp_inbox() -> Iterator[tuple[Scene, Partner, PartnerSimulator, _PlatformInbox]]:
    scene = visit_scene()
    partner = f.integration_partner(Partner.Kind.GP, scene.gp)
    platform = _PlatformInbox()
    sim = PartnerSimulator(
        code=partner.code, secret=partner.secret, port=0, platform_url=platform.url
    )
    sim.port = sim._server.server_address[1]
    partner.endpoint_url = sim.url
    partner.save(update_fields=["endpoint_url"])
    sim.start()
    try:
        yield scene, partner, sim, platform
    finally:
        sim.stop()
        platform.stop()


def _post(sim: PartnerSimulator, partner: Partner, bundle: dict[str, Any]) -> Any:
    return post_signed(
        url=sim.url,
        body=json.dumps(bundle).encode(),
        sender=OUR_SENDER_CODE,
        secret=partner.secret,
        timeout=5,
    )


def _preliminary(bundle: dict[str, Any]) -> dict[str, Any]:
    """The message with its report ``preliminary`` (MedCom fixes a
    HomeCareReport's status at ``final``), under a new MessageHeader.id."""
    broken = copy.deepcopy(bundle)
    broken["id"] = str(uuid.uuid4())
    broken["entry"][0]["resource"]["id"] = str(uuid.uuid4())
    [report] = _entries(broken, "DiagnosticReport")
    report["status"] = "preliminary"
    return broken


def _rules_named(ack: dict[str, Any]) -> str:
    return " ".join(
        issue["details"].get("text", "")
        for outcome in _entries(ack, "OperationOutcome")
        for issue in outcome["issue"]
    )


def _gp_results(scene: Scene) -> OutboundMessage:
    return _results(scene, {"code": "NPU19748", "value": "25", "unit": "mg/L"})


def test_the_gp_inbox_refuses_a_broken_homecareobservation_naming_the_rule(gp_inbox):
    scene, partner, sim, _ = gp_inbox
    broken = _preliminary(_gp_results(scene).bundle)
    assert [(v.profile, v.path, v.rule) for v in validate_message(broken)] == [
        (REPORT_PROFILE, "status", "fixed")
    ]

    first = _post(sim, partner, broken)
    again = _post(sim, partner, broken)

    assert first.status == 400
    code, answered, details = ack_parts(first.json())
    assert (code, answered) == ("fatal-error", broken["entry"][0]["resource"]["id"])
    assert details
    assert REPORT_PROFILE in _rules_named(first.json())
    assert validate_message(first.json()) == []
    assert scene.citizen.cpr not in first.body.decode()
    # A duplicate gets the same acknowledgement again and is not processed.
    assert (again.status, again.json()) == (first.status, first.json())
    assert sim.processed_count() == 0


def test_the_gp_inbox_acknowledges_a_valid_homecareobservation_ok_and_its_duplicate_alike(
    gp_inbox,
):
    scene, partner, sim, _ = gp_inbox
    bundle = _gp_results(scene).bundle

    first = _post(sim, partner, bundle)
    again = _post(sim, partner, bundle)

    assert first.status == 200
    code, answered, details = ack_parts(first.json())
    assert (code, answered, details) == ("ok", bundle["entry"][0]["resource"]["id"], [])
    assert validate_message(first.json()) == []
    assert (again.status, again.json()) == (200, first.json())
    assert sim.processed_count() == 1


def test_an_inbox_acknowledging_separately_sends_medcoms_acknowledgement_of_what_it_found(
    gp_inbox,
):
    """A simulator told to acknowledge later answers 202, then sends MedCom's
    Acknowledgement: fatal-error naming the rule for the broken message (not
    an ok), ok for the valid one."""
    scene, partner, sim, platform = gp_inbox
    sim.state.ack_mode = "async"
    bundle = _gp_results(scene).bundle
    broken = _preliminary(bundle)

    assert _post(sim, partner, broken).status == 202
    assert _post(sim, partner, bundle).status == 202
    assert wait_for(lambda: len(platform.received) == 2, timeout=10)

    by_answered = {ack_parts(ack)[1]: ack for ack in platform.received}
    refused = by_answered[broken["entry"][0]["resource"]["id"]]
    accepted = by_answered[bundle["entry"][0]["resource"]["id"]]
    assert ack_parts(refused)[0] == "fatal-error"
    assert REPORT_PROFILE in _rules_named(refused)
    assert ack_parts(accepted)[0] == "ok"
    assert validate_message(refused) == [] and validate_message(accepted) == []
    assert sim.processed_count() == 1
