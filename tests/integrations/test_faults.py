"""Fault tests with a real worker and Redis: messages are never lost and
arrive once — worker killed mid-delivery, Redis down at the event, partner
down for hours (simulated time), no acknowledgement, fatal answers."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from consent.audit.models import Action, AuditEntry
from core.fhir.patient import patient_resource
from integrations.messages import Event, message_bundle
from integrations.models import DeliveryAttempt, OutboundMessage, Partner
from integrations.outbox import outbox_enqueue, outbox_sweep
from integrations.tasks import outbox_deliver_task
from tests import factories as f
from tests.conftest import ROOT, wait_for, worker_env
from tests.parallel import port
from worker.celery import app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CLOSED_PORT = port(8699)  # nothing listens here: "Redis is down"


def _bundle(partner: Partner, citizen) -> dict:
    return message_bundle(
        event=Event.CARE_COMMUNICATION,
        sender=f.acute_function(),
        receiver=partner.organisation,
        receiver_endpoint=partner.endpoint_url,
        focus=[
            {
                "resourceType": "Communication",
                "id": "c1",
                "status": "completed",
                "payload": [{"contentString": "Hand-back"}],
            }
        ],
        supporting=[patient_resource(citizen)],
    )


def _enqueue(partner: Partner, citizen, *, hold: bool = False) -> OutboundMessage:
    """An outbox row as an event writes it. ``hold``: not due yet, so no worker
    takes it until the test says so."""
    with transaction.atomic():
        message = outbox_enqueue(
            partner=partner,
            event=Event.CARE_COMMUNICATION,
            bundle=_bundle(partner, citizen),
            citizen=citizen,
            source_type="test",
            source_id="1",
        )
        if hold:
            OutboundMessage.objects.filter(pk=message.pk).update(
                next_attempt_at=timezone.now() + dt.timedelta(days=1)
            )
    return message


def _handoff_queue_idle() -> bool:
    """No delivery waiting in the hand-off queue or held by a worker: the
    after-commit delivery of a held message has been taken (and skipped) — or
    no worker consumes the queue at all, so none can take the message."""
    consumers = app.control.inspect(timeout=1.0).active_queues() or {}
    if not any(q.get("name") == "handoffs" for queues in consumers.values() for q in queues):
        return True
    with app.connection_for_read() as conn:
        if conn.default_channel.client.llen("handoffs"):  # type: ignore[attr-defined]  # Redis list
            return False
    inspect = app.control.inspect(timeout=1.0)
    held = [*(inspect.active() or {}).values(), *(inspect.reserved() or {}).values()]
    return not any(task.get("name") == outbox_deliver_task.name for tasks in held for task in tasks)


def _solo_worker(tmp: Path, name: str, queues: str) -> subprocess.Popen[bytes]:
    """A worker doing the delivery in its own process (solo pool), so killing
    it kills the delivery mid-flight."""
    log = tmp / f"{name}.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker.celery:app",
            "worker",
            "--pool=solo",
            "-Q",
            queues,
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=worker_env(),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    # Ready when it says so: a solo worker that takes a task at once cannot
    # answer a ping until the task is done.
    ready = f"{name}@{socket.gethostname()} ready."
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if ready in log.read_text(errors="replace"):
            return process
        if process.poll() is not None:
            raise AssertionError(log.read_text()[-2000:])
        time.sleep(0.1)
    process.kill()
    process.wait(timeout=10)
    raise AssertionError("worker did not start: " + log.read_text()[-2000:])


def _forget_unacknowledged(queue: str) -> None:
    """Drop what the killed worker held unacknowledged for ``queue`` from
    Redis, so that the broker never hands it back to a queue nobody reads."""
    with app.connection_for_write() as conn:
        client = conn.default_channel.client  # type: ignore[attr-defined]  # Redis transport
        for tag, raw in client.hgetall("unacked").items():
            if json.loads(raw)[-1] == queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)


def test_worker_killed_mid_delivery_the_message_arrives_once(network, tmp_path) -> None:
    citizen = f.citizen()
    sim = network.sims["home_nursing"]
    # The partner is slow and the platform patient with it, both far beyond
    # what a loaded machine needs between the arrival and the kill: the worker
    # is killed while it waits, never after its own timeout has settled it.
    Partner.objects.filter(pk=network.home_nursing.pk).update(request_timeout_seconds=60)
    sim.state.delay_seconds = 60.0
    message = _enqueue(network.home_nursing, citizen, hold=True)
    # A worker already running (from earlier tests) must not take the message
    # once it is due: wait until its after-commit delivery has come and gone.
    assert wait_for(_handoff_queue_idle, timeout=30)
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    # A queue of this run's own: the task the kill leaves unacknowledged in
    # Redis must never reach a victim of a later run on the same Redis.
    queue = f"handoffs-victim-{uuid.uuid4().hex}"
    victim = _solo_worker(tmp_path, "victim", queue)
    try:
        outbox_deliver_task.apply_async(args=(message.pk,), queue=queue)
        # This message, not a late retry from an earlier test to the same port.
        assert wait_for(lambda: str(message.message_id) in sim.state.received_at, timeout=20)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
    finally:
        if victim.poll() is None:
            victim.kill()
        _forget_unacknowledged(queue)
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.SENDING  # claimed, answer never recorded
    # The sweeper, once the lease is over, hands it to a healthy worker.
    rescuer = _solo_worker(tmp_path, "rescuer", "handoffs")
    sim.state.delay_seconds = 0
    try:
        # (Sweeps skip rows another transaction holds; beat simply sweeps again.)
        later = message.lease_until + dt.timedelta(seconds=1)
        assert wait_for(lambda: outbox_sweep(now=later) == [message.pk], timeout=10)
        assert wait_for(
            lambda: (
                OutboundMessage.objects.get(pk=message.pk).status
                == OutboundMessage.Status.ACKNOWLEDGED
            ),
            timeout=30,
        )
    finally:
        rescuer.terminate()
        rescuer.wait(timeout=15)
    header_id = str(message.message_id)
    assert sim.state.received_bundle_ids.count(str(message.bundle_id)) == 2  # sent twice ...
    assert sim.processed_count(header_id) == 1  # ... processed once
    outcomes = list(
        DeliveryAttempt.objects.filter(message=message).values_list("error_code", "outcome")
    )
    assert outcomes == [("worker.lost", "network"), ("", "acknowledged")]
    assert AuditEntry.objects.filter(citizen_id=citizen.pk, action=Action.DISCLOSE).count() == 1


def test_redis_down_when_the_event_commits_then_the_sweeper_sends_it_once(
    network, celery_worker, tmp_path
) -> None:
    citizen = f.citizen()
    partner = network.home_nursing
    script = textwrap.dedent(
        f"""
        import django
        django.setup()
        from django.db import transaction
        from core.models import Citizen, Organisation
        from integrations.models import Partner
        from integrations.outbox import outbox_enqueue
        from tests.integrations.test_faults import _bundle
        partner = Partner.objects.get(pk={partner.pk})
        citizen = Citizen.objects.get(pk={citizen.pk})
        with transaction.atomic():
            outbox_enqueue(partner=partner, event="care-communication",
                           bundle=_bundle(partner, citizen), citizen=citizen,
                           source_type="test", source_id="redis-down")
        print("committed")
        """
    )
    env = worker_env(REDIS_URL=f"redis://127.0.0.1:{CLOSED_PORT}/0")
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert b"committed" in done.stdout
    assert b"waits for the sweeper" in done.stderr
    message = OutboundMessage.objects.get(source_id="redis-down")
    assert message.status == OutboundMessage.Status.PENDING
    time.sleep(1)
    assert network.sims["home_nursing"].processed_count() == 0
    # Redis is back: the sweeper (beat) sends it.
    assert outbox_sweep() == [message.pk]
    assert wait_for(
        lambda: (
            OutboundMessage.objects.get(pk=message.pk).status == OutboundMessage.Status.ACKNOWLEDGED
        ),
        timeout=20,
    )
    outbox_sweep()
    time.sleep(0.5)
    assert network.sims["home_nursing"].processed_count() == 1
    assert len(network.sims["home_nursing"].state.received_bundle_ids) == 1


def test_partner_down_for_hours_backs_off_exponentially_then_delivers(
    network, celery_worker
) -> None:
    partner = network.gp
    Partner.objects.filter(pk=partner.pk).update(
        # Waits above a minute are the sweeper's (no Celery countdowns): the test
        # moves the clock and sweeps.
        backoff_base_seconds=130,
        backoff_max_seconds=3600,
        max_attempts=15,
    )
    sim = network.sims["gp"]
    sim.state.down = True
    citizen = f.citizen()
    message = _enqueue(Partner.objects.get(pk=partner.pk), citizen)
    simulated = timezone.now()
    down_until = simulated + dt.timedelta(hours=3)
    attempts_seen = 0
    while True:
        assert wait_for(
            lambda seen=attempts_seen: (
                DeliveryAttempt.objects.filter(message=message)
                .exclude(outcome=DeliveryAttempt.Outcome.IN_FLIGHT)
                .count()
                > seen
            ),
            timeout=20,
        )
        attempts_seen += 1
        current = OutboundMessage.objects.get(pk=message.pk)
        if current.status == OutboundMessage.Status.ACKNOWLEDGED:
            break
        assert current.status == OutboundMessage.Status.PENDING, list(
            DeliveryAttempt.objects.filter(message=message).values_list(
                "number", "started_at", "outcome", "retry_in_seconds"
            )
        )
        # The clock jumps to when the back-off ends (real time barely moves).
        last = DeliveryAttempt.objects.filter(message=message).order_by("-number").first()
        assert last is not None and last.retry_in_seconds is not None
        simulated = max(
            simulated + dt.timedelta(seconds=last.retry_in_seconds), current.next_attempt_at
        )
        if simulated >= down_until:
            sim.state.down = False
        assert wait_for(lambda at=simulated: outbox_sweep(now=at) == [message.pk], timeout=10)
    waits = list(
        DeliveryAttempt.objects.filter(message=message, retry_in_seconds__isnull=False)
        .order_by("number")
        .values_list("retry_in_seconds", flat=True)
    )
    # Exponential with jitter: the n-th wait lies in [base*2^(n-1)/2, base*2^(n-1)], capped.
    for n, wait in enumerate(waits, start=1):
        ceiling = min(3600, 130 * 2 ** (n - 1))
        assert ceiling / 2 <= wait <= ceiling
    assert sum(waits) >= 3 * 3600
    assert sim.processed_count() == 1
    assert current.attempts == len(waits) + 1


def test_after_the_bounded_attempts_the_message_is_parked_and_a_person_resends_it(
    network, celery_worker
) -> None:
    partner = network.hospital
    Partner.objects.filter(pk=partner.pk).update(max_attempts=2)
    sim = network.sims["hospital"]
    sim.state.down = True
    message = _enqueue(Partner.objects.get(pk=partner.pk), f.citizen())
    assert wait_for(
        lambda: (
            DeliveryAttempt.objects.filter(message=message, finished_at__isnull=False).count() == 1
        )
    )
    outbox_sweep(now=timezone.now() + dt.timedelta(minutes=5))
    assert wait_for(
        lambda: OutboundMessage.objects.get(pk=message.pk).status == OutboundMessage.Status.FAILED
    )
    parked = OutboundMessage.objects.get(pk=message.pk)
    assert parked.last_error_code == "http.503"
    assert "gave up after 2 attempts" in parked.last_error

    coordinator = f.staff("coordinator", network.acute)
    board = f.client_for(coordinator).get("/api/integrations/outbox?status=failed")
    assert board.status_code == 200
    [row] = board.json()["results"]
    assert (row["id"], row["reason_code"]) == (message.pk, "http.503")

    sim.state.down = False
    resent = f.client_for(coordinator).post(f"/api/integrations/outbox/{message.pk}/resend")
    assert resent.status_code == 202
    assert wait_for(
        lambda: (
            OutboundMessage.objects.get(pk=message.pk).status == OutboundMessage.Status.ACKNOWLEDGED
        )
    )
    done = OutboundMessage.objects.get(pk=message.pk)
    assert done.resent_by_id == coordinator.pk
    assert sim.processed_count() == 1
    detail = f.client_for(coordinator).get(f"/api/integrations/outbox/{message.pk}").json()
    assert [a["outcome"] for a in detail["attempts"]] == ["transient", "transient", "acknowledged"]


def test_a_fatal_answer_parks_the_message_at_once_with_the_partners_reason(
    network, celery_worker
) -> None:
    sim = network.sims["gp"]
    sim.state.ack_mode = "fatal"
    message = _enqueue(network.gp, f.citizen())
    assert wait_for(
        lambda: OutboundMessage.objects.get(pk=message.pk).status == OutboundMessage.Status.FAILED
    )
    parked = OutboundMessage.objects.get(pk=message.pk)
    assert parked.attempts == 1
    assert parked.last_error_code == "partner.fatal_error"
    # MedCom's issue detail code with the partner's text, as an acknowledgement
    # of its own is recorded.
    assert parked.last_error == "MSG_LOCAL_FAIL: rejected by the partner"


def test_unacknowledged_messages_are_resent_a_bounded_number_of_times_then_raised(
    network, celery_worker
) -> None:
    Partner.objects.filter(pk=network.gp.pk).update(max_resends=2, ack_timeout_seconds=600)
    sim = network.sims["gp"]
    sim.state.ack_mode = "none"  # 202 Accepted, and the acknowledgement never comes
    message = _enqueue(Partner.objects.get(pk=network.gp.pk), f.citizen())
    clock = timezone.now()
    for sendings in (1, 2, 3):
        assert wait_for(lambda n=sendings: len(sim.state.received_bundle_ids) == n)
        assert wait_for(
            lambda: (
                OutboundMessage.objects.get(pk=message.pk).status
                == OutboundMessage.Status.AWAITING_ACK
            )
        )
        clock += dt.timedelta(seconds=601)
        outbox_sweep(now=clock)
    assert wait_for(
        lambda: OutboundMessage.objects.get(pk=message.pk).status == OutboundMessage.Status.FAILED
    )
    raised = OutboundMessage.objects.get(pk=message.pk)
    assert raised.last_error_code == "ack.missing"
    assert sim.processed_count() == 1  # the partner de-duplicated the resends


def test_an_acknowledgement_sent_separately_completes_the_message(
    live_network, celery_worker
) -> None:
    """The partner answers 202 and acknowledges later, by its own signed message."""
    sim = live_network.sims["gp"]
    sim.state.ack_mode = "async"
    message = _enqueue(live_network.gp, f.citizen())
    assert wait_for(
        lambda: (
            OutboundMessage.objects.get(pk=message.pk).status == OutboundMessage.Status.ACKNOWLEDGED
        ),
        timeout=20,
    )
    attempts = list(
        DeliveryAttempt.objects.filter(message=message).values_list("outcome", flat=True)
    )
    assert attempts == ["accepted"]
