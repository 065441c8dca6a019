"""`make run`'s partner simulators: a port another program holds is said
plainly, once, and the other partners' simulators run on."""

from __future__ import annotations

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
            env=worker_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    with socket.create_connection(("127.0.0.1", free), timeout=1):
                        break
                except OSError:
                    time.sleep(0.2)
            assert process.poll() is None, process.communicate()
        finally:
            process.terminate()
            out, err = process.communicate(timeout=30)
    assert f"simulator {gp.code} listening on http://127.0.0.1:{free}/inbox" in out
    assert f"cannot listen on http://127.0.0.1:{taken}/inbox" in err
    assert "Traceback" not in err
