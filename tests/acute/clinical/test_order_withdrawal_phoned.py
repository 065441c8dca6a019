"""A phone order from a physician who is no user of the platform (a GP or the
1813 doctor without a login, R8) is withdrawn the way it was given: she
phones the acute function — "cancel that order" — and the coordinator
records it on her behalf, through the physician's own withdrawal: who
phoned, when, and a note, audited (R9). Without it the order stayed open to
doses and awaited her confirmation for ever."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from acute.clinical.fhir import medication_request_resource
from acute.clinical.models import MedicationOrder, PhysicianAlert
from acute.clinical.services import (
    WithdrawalPhoned,
    medication_order_cancel,
    medication_orders_watch,
)
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.errors import Forbidden
from core.models import Organisation, Role
from tests import factories
from tests.acute.clinical.conftest import Scene
from tests.acute.clinical.test_order_received_by_another_route import (
    UNKNOWN_PHYSICIAN,
    _denied,
    _phone_order,
)

pytestmark = pytest.mark.django_db


def _withdrawal(membership, order: MedicationOrder, **body: object):
    return factories.client_for(membership).post(
        f"/api/clinical/orders/{order.pk}/withdrawal-phoned",
        {"phoned_by": "Peter Vagtlæge", "reason": "Forkert patient, ringede kl. 03.10", **body},
        format="json",
    )


def test_r8_coordinator_records_the_phoned_withdrawal_and_the_escalation_stops(
    scene: Scene, settings
):
    order = _phone_order(scene, **UNKNOWN_PHYSICIAN)
    overdue = timezone.now() + dt.timedelta(
        minutes=settings.CLINICAL_PHONE_ORDER_CONFIRM_WITHIN_MINUTES + 1
    )
    assert medication_orders_watch(now=overdue).escalated == 1
    phoned_at = timezone.now().replace(microsecond=0)

    response = _withdrawal(scene.coordinator, order, phoned_at=phoned_at.isoformat())

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["cancel_phoned_by"] == "Peter Vagtlæge"
    assert body["cancel_reason"] == "Forkert patient, ringede kl. 03.10"
    assert dt.datetime.fromisoformat(body["cancel_phoned_at"]) == phoned_at
    order.refresh_from_db()
    assert order.cancelled_by == scene.coordinator.user
    assert order.cancel_phoned_at == phoned_at
    # No dose against it from now on (R8), and nothing left to chase.
    assert not order.is_administrable
    assert not PhysicianAlert.objects.filter(
        medication_order=order, acknowledged_at__isnull=True
    ).exists()
    medication_orders_watch(now=overdue + dt.timedelta(days=1))
    assert not PhysicianAlert.objects.filter(acknowledged_at__isnull=True).exists()
    # R9: the step is on the citizen's audit log, by the coordinator.
    # FHIR's MedicationRequest says who phoned, and when.
    resource = medication_request_resource(order)
    assert resource["status"] == "cancelled"
    assert resource["statusReason"]["text"] == "Forkert patient, ringede kl. 03.10"
    assert resource["note"][0]["authorString"] == "Peter Vagtlæge"
    assert dt.datetime.fromisoformat(resource["note"][0]["time"]) == phoned_at
    entry = AuditEntry.objects.get(
        outcome="permitted",
        action="update",
        resource_type="MedicationRequest",
        resource_id=str(order.pk),
        actor_user_id=scene.coordinator.user_id,
        citizen_id=scene.citizen.pk,
    )
    assert entry.detail.get("withdrawal_phoned") is True


def test_r8_a_physician_who_is_a_user_withdraws_herself(scene: Scene):
    order = _phone_order(scene)  # Hanne Hansen, a user of the platform
    assert order.ordering_physician == scene.physician.user

    response = _withdrawal(scene.coordinator, order)

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "order.physician_withdraws_herself"
    assert "selv" in error["message"]  # Danish by default (decision 0020)
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION
    assert order.cancel_phoned_by == ""
    assert len(_denied(order, "order.physician_withdraws_herself")) == 1  # R9


def test_r8_an_order_withdrawn_already_is_refused(scene: Scene):
    order = _phone_order(scene, **UNKNOWN_PHYSICIAN)
    assert _withdrawal(scene.coordinator, order).status_code == 200

    again = _withdrawal(scene.coordinator, order, phoned_by="Anden Læge")

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "order.cancelled"
    order.refresh_from_db()
    assert order.cancel_phoned_by == "Peter Vagtlæge"
    assert len(_denied(order, "order.cancelled")) == 1


def test_r8_who_phoned_when_and_why_are_required(scene: Scene):
    order = _phone_order(scene, **UNKNOWN_PHYSICIAN)

    nobody = _withdrawal(scene.coordinator, order, phoned_by="  ")
    no_reason = _withdrawal(scene.coordinator, order, reason="")
    too_long = _withdrawal(scene.coordinator, order, phoned_by="x" * 201)
    before = _withdrawal(
        scene.coordinator,
        order,
        phoned_at=(order.ordered_at - dt.timedelta(hours=1)).isoformat(),
    )
    ahead = _withdrawal(
        scene.coordinator, order, phoned_at=(timezone.now() + dt.timedelta(hours=1)).isoformat()
    )
    naive = _withdrawal(scene.coordinator, order, phoned_at="2026-01-01T03:10:00")

    codes = [
        (r.status_code, r.json()["error"]["code"])
        for r in (nobody, no_reason, too_long, before, ahead, naive)
    ]
    assert codes == [
        (400, "order.withdrawal_phoned_by_required"),
        (400, "order.cancel_reason_required"),
        (400, "order.withdrawal_phoned_by_too_long"),
        (400, "order.withdrawal_phoned_before_order"),
        (400, "time.in_future"),
        (400, "time.naive"),
    ]
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION
    assert len(_denied(order, "order.withdrawal_phoned_by_required")) == 1  # R9


@pytest.mark.parametrize("role", [Role.ACUTE_NURSE, Role.MEDICINE_OFFICER, Role.PHYSICIAN])
def test_r8_only_the_coordinator_records_it(scene: Scene, role: str):
    order = _phone_order(scene, **UNKNOWN_PHYSICIAN)
    member = (
        scene.nurse if role == Role.ACUTE_NURSE else factories.staff(role, scene.nurse.organisation)
    )

    response = _withdrawal(member, order)

    assert response.status_code in (403, 404)
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION
    # R9: the refused attempt is on the citizen's log, by that member of staff.
    assert AuditEntry.objects.filter(
        outcome="denied", citizen_id=scene.citizen.pk, actor_user_id=member.user_id
    ).exists()


def test_r8_the_service_refuses_every_role_but_the_coordinator(scene: Scene):
    order = _phone_order(scene, **UNKNOWN_PHYSICIAN)
    with pytest.raises(Forbidden) as refused:
        medication_order_cancel(
            actor=Actor.for_membership(scene.nurse),
            order=order,
            reason="Ringede",
            phoned=WithdrawalPhoned(by="Peter Vagtlæge"),
        )
    assert refused.value.code == "order.withdrawal_phoned_coordinator_only"
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION
    assert len(_denied(order, "order.withdrawal_phoned_coordinator_only")) == 1


def test_r1_another_acute_function_s_coordinator_gets_not_found(scene: Scene):
    order = _phone_order(scene, **UNKNOWN_PHYSICIAN)
    elsewhere = factories.staff(
        Role.COORDINATOR, factories.organisation(Organisation.Kind.ACUTE_FUNCTION)
    )

    response = _withdrawal(elsewhere, order)

    assert response.status_code == 404
    assert AuditEntry.objects.filter(
        outcome="denied",
        reason_code="not_acute_function_order",
        citizen_id=scene.citizen.pk,
        actor_user_id=elsewhere.user_id,
    ).exists()
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION


def test_r8_the_physician_cannot_pass_herself_off_as_phoning(scene: Scene):
    """Her own withdrawal takes only her reason: who phoned is the
    coordinator's to record (decision 0033: a field it does not declare)."""
    order = _phone_order(scene)
    response = factories.client_for(scene.physician).post(
        f"/api/clinical/orders/{order.pk}/cancel",
        {"reason": "Fejl", "phoned_by": "Nogen"},
        format="json",
    )
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION


