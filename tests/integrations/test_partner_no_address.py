"""A partner configured without an address its transport can reach (a GP
practice's inbox entered without an endpoint): the episode's outcome to that
referrer is not tried for hours against nothing, it waits on the
coordinator's board at once, in Danish, so she phones the practice (R11).
Nothing was disclosed (R9)."""

from __future__ import annotations

import pytest

from acute.models import Outcome
from consent.audit.models import AuditEntry
from consent.audit.services import Action
from integrations.messages import Event
from integrations.models import PARTNER_NO_ADDRESS, OutboundMessage, Partner
from integrations.outbox import outbox_deliver
from tests import factories as f
from tests.acute.clinical.conftest import visit_scene

pytestmark = pytest.mark.django_db


def test_r11_the_outcome_to_a_practice_without_an_address_waits_on_the_board() -> None:
    scene = visit_scene()
    f.integration_partner(Partner.Kind.GP, scene.gp)  # no endpoint configured
    ended = f.client_for(scene.nurse).post(
        f"/api/acute/visits/{scene.visit.pk}/complete",
        {"outcome": Outcome.TREATED_AT_HOME, "note": "Ringer igen i morgen ved behov."},
        format="json",
    )
    assert ended.status_code == 200, ended.content
    # The referring practice is also her GP: told once.
    [message] = OutboundMessage.objects.filter(event=Event.CARE_COMMUNICATION)

    outbox_deliver(message_pks=[message.pk])

    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.FAILED
    assert message.last_error_code == PARTNER_NO_ADDRESS
    assert message.attempts == 0
    assert not message.deliveries.exists()
    assert not AuditEntry.objects.filter(
        citizen_id=scene.citizen.pk, action=Action.DISCLOSE, outcome="permitted"
    ).exists()
    board = f.client_for(scene.coordinator).get("/api/integrations/outbox?status=failed")
    assert board.status_code == 200, board.content
    rows = board.json()
    rows = rows.get("results", rows) if isinstance(rows, dict) else rows
    [row] = [r for r in rows if r["id"] == message.pk]
    assert row["reason_text"] == "Modtageren har ingen adresse at sende til"
