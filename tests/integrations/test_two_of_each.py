"""Two web servers and two workers on one database and one Redis, as
``docker compose up --scale web=2 --scale worker=2`` runs them: nothing is done
twice — not a triage, not a hand-off, not a deadline warning, not a scheduled
job that two workers run at the same moment."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.utils import timezone

from acute.models import DeadlineWarning, Referral
from consent.audit.log import sequence_batch
from consent.audit.models import AuditEntry, AuditFlag
from core.actors import Actor
from core.models import Role
from integrations.messages import Event
from integrations.models import OutboundMessage
from tests import factories as f
from tests.conftest import ROOT, start_workers, stop_worker, wait_for, worker_env
from tests.integrations.helpers import referral_from_1813
from tests.web_server import RunningWeb, fetch, start_web
from worker.celery import app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SCHEDULED = (
    "acute.deadline_watch",
    "consent.audit.flags_scan",
    "integrations.outbox_sweep",
    "acute.visits_expire_unanswered",
    "acute.planned_dispatch",
    "medicine_cabinet.watch_low_stock",
    "medicine_cabinet.watch_expiry",
    "medicine_cabinet.watch_counts",
    "acute.clinical.medication_orders_watch",
)


def _two_webs(tmp: Path) -> list[RunningWeb]:
    env = {"DEPLOYMENT": "local", "STATIC_ROOT": str(tmp / "static")}
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=worker_env(DEBUG="0", VAR_DIR=str(tmp / "var"), **env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collected.returncode == 0, collected.stderr
    return [start_web(tmp / name, **env) for name in ("web-a", "web-b")]


def _post(web: RunningWeb, path: str, token: str, body: dict) -> int:
    status, _, _, _ = fetch(
        f"{web.url}{path}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        data=json.dumps(body).encode(),
    )
    return status


def test_two_web_servers_and_two_workers_do_nothing_twice(network, tmp_path: Path) -> None:
    coordinator = f.staff(Role.COORDINATOR, network.acute)
    token = f.token_for(coordinator)
    actor = Actor.for_membership(coordinator)
    referrals = [
        referral_from_1813(
            f.citizen(), network.helpline.organisation, by=actor, external_id=f"1813-scale-{i}"
        )
        for i in range(6)
    ]
    overdue = referral_from_1813(
        f.citizen(), network.helpline.organisation, by=actor, external_id="1813-scale-late"
    )
    Referral.objects.filter(pk=overdue.pk).update(
        received_at=timezone.now() - dt.timedelta(hours=3),
        deadline_at=timezone.now() - dt.timedelta(hours=1),
    )
    # An access the gate refused: the flag scan raises one flag for it.
    refused = f.client_for(f.staff(Role.ACUTE_NURSE, network.acute)).get(
        f"/api/acute/referrals/{referrals[0].pk}"
    )
    assert refused.status_code == 404
    assert AuditEntry.objects.filter(outcome="denied").exists()

    (tmp_path / "web-a").mkdir()
    (tmp_path / "web-b").mkdir()
    webs = _two_webs(tmp_path)
    workers = []
    try:
        # Started inside: a worker that fails to start leaves no server behind.
        workers += start_workers(tmp_path, ["scale-a", "scale-b"])
        # Each referral accepted through both servers at the same moment: one wins.
        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(
                pool.map(
                    lambda job: _post(
                        job[0], f"/api/acute/referrals/{job[1].pk}/accept", token, {}
                    ),
                    [(web, r) for r in referrals for web in webs],
                )
            )
        for i in range(len(referrals)):
            assert sorted(answers[2 * i : 2 * i + 2]) == [200, 409], answers

        # The sequencer (docker compose runs one beside them) places what was
        # recorded, so the flag scan has the refused access to read.
        while sequence_batch():
            pass
        # Every scheduled job, four at once across the two workers.
        for _ in range(4):
            for name in SCHEDULED:
                app.send_task(name)

        sim = network.sims["1813"]
        status_messages = OutboundMessage.objects.filter(
            partner=network.helpline, event=Event.REFERRAL_STATUS
        )
        assert wait_for(
            lambda: (
                status_messages.filter(status=OutboundMessage.Status.ACKNOWLEDGED).count()
                >= len(referrals)
            ),
            timeout=60,
        )
        assert wait_for(
            lambda: DeadlineWarning.objects.filter(referral=overdue).exists(), timeout=30
        )
        assert wait_for(lambda: AuditFlag.objects.filter(kind="denied").exists(), timeout=30)
        # Let the last of the jobs finish before counting.
        assert wait_for(
            lambda: not any((app.control.inspect(timeout=1.0).active() or {}).values()),
            timeout=60,
        )
    finally:
        for worker in workers:
            stop_worker(worker)
        for web in webs:
            web.stop()

    assert status_messages.count() == len(referrals)
    for message in status_messages:
        assert sim.processed_count(str(message.message_id)) == 1
        assert sim.state.received_bundle_ids.count(str(message.bundle_id)) == 1
    assert sim.processed_count() == len(referrals)
    assert DeadlineWarning.objects.filter(referral=overdue, kind="overdue").count() == 1
    denied = AuditFlag.objects.filter(kind="denied")
    assert denied.count() == denied.values("entry_id").distinct().count() >= 1
