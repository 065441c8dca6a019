"""The coordinator's board of undelivered and failed hand-offs, and the pieces
underneath: signatures, back-off, message shape, the sweeper's choices."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import transaction
from django.utils import timezone

from core.fhir.patient import patient_resource
from core.models import Role
from core.times import api_instant
from integrations.messages import Event, message_bundle, parse_message
from integrations.models import OutboundMessage, Partner
from integrations.outbox import backoff_delay, outbox_enqueue, outbox_sweep
from integrations.transport import SignatureRefused, signature, signature_verify
from tests import factories as f

pytestmark = pytest.mark.django_db


def _message(status: str = OutboundMessage.Status.FAILED, **fields: object) -> OutboundMessage:
    partner = f.integration_partner(
        Partner.Kind.GP, f.gp_practice(), endpoint_url="http://127.0.0.1:8679/inbox"
    )
    citizen = f.citizen()
    bundle = message_bundle(
        event=Event.CARE_COMMUNICATION,
        sender=f.acute_function(),
        receiver=partner.organisation,
        receiver_endpoint=partner.endpoint_url,
        focus=[{"resourceType": "Communication", "id": "c", "status": "completed"}],
        supporting=[patient_resource(citizen)],
    )
    with transaction.atomic():
        message = outbox_enqueue(
            partner=partner, event=Event.CARE_COMMUNICATION, bundle=bundle, citizen=citizen
        )
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=status,
        last_error_code="http.503" if status == OutboundMessage.Status.FAILED else "",
        failed_at=timezone.now() if status == OutboundMessage.Status.FAILED else None,
        **fields,
    )
    return message


def test_the_message_is_a_fhir_message_bundle_header_first_with_provenance() -> None:
    message = _message(OutboundMessage.Status.PENDING)
    parsed = parse_message(message.bundle)
    kinds = [e["resource"]["resourceType"] for e in message.bundle["entry"]]
    assert kinds[0] == "MessageHeader" and kinds[-1] == "Provenance"
    assert parsed.header_id == str(message.message_id)
    assert parsed.bundle_id == str(message.bundle_id)
    assert "Patient" in kinds


def test_signature_is_hmac_over_timestamp_and_body_and_refuses_tampering() -> None:
    body, now = b'{"resourceType":"Bundle"}', 1_800_000_000
    good = signature("s3cret", str(now), body)
    signature_verify(secret="s3cret", timestamp=str(now), given=good, body=body, now=now)
    for secret, ts, payload, code in [
        ("other", str(now), body, "auth.signature_invalid"),
        ("s3cret", str(now), body + b" ", "auth.signature_invalid"),
        ("s3cret", str(now - 301), body, "auth.timestamp_stale"),
    ]:
        with pytest.raises(SignatureRefused) as refused:
            signature_verify(
                secret=secret,
                timestamp=ts,
                given=signature("s3cret", ts, body),
                body=payload,
                now=now,
            )
        assert refused.value.code == code
        assert "s3cret" not in refused.value.message


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    rng = random.Random(7)
    for attempt in range(1, 12):
        ceiling = min(600, 10 * 2 ** (attempt - 1))
        delays = [backoff_delay(attempt=attempt, base=10, cap=600, rng=rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jitter: not in lock-step


def test_sweeper_picks_due_and_lease_expired_messages_only() -> None:
    due = _message(OutboundMessage.Status.PENDING)
    later = _message(OutboundMessage.Status.PENDING)
    OutboundMessage.objects.filter(pk=later.pk).update(
        next_attempt_at=timezone.now() + dt.timedelta(hours=1)
    )
    stuck = _message(
        OutboundMessage.Status.SENDING, lease_until=timezone.now() - dt.timedelta(seconds=1)
    )
    assert sorted(outbox_sweep()) == sorted([due.pk, stuck.pk])
    assert OutboundMessage.objects.get(pk=stuck.pk).status == OutboundMessage.Status.PENDING


def test_coordinator_sees_failed_messages_with_the_reason(django_assert_max_num_queries) -> None:
    for _ in range(3):
        _message()
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    client = f.client_for(coordinator)
    with django_assert_max_num_queries(6 + f.audit_extra_queries()):
        response = client.get("/api/integrations/outbox?status=failed")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert len(rows) == 3
    assert {r["reason_code"] for r in rows} == {"http.503"}
    assert "bundle" not in rows[0]  # the board never shows the citizen data inside


def test_board_refuses_an_unknown_status_with_a_precise_code() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    response = f.client_for(coordinator).get("/api/integrations/outbox?status=lost")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "outbox.status_invalid"


@pytest.mark.parametrize(
    "role",
    [
        Role.ACUTE_NURSE,
        Role.PHYSICIAN,
        Role.HOME_NURSE,
        Role.AUDITOR,
        Role.ANALYST,
        Role.MEDICINE_OFFICER,
    ],
)
def test_other_roles_are_refused_the_board_and_the_resend(role) -> None:
    message = _message()
    client = f.client_for(f.staff(role, f.acute_function()))
    assert client.get("/api/integrations/outbox").status_code == 403
    assert client.get(f"/api/integrations/outbox/{message.pk}").status_code == 403
    assert client.post(f"/api/integrations/outbox/{message.pk}/resend").status_code == 403
    assert OutboundMessage.objects.get(pk=message.pk).status == OutboundMessage.Status.FAILED


def test_anonymous_is_refused() -> None:
    assert f.client_for(None).get("/api/integrations/outbox").status_code in (401, 403)


def test_only_a_failed_message_can_be_resent() -> None:
    message = _message(OutboundMessage.Status.ACKNOWLEDGED, acknowledged_at=timezone.now())
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    response = f.client_for(coordinator).post(f"/api/integrations/outbox/{message.pk}/resend")
    assert response.status_code == 412
    assert response.json()["error"]["code"] == "outbox.not_failed"


def test_unknown_message_is_not_found() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    assert f.client_for(coordinator).get("/api/integrations/outbox/999999").status_code == 404


def test_healthz_shows_the_oldest_undelivered_message(client) -> None:
    message = _message(OutboundMessage.Status.PENDING)
    body = client.get("/healthz").json()
    handoffs = body["details"]["handoffs"]
    assert handoffs["undelivered"] == 1
    assert handoffs["oldest_undelivered_at"] == api_instant(message.created_at)
    assert set(body["checks"]) == {"database", "broker", "worker"}
    assert "queues" in body["details"]  # depth per queue, when the broker answers


def test_healthz_counts_only_the_failures_nobody_has_handled(client) -> None:
    waiting = _message(OutboundMessage.Status.FAILED)
    handled = _message(OutboundMessage.Status.FAILED)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    marked = f.client_for(coordinator).post(f"/api/integrations/outbox/{handled.pk}/handled")
    assert marked.status_code == 200, marked.content
    handoffs = client.get("/healthz").json()["details"]["handoffs"]
    assert handoffs["failed"] == 1
    assert handoffs["by_status"] == {"failed": 1}
    assert waiting.pk != handled.pk
