"""A failed or withheld hand-off needs a person until she has dealt with it:
sent again, or handled another way (she phoned the recipient). Marked
handled, it leaves the coordinator's board (API and page), kept for the
record with who and when, and the mark is audited (R9). Without it the
board, oldest first and limited, fills with what was long dealt with and
hides what failed today."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from consent.audit.models import Action, AuditEntry
from core.models import Role
from integrations.api import BOARD_LIMIT
from integrations.models import OutboundMessage
from integrations.outbox import outbox_acknowledge
from tests import factories as f
from tests.core.test_danish_pages import _read
from tests.integrations.test_outbox_api import _message

pytestmark = pytest.mark.django_db


def _board_ids(api) -> list[int]:
    return [row["id"] for row in api.get("/api/integrations/outbox").json()["results"]]


def test_r11_a_handled_message_leaves_the_board_and_new_failures_show() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    api = f.client_for(coordinator)
    first = _message()
    earlier = first.created_at - dt.timedelta(days=30)
    # A month of failures already dealt with by phone (copies of one, each its own message).
    OutboundMessage.objects.bulk_create(
        OutboundMessage(
            partner=first.partner,
            event=first.event,
            citizen=first.citizen,
            bundle=first.bundle,
            status=OutboundMessage.Status.FAILED,
            last_error_code="http.503",
            failed_at=earlier,
            created_at=earlier + dt.timedelta(minutes=n),
        )
        for n in range(BOARD_LIMIT - 1)
    )
    old = list(OutboundMessage.objects.order_by("created_at", "pk"))
    today = _message()
    # Oldest first: what failed today is past the board's limit.
    assert today.pk not in _board_ids(api)
    for message in old:
        response = api.post(f"/api/integrations/outbox/{message.pk}/handled")
        assert response.status_code == 200, response.content
        assert response.json()["handled_by"] == coordinator.user.username
    assert _board_ids(api) == [today.pk]
    kept = OutboundMessage.objects.get(pk=old[0].pk)
    assert kept.status == OutboundMessage.Status.FAILED
    assert kept.handled_by == coordinator and kept.handled_at is not None
    entry = AuditEntry.objects.get(
        citizen_id=kept.citizen_id,
        action=Action.UPDATE,
        reason_code="outbox.handled",
        resource_id=str(kept.bundle_id),
    )
    assert entry.resource_type == "Bundle"
    # The message itself, read by id, says who handled it.
    assert api.get(f"/api/integrations/outbox/{kept.pk}").json()["handled_by"] == (
        coordinator.user.username
    )


def test_a_withheld_message_is_handled_too_and_a_second_mark_is_a_conflict() -> None:
    message = _message(OutboundMessage.Status.WITHHELD)
    first = f.staff(Role.COORDINATOR, f.acute_function())
    assert (
        f.client_for(first).post(f"/api/integrations/outbox/{message.pk}/handled").status_code
        == 200
    )
    second = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    response = second.post(f"/api/integrations/outbox/{message.pk}/handled")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "outbox.already_handled"
    assert "koordinator" in response.json()["error"]["message"]
    assert OutboundMessage.objects.get(pk=message.pk).handled_by == first


@pytest.mark.parametrize(
    "status",
    [
        OutboundMessage.Status.PENDING,
        OutboundMessage.Status.AWAITING_ACK,
        OutboundMessage.Status.ACKNOWLEDGED,
    ],
)
def test_only_a_message_that_needs_a_person_is_marked_handled(status) -> None:
    message = _message(status, acknowledged_at=timezone.now())
    api = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    response = api.post(f"/api/integrations/outbox/{message.pk}/handled")
    assert response.status_code == 412
    assert response.json()["error"]["code"] == "outbox.not_failed"
    assert OutboundMessage.objects.get(pk=message.pk).handled_at is None
    assert api.post("/api/integrations/outbox/999999/handled").status_code == 404


@pytest.mark.parametrize(
    "role", [Role.ACUTE_NURSE, Role.PHYSICIAN, Role.HOME_NURSE, Role.AUDITOR, Role.ANALYST]
)
def test_other_roles_may_not_mark_a_message_handled(role) -> None:
    message = _message()
    member = f.staff(role, f.acute_function())
    assert (
        f.client_for(member).post(f"/api/integrations/outbox/{message.pk}/handled").status_code
        == 403
    )
    client = Client()
    f.log_in(client, member)
    assert client.post(f"/coordinator/outbox/{message.pk}/handled/").status_code == 403
    assert client.post(f"/coordinator/outbox/{message.pk}/resend/").status_code == 403
    stored = OutboundMessage.objects.get(pk=message.pk)
    assert stored.handled_at is None and stored.status == OutboundMessage.Status.FAILED


def test_a_resend_clears_the_mark_and_a_late_ok_settles_a_handled_message() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    api = f.client_for(coordinator)
    message = _message()
    assert api.post(f"/api/integrations/outbox/{message.pk}/handled").status_code == 200
    assert api.post(f"/api/integrations/outbox/{message.pk}/resend").status_code == 202
    resent = OutboundMessage.objects.get(pk=message.pk)
    assert resent.status == OutboundMessage.Status.PENDING and resent.handled_at is None
    assert AuditEntry.objects.filter(
        citizen_id=message.citizen_id, action=Action.UPDATE, reason_code="outbox.resent"
    ).exists()
    # Given up on for want of an acknowledgement, handled by phone, then the
    # partner's ok arrives after all: it is acknowledged, never a 500.
    gave_up = _message()
    OutboundMessage.objects.filter(pk=gave_up.pk).update(last_error_code="ack.missing")
    assert api.post(f"/api/integrations/outbox/{gave_up.pk}/handled").status_code == 200
    outbox_acknowledge(partner=gave_up.partner, answering=str(gave_up.message_id), code="ok")
    settled = OutboundMessage.objects.get(pk=gave_up.pk)
    assert settled.status == OutboundMessage.Status.ACKNOWLEDGED and settled.handled_at is None


def test_r11_the_coordinator_handles_and_resends_on_the_board_page_in_danish() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    handled, resent = _message(), _message()
    client = Client()
    f.log_in(client, coordinator)
    page = client.get("/coordinator/", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert f"/coordinator/outbox/{handled.pk}/handled/" in page
    assert f"/coordinator/outbox/{resent.pk}/resend/" in page
    text, _links = _read(page)
    assert "Håndteret" in text and "Send igen" in text
    response = client.post(f"/coordinator/outbox/{handled.pk}/handled/", HTTP_ACCEPT_LANGUAGE="da")
    assert response.status_code == 302
    assert client.post(f"/coordinator/outbox/{resent.pk}/resend/").status_code == 302
    page = client.get("/coordinator/", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert f"/coordinator/outbox/{handled.pk}/handled/" not in page
    assert "Meddelelsen er markeret som håndteret" in page
    assert OutboundMessage.objects.get(pk=handled.pk).handled_by == coordinator
    assert OutboundMessage.objects.get(pk=resent.pk).status == OutboundMessage.Status.PENDING
    for message, reason in ((handled, "outbox.handled"), (resent, "outbox.resent")):
        assert AuditEntry.objects.filter(
            citizen_id=message.citizen_id, action=Action.UPDATE, reason_code=reason
        ).exists()