def _login(membership) -> Client:
    client = Client()
    assert factories.log_in(client, membership).status_code == 302
    return client


def test_r8_the_board_offers_the_form_and_records_it_once(scene: Scene, settings):
    order = _phone_order(scene, **UNKNOWN_PHYSICIAN)
    overdue = timezone.now() + dt.timedelta(
        minutes=settings.CLINICAL_PHONE_ORDER_CONFIRM_WITHIN_MINUTES + 1
    )
    medication_orders_watch(now=overdue)
    client = _login(scene.coordinator)

    html = client.get("/coordinator/live/").content.decode()
    action = f'action="/coordinator/orders/{order.pk}/withdrawal-phoned/"'
    assert action in html
    form = html[html.index(action) : html.index("</form>", html.index(action))]
    ref = form.split('name="form_ref" value="')[1].split('"')[0]
    assert "Peter Vagtlæge" in form  # who phoned, as the order names her

    sent = {
        "form_ref": ref,
        "phoned_by": "Peter Vagtlæge",
        "phoned_at": "",
        "reason": "Planen er ændret",
    }
    response = client.post(f"/coordinator/orders/{order.pk}/withdrawal-phoned/", sent)
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.CANCELLED
    assert order.cancel_phoned_by == "Peter Vagtlæge"
    assert order.cancel_phoned_at is not None
    assert order.cancel_reason == "Planen er ændret"
    # Its alerts are closed: the board no longer offers the order's forms.
    assert action not in client.get("/coordinator/live/").content.decode()

    # Sent twice (a double click): recorded once, and not refused as withdrawn.
    again = client.post(f"/coordinator/orders/{order.pk}/withdrawal-phoned/", sent)
    assert again.status_code == 302
    assert not _denied(order, "order.cancelled")


