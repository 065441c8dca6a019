"""A phone order from a physician who is no user of the platform (a GP or the
1813 doctor without a login, R8): her confirmation and the prescription reach
the acute function by another route, and the coordinator records them —
who, when, how it was seen, a note — audited (R9). Without it the order
would await confirmation and escalate to the coordinators for ever."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from acute.clinical.fhir import medication_request_resource
from acute.clinical.models import MedicationOrder, PhysicianAlert
from acute.clinical.services import medication_orders_watch
from consent.audit.models import AuditEntry
from core.models import Organisation, Role
from tests import factories
from tests.acute.clinical.conftest import PHONE_ORDER, Scene

pytestmark = pytest.mark.django_db

# The 1813 doctor on the phone at night: no user of the platform.
UNKNOWN_PHYSICIAN = {
    "ordered_by_name": "Peter Vagtlæge",
    "ordered_by_role": "Læge, 1813",
    "ordered_by_organisation": "Akuttelefonen 1813",
    "ordered_by_authorisation_id": "9Z9Z9",
}


def _phone_order(scene: Scene, **changes: object) -> MedicationOrder:
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders",
        {**PHONE_ORDER, **changes},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return MedicationOrder.objects.get(pk=response.json()["id"])


def _received(membership, order: MedicationOrder, **body: object):
    return factories.client_for(membership).post(
        f"/api/clinical/orders/{order.pk}/received",
        {"seen_by": "fmk", "note": "Set i FMK kl. 07.10", **body},
        format="json",
    )


def _denied(order: MedicationOrder, code: str) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            outcome="denied",
            reason_code=code,
            citizen_id=order.citizen_id,
            resource_type="MedicationRequest",
        )
    )


def test_r8_coordinator_records_the_confirmation_and_the_escalation_stops(scene: Scene, settings):
    order = _phone_order(scene, **UNKNOWN_PHYSICIAN)
    assert order.ordering_physician is None
    overdue = timezone.now() + dt.timedelta(
        minutes=settings.CLINICAL_PHONE_ORDER_CONFIRM_WITHIN_MINUTES + 1
    )
    assert medication_orders_watch(now=overdue).escalated == 1
    escalation = PhysicianAlert.objects.get(kind=PhysicianAlert.Kind.CONFIRMATION_ESCALATION)

    response = _received(scene.coordinator, order, confirmation=True, seen_by="phone")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "confirmed"
    assert body["confirmation_seen_by"] == "phone"
    assert body["confirmation_note"] == "Set i FMK kl. 07.10"
    assert body["prescription_status"] == "pending"
    order.refresh_from_db()
    assert order.confirmed_by == scene.coordinator.user
    assert order.confirmed_at is not None
    escalation.refresh_from_db()
    assert escalation.acknowledged_by == scene.coordinator.user
    # R9: the step is on the citizen's audit log, by the coordinator.
    assert AuditEntry.objects.filter(
        outcome="permitted",
        action="update",
        resource_type="MedicationRequest",
        resource_id=str(order.pk),
        actor_user_id=scene.coordinator.user_id,
        citizen_id=scene.citizen.pk,
    ).exists()
    # Later runs of the watch raise nothing more about its confirmation.
    much_later = overdue + dt.timedelta(days=1)
    medication_orders_watch(now=much_later)
    assert not PhysicianAlert.objects.filter(
        kind__in=[
            PhysicianAlert.Kind.CONFIRMATION_ESCALATION,
            PhysicianAlert.Kind.CONFIRMATION_REMINDER,
        ],
        acknowledged_at__isnull=True,
    ).exists()


def test_r8_prescription_seen_in_fmk_ends_the_overdue_prescription(scene: Scene, settings):
    order = _phone_order(scene, **UNKNOWN_PHYSICIAN)
    rx_due = timezone.now() + dt.timedelta(
        minutes=settings.CLINICAL_PRESCRIPTION_DUE_WITHIN_MINUTES + 1
    )
    medication_orders_watch(now=rx_due)
    assert PhysicianAlert.objects.filter(kind=PhysicianAlert.Kind.PRESCRIPTION_OVERDUE).exists()

    # The prescription without the confirmation first: what is prescribed is
    # the order as the physician confirmed it (R8).
    refused = _received(scene.coordinator, order, prescription=True)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "prescription.order_unconfirmed"

    response = _received(scene.coordinator, order, confirmation=True, prescription=True)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["prescription_status"]) == ("confirmed", "sent")
    assert body["prescription_seen_by"] == "fmk"
    order.refresh_from_db()
    assert order.prescription_sent_by == scene.coordinator.user
    assert not PhysicianAlert.objects.filter(acknowledged_at__isnull=True).exists()
    # FHIR's MedicationRequest says so, and how it was seen.
    resource = medication_request_resource(order)
    confirmation, prescription = resource["extension"][1], resource["extension"][2]
    assert {"url": "status", "valueCode": "confirmed"} in confirmation["extension"]
    assert {"url": "seenBy", "valueCode": "fmk"} in confirmation["extension"]
    assert {"url": "status", "valueCode": "sent"} in prescription["extension"]
    assert {"url": "seenBy", "valueCode": "fmk"} in prescription["extension"]


def test_r8_a_physician_who_is_a_user_confirms_herself(scene: Scene):
    order = _phone_order(scene)  # Hanne Hansen, a user of the platform
    assert order.ordering_physician == scene.physician.user

    response = _received(scene.coordinator, order, confirmation=True)

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "order.physician_confirms_herself"
    assert "selv" in error["message"]  # Danish by default (decision 0020)
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION
    assert order.confirmation_seen_by == ""
    assert len(_denied(order, "order.physician_confirms_herself")) == 1  # R9


def test_r8_already_confirmed_and_withdrawn_orders_are_refused(scene: Scene):
    order = _phone_order(scene, **UNKNOWN_PHYSICIAN)
    assert _received(scene.coordinator, order, confirmation=True).status_code == 200

    again = _received(scene.coordinator, order, confirmation=True)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "order.not_awaiting_confirmation"
    assert len(_denied(order, "order.not_awaiting_confirmation")) == 1  # R9

    withdrawn = _phone_order(scene, **UNKNOWN_PHYSICIAN)
    MedicationOrder.objects.filter(pk=withdrawn.pk).update(
        status=MedicationOrder.Status.CANCELLED,
        cancelled_at=timezone.now(),
        cancel_reason="Forkert præparat",
    )
    refused = _received(scene.coordinator, withdrawn, confirmation=True)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "order.cancelled"
    assert len(_denied(withdrawn, "order.cancelled")) == 1


def test_r8_how_it_was_seen_and_what_was_received_are_required(scene: Scene):
    order = _phone_order(scene, **UNKNOWN_PHYSICIAN)

    nothing = _received(scene.coordinator, order)
    too_long = _received(scene.coordinator, order, confirmation=True, note="x" * 501)
    unknown_way = _received(scene.coordinator, order, confirmation=True, seen_by="rumour")

    assert nothing.status_code == 400
    assert nothing.json()["error"]["code"] == "order.received_nothing"
    assert too_long.status_code == 400
    assert too_long.json()["error"]["code"] == "order.received_note_too_long"
    assert unknown_way.status_code == 400
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION


@pytest.mark.parametrize("role", [Role.ACUTE_NURSE, Role.MEDICINE_OFFICER, Role.PHYSICIAN])
def test_r8_only_the_coordinator_records_it(scene: Scene, role: str):
    order = _phone_order(scene, **UNKNOWN_PHYSICIAN)
    member = (
        scene.nurse if role == Role.ACUTE_NURSE else factories.staff(role, scene.nurse.organisation)
    )

    response = _received(member, order, confirmation=True)

    assert response.status_code in (403, 404)
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION
    # R9: the refused attempt is on the citizen's log, by that member of staff.
    assert AuditEntry.objects.filter(
        outcome="denied", citizen_id=scene.citizen.pk, actor_user_id=member.user_id
    ).exists()


def test_r1_another_acute_function_s_coordinator_gets_not_found(scene: Scene):
    order = _phone_order(scene, **UNKNOWN_PHYSICIAN)
    elsewhere = factories.staff(
        Role.COORDINATOR, factories.organisation(Organisation.Kind.ACUTE_FUNCTION)
    )

    response = _received(elsewhere, order, confirmation=True)

    assert response.status_code == 404
    assert AuditEntry.objects.filter(
        outcome="denied",
        reason_code="not_acute_function_order",
        citizen_id=scene.citizen.pk,
        actor_user_id=elsewhere.user_id,
    ).exists()


def _login(membership) -> Client:
    client = Client()
    assert factories.log_in(client, membership).status_code == 302
    return client


def test_r8_the_board_offers_the_form_and_records_it(scene: Scene, settings):
    order = _phone_order(scene, **UNKNOWN_PHYSICIAN)
    overdue = timezone.now() + dt.timedelta(
        minutes=settings.CLINICAL_PHONE_ORDER_CONFIRM_WITHIN_MINUTES + 1
    )
    medication_orders_watch(now=overdue)
    client = _login(scene.coordinator)

    html = client.get("/coordinator/live/").content.decode()
    assert f'action="/coordinator/orders/{order.pk}/received/"' in html
    assert "Set i FMK (Fælles Medicinkort)" in html

    response = client.post(
        f"/coordinator/orders/{order.pk}/received/",
        {"confirmation": "on", "seen_by": "written", "note": "Mail fra lægen"},
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.CONFIRMED
    assert (order.confirmation_seen_by, order.confirmation_note) == ("written", "Mail fra lægen")
    assert order.confirmed_by == scene.coordinator.user
    html = client.get("/coordinator/live/").content.decode()
    assert f'action="/coordinator/orders/{order.pk}/received/"' not in html
