"""The witness as it runs: ``manage.py audit_witness`` in a process of its
own, speaking HTTP to a running platform, with its own key and state file.
(Starts a server: run under the shared ports lock.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from consent.audit.log import sequence_batch, signing_key
from consent.audit.models import LogCosignature
from consent.audit.services import Action, Purpose, audit_record
from consent.audit.witness import witness_key
from core.actors import Actor
from tests.conftest import ROOT, worker_env


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_witness_command_cosigns_the_running_platforms_checkpoint(
    live_server: Any, tmp_path: Path
) -> None:
    storage = tmp_path / "witness"
    key = witness_key(storage / "key", "witness.test/process")
    actor = Actor.system("tests.witness")
    for i in range(3):
        audit_record(actor=actor, action=Action.READ, purpose=Purpose.TREATMENT, citizen_id=i)
    sequence_batch()

    def witness() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "manage.py",
                "audit_witness",
                "--once",
                "--platform",
                live_server.url,
                "--log-key",
                signing_key().verifier().vkey(),
                "--name",
                "witness.test/process",
                "--storage",
                str(storage),
            ],
            cwd=ROOT,
            env=worker_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    with override_settings(AUDIT_WITNESS_KEYS=[key.verifier().vkey()]):
        done = witness()
    assert done.returncode == 0, done.stderr
    assert "cosigned size 3" in done.stdout
    [cosignature] = LogCosignature.objects.all()
    assert cosignature.witness == "witness.test/process" and not cosignature.refused
    assert (storage / "state.json").exists()
    # A platform that does not (yet) know the witness refuses its delivery:
    # the witness says so in one line and exits 3 (nothing was cosigned), and
    # delivers again on its next round.
    audit_record(actor=actor, action=Action.READ, purpose=Purpose.TREATMENT, citizen_id=9)
    sequence_batch()
    with override_settings(AUDIT_WITNESS_KEYS=[]):
        refused = witness()
    assert refused.returncode == 3
    assert refused.stderr.strip().splitlines() == [
        "CommandError: audit witness: POST /api/audit/log/cosignatures answered HTTP 403 "
        "audit.witness_unknown (HTTPError)"
    ]
    with override_settings(AUDIT_WITNESS_KEYS=[key.verifier().vkey()]):
        again = witness()
    assert "cosigned size 4" in again.stdout
    assert LogCosignature.objects.filter(checkpoint__size=4).count() == 1