def test_r8_the_board_refuses_a_physician_who_is_a_user_with_the_reason(scene: Scene):
    order = _phone_order(scene)
    client = _login(scene.coordinator)

    response = client.post(
        f"/coordinator/orders/{order.pk}/withdrawal-phoned/",
        {"phoned_by": "Hanne Hansen", "reason": "Ringede"},
        follow=True,
    )

    assert "selv" in response.content.decode()
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION
    assert len(_denied(order, "order.physician_withdraws_herself")) == 1


@pytest.mark.parametrize("role", [Role.ACUTE_NURSE, Role.PHYSICIAN])
def test_r8_the_board_form_is_the_coordinator_s(scene: Scene, role: str):
    order = _phone_order(scene, **UNKNOWN_PHYSICIAN)
    member = scene.nurse if role == Role.ACUTE_NURSE else scene.physician

    response = _login(member).post(
        f"/coordinator/orders/{order.pk}/withdrawal-phoned/",
        {"phoned_by": "Peter Vagtlæge", "reason": "Ringede"},
    )

    assert response.status_code in (403, 404)
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION
    assert AuditEntry.objects.filter(
        outcome="denied", citizen_id=scene.citizen.pk, actor_user_id=member.user_id
    ).exists()


@pytest.mark.parametrize(
    ("typed", "told"),
    [
        # The last Sunday of March 2027: the clocks skip from 02:00 to 03:00.
        ("2027-03-28T02:30", "Tidspunktet findes ikke i dansk tid"),
        # The last Sunday of October 2026: 02:30 comes twice.
        ("2026-10-25T02:30", "Tidspunktet findes to gange i dansk tid"),
    ],
)
def test_r8_the_boards_phoned_time_the_clocks_skip_or_repeat_is_refused_in_danish(
    scene: Scene, settings, typed: str, told: str
):
    """The board's field is the browser's date and time, Copenhagen's wall
    clock without an offset: a time the clocks skip or show twice is told
    in Danish and nothing is recorded, never a 500 nor a time an hour off."""
    order = _phone_order(scene, **UNKNOWN_PHYSICIAN)
    medication_orders_watch(
        now=timezone.now()
        + dt.timedelta(minutes=settings.CLINICAL_PHONE_ORDER_CONFIRM_WITHIN_MINUTES + 1)
    )
    client = _login(scene.coordinator)
    html = client.get("/coordinator/live/").content.decode()
    action = f'action="/coordinator/orders/{order.pk}/withdrawal-phoned/"'
    form = html[html.index(action) : html.index("</form>", html.index(action))]
    ref = form.split('name="form_ref" value="')[1].split('"')[0]
    response = client.post(
        f"/coordinator/orders/{order.pk}/withdrawal-phoned/",
        {"form_ref": ref, "phoned_by": "Peter Vagtlæge", "phoned_at": typed, "reason": "Stop"},
        follow=True,
    )
    assert response.status_code in (200, 400), response.status_code
    assert told in response.content.decode()
    order.refresh_from_db()
    assert order.cancel_phoned_at is None
    assert order.status != MedicationOrder.Status.CANCELLED
