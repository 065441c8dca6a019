"""`make run`'s partner simulators: a port another program holds is said
plainly, once, and the other partners' simulators run on."""

from __future__ import annotations

import select
import socket
import subprocess
import sys
import time

import pytest

from tests import factories as f
from tests.conftest import ROOT, worker_env
from tests.web_server import free_port

pytestmark = [
    pytest.mark.postgres,  # the command's own process reads the test database
    pytest.mark.django_db(transaction=True),
]


def test_a_taken_port_is_named_and_the_other_simulators_run() -> None:
    taken, free = free_port(), free_port()
    f.integration_partner(
        "hospital", f.hospital_department(), endpoint_url=f"http://127.0.0.1:{taken}/inbox"
    )
    gp = f.integration_partner("gp", f.gp_practice(), endpoint_url=f"http://127.0.0.1:{free}/inbox")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", taken))
        holder.listen(1)
        process = subprocess.Popen(
            [sys.executable, "manage.py", "partner_simulators"],
            cwd=ROOT,
            # Each line as it is written: read here while the process runs.
            env=worker_env(PYTHONUNBUFFERED="1"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        listening = f"simulator {gp.code} listening on http://127.0.0.1:{free}/inbox"
        said: list[str] = []
        try:
            # Its line says it listens (written once the simulator does):
            # waited for, not the port alone, which answers a moment before.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and process.poll() is None:
                ready, _, _ = select.select([process.stdout], [], [], 0.5)
                if ready:
                    said.append(process.stdout.readline())
                    if listening in said[-1]:
                        break
            assert process.poll() is None, process.communicate()
            with socket.create_connection(("127.0.0.1", free), timeout=5):
                pass
        finally:
            process.terminate()
            out, err = process.communicate(timeout=30)
    assert listening in "".join(said) + out
    assert f"cannot listen on http://127.0.0.1:{taken}/inbox" in err
    assert "Traceback" not in err
