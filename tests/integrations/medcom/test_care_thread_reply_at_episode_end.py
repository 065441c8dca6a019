"""A nurse's reply in a CareCommunication thread while the coordinator ends
the citizen's episode (PostgreSQL, real concurrent transactions). The reply
was checked against her care relationship (R1) before the end committed and
written after it: a disclosure to the partner, sent a few milliseconds after
her relationship ended. The reply now locks the citizen's row before it asks
the gate (``core.locks``, decision 0038), as ending the episode does: it
waits for the end and is refused, audited as a denied attempt (R9), nothing
sent."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from acute import services
from acute.models import Episode
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.locks import citizen_lock
from core.models import Role
from integrations.models import CareMessage, CareThread, OutboundMessage
from tests import factories as f
from tests.integrations.medcom.peers import example, post_signed

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

FIRST = "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"  # MedCom's example: a new message
HELD = 1.0  # seconds the episode's end holds her row before it ends the episode


def test_r1_r9_a_reply_as_the_episode_ends_waits_for_it_and_is_refused(hospital, citizen):
    coordinator = Actor.for_membership(f.staff(Role.COORDINATOR, f.acute_function()))
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(person=citizen, by=coordinator.membership)
    visit = services.visit_assign(referral=referral, shift=shift, actor=coordinator)
    post_signed(hospital, example("carecommunication", FIRST))
    thread = CareThread.objects.get(citizen=citizen)
    client = f.client_for(nurse)
    # She may reply while the episode is open.
    assert client.get(f"/api/integrations/care-threads/{thread.pk}").status_code == 200

    holding = threading.Event()
    ended: list[object] = []

    def end_episode() -> None:
        try:
            with transaction.atomic():
                citizen_lock(citizen.pk)
                holding.set()
                time.sleep(HELD)
                ended.append(
                    services.episode_complete(
                        episode=Episode.objects.get(pk=visit.episode_id),
                        outcome="treated_at_home",
                        actor=coordinator,
                    )
                )
        except Exception as exc:  # noqa: BLE001 - shown by the assertion below
            ended.append(exc)
        finally:
            connection.close()

    ender = threading.Thread(target=end_episode)
    ender.start()
    assert holding.wait(timeout=10)
    started = time.monotonic()
    response = client.post(
        f"/api/integrations/care-threads/{thread.pk}/reply",
        {"text": "Vi kommer i aften."},
        format="json",
    )
    waited = time.monotonic() - started
    ender.join(timeout=30)

    assert isinstance(ended[0], Episode), ended
    assert response.status_code == 404, response.content
    assert waited >= HELD / 2  # it waited for the end, then was refused
    assert not CareMessage.objects.filter(direction=CareMessage.Direction.OUT).exists()
    assert not OutboundMessage.objects.filter(event="care-communication-reply").exists()
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk,
        actor_user_id=nurse.user_id,
        action="create",
        outcome="denied",
        resource_id=f"care-thread-{thread.pk}",
    ).exists()


def test_r1_a_reply_before_the_episode_ends_is_sent(hospital, citizen):
    coordinator = Actor.for_membership(f.staff(Role.COORDINATOR, f.acute_function()))
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(person=citizen, by=coordinator.membership)
    services.visit_assign(referral=referral, shift=shift, actor=coordinator)
    post_signed(hospital, example("carecommunication", FIRST))
    thread = CareThread.objects.get(citizen=citizen)

    response = f.client_for(nurse).post(
        f"/api/integrations/care-threads/{thread.pk}/reply",
        {"text": "Vi kommer i aften."},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert OutboundMessage.objects.filter(event="care-communication-reply").count() == 1
