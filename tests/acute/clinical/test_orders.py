"""Physician medication orders (R8): phone orders with read-back, §4 medicines
only in writing, electronic confirmation, prescription tracking, the watch job."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from acute.clinical.models import MedicationOrder, PhysicianAlert
from acute.clinical.services import medication_orders_watch
from consent.audit.models import AuditEntry
from core.models import Role
from tests import factories
from tests.acute.clinical.conftest import PHONE_ORDER, Scene, physician_of

pytestmark = pytest.mark.django_db


def post_phone_order(scene: Scene, membership=None, **changes: object):
    client = factories.client_for(membership or scene.nurse)
    return client.post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders",
        {**PHONE_ORDER, **changes},
        format="json",
    )


def test_phone_order_read_back_confirmed_later_and_prescription_tracked_to_sent(scene: Scene):
    """R8 done-when: recorded with read-back, confirmed by the physician, prescription sent."""
    response = post_phone_order(scene)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "awaiting_confirmation"
    assert body["prescription_status"] == "pending"
    assert body["ordered_by"]["user"] == scene.physician.user.pk
    order = MedicationOrder.objects.get()
    assert order.recorded_by == scene.nurse.user
    assert order.ordering_organisation == scene.gp
    assert order.is_administrable

    physician = factories.client_for(scene.physician)
    mine = physician.get("/api/clinical/orders/mine").json()["orders"]
    assert [o["id"] for o in mine] == [order.pk]

    response = physician.post(f"/api/clinical/orders/{order.pk}/confirm")
    assert response.status_code == 200
    assert response.json()["status"] == "confirmed"
    response = physician.post(f"/api/clinical/orders/{order.pk}/confirm")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order.not_awaiting_confirmation"

    response = physician.post(f"/api/clinical/orders/{order.pk}/prescription-sent")
    assert response.status_code == 200
    assert response.json()["prescription_status"] == "sent"
    order.refresh_from_db()
    assert order.prescription_sent_by == scene.physician.user
    updates = AuditEntry.objects.filter(
        resource_type="MedicationRequest", action="update", resource_id=str(order.pk)
    )
    assert updates.filter(outcome="permitted").count() == 2
    # The second confirmation was refused: a denied attempt (R9).
    assert list(updates.filter(outcome="denied").values_list("reason_code", flat=True)) == [
        "order.not_awaiting_confirmation"
    ]


def test_order_without_read_back_is_refused_and_audited(scene: Scene):
    """R8: without read-back and the physician's confirmation on the phone, no order."""
    response = post_phone_order(scene, read_back_confirmed=False)
    assert response.status_code == 412
    error = response.json()["error"]
    assert error["code"] == "order.read_back_required"
    assert error["rule"] == "R8"
    response = post_phone_order(scene, read_back=None, read_back_confirmed=None)
    assert response.status_code in (400, 412)
    payload = dict(PHONE_ORDER)
    del payload["read_back"], payload["read_back_confirmed"]
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders", payload, format="json"
    )
    assert response.status_code == 412
    assert not MedicationOrder.objects.exists()
    denied = AuditEntry.objects.filter(outcome="denied", resource_type="MedicationRequest")
    assert denied.count() == 2
    assert {d.reason_code for d in denied} == {"order.read_back_required"}


@pytest.mark.parametrize("atc", ["N02AA01", "N05CD08"])
def test_dependence_forming_medicine_by_phone_is_refused_and_audited(scene: Scene, atc: str):
    """R8/§4: morphine and midazolam only by a written electronic order."""
    response = post_phone_order(scene, medicine_atc=atc, medicine_name="§4")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "order.dependence_forming_by_phone"
    assert not MedicationOrder.objects.exists()
    denied = AuditEntry.objects.get(outcome="denied", resource_type="MedicationRequest")
    assert denied.reason_code == "order.dependence_forming_by_phone"


def test_dependence_forming_list_is_configurable(scene: Scene, settings):
    settings.CLINICAL_DEPENDENCE_FORMING_ATC = ["N02A"]  # every opioid, by prefix
    response = post_phone_order(scene, medicine_atc="N02AX02", medicine_name="Tramadol")
    assert response.status_code == 403
    response = post_phone_order(scene, medicine_atc="N05CD08", medicine_name="Midazolam")
    assert response.status_code == 201


def test_physician_enters_a_written_order_for_morphine(scene: Scene):
    # The physician reaches the citizen through a recorded care relationship.
    from consent.models import CareRelationship
    from consent.services import care_relationship_open

    care_relationship_open(
        citizen=scene.citizen,
        organisation=scene.gp,
        basis=CareRelationship.Basis.RECORDED,
        source_type="test",
        source_id="1",
    )
    payload = {k: PHONE_ORDER[k] for k in ("dose_unit", "route", "frequency", "duration")}
    payload |= {
        "medicine_atc": "N02AA01",
        "medicine_name": "Morfin 10 mg/ml injektionsvæske",
        "dose": "2.5",
        "indication": "Smerter",
    }
    response = factories.client_for(scene.physician).post(
        f"/api/clinical/visits/{scene.visit.pk}/written-orders", payload, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "written"
    assert body["status"] == "confirmed"
    assert body["dependence_forming"] is True
    assert body["ordered_by"]["authorisation_id"] == "0A1B2"

    # A nurse cannot enter a written order.
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/written-orders", payload, format="json"
    )
    assert response.status_code == 403


def test_written_order_needs_the_gate(scene: Scene):
    stranger = physician_of(factories.gp_practice(), first="A", last="B", authorisation_id="9Z")
    payload = {k: v for k, v in PHONE_ORDER.items() if not k.startswith(("ordered", "read"))}
    response = factories.client_for(stranger).post(
        f"/api/clinical/visits/{scene.visit.pk}/written-orders", payload, format="json"
    )
    assert response.status_code == 404
    assert AuditEntry.objects.filter(outcome="denied", actor_user_id=stranger.user.pk).exists()


def test_another_physician_cannot_confirm_and_is_audited(scene: Scene):
    post_phone_order(scene)
    order = MedicationOrder.objects.get()
    other = physician_of(scene.gp, first="Other", last="Doctor", authorisation_id="7Q")
    client = factories.client_for(other)
    assert client.post(f"/api/clinical/orders/{order.pk}/confirm").status_code == 404
    assert client.post(f"/api/clinical/orders/{order.pk}/prescription-sent").status_code == 404
    assert client.get("/api/clinical/orders/mine").json()["orders"] == []
    denied = AuditEntry.objects.filter(outcome="denied", actor_user_id=other.user.pk)
    assert {d.reason_code for d in denied} == {"not_ordering_physician"}
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("post", "orders/{order}/confirm", {Role.PHYSICIAN}),
        ("post", "orders/{order}/prescription-sent", {Role.PHYSICIAN}),
        ("post", "orders/{order}/cancel", {Role.PHYSICIAN}),
        ("get", "orders/mine", {Role.PHYSICIAN}),
        ("get", "orders/overdue", {Role.PHYSICIAN, Role.COORDINATOR}),
        ("get", "alerts", {Role.PHYSICIAN}),
        ("get", "board/alerts", {Role.COORDINATOR}),
        ("post", "visits/{visit}/phone-orders", {Role.ACUTE_NURSE}),
    ],
)
def test_roles_refused_on_order_endpoints(scene: Scene, method: str, path: str, allowed: set[str]):
    post_phone_order(scene)
    order = MedicationOrder.objects.get()
    url = "/api/clinical/" + path.format(order=order.pk, visit=scene.visit.pk)
    for role in set(Role.values) - allowed:
        client = factories.client_for(factories.staff(role, factories.acute_function()))
        response = getattr(client, method)(url, {}, format="json")
        assert response.status_code == 403, (role, url)


def test_watch_reminds_then_escalates_then_flags_the_prescription(scene: Scene, settings):
    """R8: confirmation reminded, escalated to the coordinators, prescriptions overdue."""
    post_phone_order(scene)
    order = MedicationOrder.objects.get()
    now = timezone.now()

    assert medication_orders_watch(now=now).reminded == 0
    later = now + dt.timedelta(minutes=settings.CLINICAL_PHONE_ORDER_REMIND_AFTER_MINUTES + 1)
    figures = medication_orders_watch(now=later)
    assert (figures.reminded, figures.escalated) == (1, 0)
    reminder = PhysicianAlert.objects.get(kind=PhysicianAlert.Kind.CONFIRMATION_REMINDER)
    assert reminder.recipient == scene.physician.user
    physician = factories.client_for(scene.physician)
    assert [a["id"] for a in physician.get("/api/clinical/alerts").json()["alerts"]] == [
        reminder.pk
    ]

    overdue = now + dt.timedelta(minutes=settings.CLINICAL_PHONE_ORDER_CONFIRM_WITHIN_MINUTES + 1)
    figures = medication_orders_watch(now=overdue)
    assert (figures.reminded, figures.escalated) == (0, 1)
    escalation = PhysicianAlert.objects.get(kind=PhysicianAlert.Kind.CONFIRMATION_ESCALATION)
    assert escalation.recipient is None
    assert escalation.recipient_organisation == scene.nurse.organisation
    board = factories.client_for(scene.coordinator).get("/api/clinical/board/alerts").json()
    assert escalation.pk in [a["id"] for a in board["alerts"]]

    rx_due = now + dt.timedelta(minutes=settings.CLINICAL_PRESCRIPTION_DUE_WITHIN_MINUTES + 1)
    assert medication_orders_watch(now=rx_due).prescriptions_overdue == 1
    # Running again changes nothing: one alert per order and kind.
    assert medication_orders_watch(now=rx_due) == type(figures)(0, 0, 0)
    assert PhysicianAlert.objects.count() == 3
    background = AuditEntry.objects.filter(task="clinical.medication_orders_watch")
    assert background.count() == 3

    # Confirming and sending close the alerts.
    physician.post(f"/api/clinical/orders/{order.pk}/confirm")
    physician.post(f"/api/clinical/orders/{order.pk}/prescription-sent")
    assert not PhysicianAlert.objects.filter(acknowledged_at__isnull=True).exists()


def test_overdue_orders_listed_for_the_physician_and_the_coordinator(
    scene: Scene, django_assert_max_num_queries
):
    for _ in range(3):
        post_phone_order(scene)
    MedicationOrder.objects.update(prescription_due_by=timezone.now() - dt.timedelta(minutes=1))
    physician = factories.client_for(scene.physician)
    with django_assert_max_num_queries(8):
        response = physician.get("/api/clinical/orders/overdue")
    assert len(response.json()["orders"]) == 3
    coordinator = factories.client_for(scene.coordinator)
    with django_assert_max_num_queries(8):
        response = coordinator.get("/api/clinical/orders/overdue")
    assert len(response.json()["orders"]) == 3
    with django_assert_max_num_queries(8):
        response = physician.get("/api/clinical/orders/mine")
    assert len(response.json()["orders"]) == 3
    MedicationOrder.objects.update(prescription_status="sent", prescription_sent_at=timezone.now())
    assert coordinator.get("/api/clinical/orders/overdue").json()["orders"] == []


def test_physician_unknown_to_the_platform_still_gets_a_phone_order(scene: Scene):
    response = post_phone_order(scene, ordered_by_authorisation_id="UNKNOWN1")
    assert response.status_code == 201
    order = MedicationOrder.objects.get()
    assert order.ordering_physician is None
    later = timezone.now() + dt.timedelta(days=2)
    medication_orders_watch(now=later)
    # Nobody to remind by name: the acute function's coordinators see it.
    reminder = PhysicianAlert.objects.get(kind=PhysicianAlert.Kind.CONFIRMATION_REMINDER)
    assert reminder.recipient_organisation == scene.nurse.organisation


def test_bad_order_input_is_a_precise_400(scene: Scene):
    response = post_phone_order(scene, medicine_atc="J01")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "request.invalid"
    response = post_phone_order(scene, dose="-2")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "order.dose_invalid"
    # A code of another shape is named on its own field, not as the whole order.
    response = post_phone_order(scene, medicine_atc="j01ca0x")
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"], error["rule"]) == (
        "order.atc_invalid",
        "medicine_atc",
        "R8",
    )
    assert "ATC-kode" in error["message"]
    future = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    response = post_phone_order(scene, ordered_at=future)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "offline.time_in_future"
    assert not MedicationOrder.objects.exists()


def test_r8_an_order_states_what_it_allows_in_numbers_that_agree_with_its_words(scene: Scene):
    """R8: what an order allows is computable — from its words (3 times daily
    for 3 days) or from numbers given with them — and numbers that contradict
    the words, or a total beyond the schedule, are refused."""
    now = timezone.now().isoformat()
    body = post_phone_order(scene, ordered_at=now).json()
    assert (body["doses_per_day"], body["duration_days"], body["total_quantity"]) == (3, 3, "3600")
    assert body["allowance"] | {"ends_at": None} == {
        "unit": "mg",
        "total": "3600",
        "given": "0",
        "remaining": "1200",  # the first 24 hours: three doses
        "per_day": "1200",
        "remaining_today": "1200",
        "ends_at": None,
        "ended": False,
    }
    fhir = factories.client_for(scene.nurse).get(f"/fhir/MedicationRequest/{body['id']}").json()
    timing = fhir["dosageInstruction"][0]["timing"]
    assert timing["repeat"]["frequency"] == 3 and timing["repeat"]["periodUnit"] == "d"
    assert timing["repeat"]["boundsDuration"]["value"] == 3
    total = next(e for e in fhir["extension"] if e["url"].endswith("order-total-quantity"))
    assert total["valueQuantity"] == {
        "value": 3600,
        "unit": "mg",
        "system": "http://unitsofmeasure.org",
        "code": "mg",
    }

    for changes, code in (
        ({"frequency": "once", "duration": "single dose", "doses_per_day": 3}, "schedule_conflict"),
        ({"doses_per_day": 2}, "schedule_conflict"),
        ({"duration_days": 5}, "schedule_conflict"),
        ({"total_quantity": "5000"}, "total_beyond_schedule"),
        ({"total_quantity": "100"}, "total_below_dose"),
        ({"doses_per_day": 0}, "schedule_invalid"),
        ({"duration_days": 400}, "schedule_invalid"),
    ):
        refused = post_phone_order(scene, ordered_at=now, **changes)
        assert refused.status_code == 400, (changes, refused.json())
        assert refused.json()["error"]["code"] == f"order.{code}", changes
    assert MedicationOrder.objects.count() == 1

    as_needed = {"frequency": "efter behov", "duration": "indtil videre", "ordered_at": now}
    unread = post_phone_order(scene, **as_needed).json()
    assert unread["total_quantity"] == "400" and unread["doses_per_day"] is None
    stated = post_phone_order(scene, **as_needed, total_quantity="1200").json()
    assert stated["total_quantity"] == "1200" and stated["allowance"]["remaining"] == "1200"
    numbers = post_phone_order(scene, **as_needed, doses_per_day=2, duration_days=2).json()
    assert (numbers["total_quantity"], numbers["allowance"]["per_day"]) == ("1600", "800")


def test_ordering_physician_cancels_her_order_and_it_is_no_longer_chased(scene: Scene):
    post_phone_order(scene)
    order = MedicationOrder.objects.get()
    physician = factories.client_for(scene.physician)
    url = f"/api/clinical/orders/{order.pk}/cancel"
    response = physician.post(url, {"reason": ""}, format="json")
    assert response.status_code == 400
    response = physician.post(url, {"reason": "Wrong strength heard"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    order.refresh_from_db()
    assert not order.is_administrable
    figures = medication_orders_watch(now=timezone.now() + dt.timedelta(days=3))
    assert figures == type(figures)(0, 0, 0)
    assert physician.post(f"/api/clinical/orders/{order.pk}/confirm").status_code == 409
    assert physician.post(url, {"reason": "again"}, format="json").status_code == 409


def test_alerts_are_acknowledged_by_their_recipients_only(scene: Scene):
    factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": "NPU03230", "value": "7.2", "unit": "mmol/L"}]},
        format="json",
    )
    alert = PhysicianAlert.objects.get()
    url = f"/api/clinical/alerts/{alert.pk}/acknowledge"
    other = physician_of(factories.gp_practice(), first="O", last="P", authorisation_id="5X")
    assert factories.client_for(other).post(url).status_code == 404
    assert AuditEntry.objects.get(actor_user_id=other.user.pk).reason_code == (
        "not_alert_recipient"
    )
    assert factories.client_for(scene.nurse).post(url).status_code == 403
    response = factories.client_for(scene.physician).post(url)
    assert response.status_code == 200
    assert response.json()["acknowledged_at"] is not None
    board = factories.client_for(scene.coordinator).get("/api/clinical/board/alerts").json()
    assert board["alerts"] == []
    # The coordinators of the acute function may acknowledge it too (idempotent).
    assert factories.client_for(scene.coordinator).post(url).status_code == 200


# --- When an order can have been given ---------------------------------------


def test_r8_a_phone_order_given_before_the_visit_is_refused(scene: Scene):
    """R8: a phone order's days and its 24-hour limit run from when it was
    given, and the nurse received it on this visit: a time before she was
    sent (a day, a year: a slip of the keys) is refused, naming the field,
    and nothing is written. A time she leaves out is when she records it."""
    for back in (dt.timedelta(days=1), dt.timedelta(days=365), dt.timedelta(minutes=30)):
        when = scene.visit.assigned_at - back
        refused = post_phone_order(scene, ordered_at=when.isoformat())
        assert refused.status_code == 400, refused.json()
        error = refused.json()["error"]
        assert (error["code"], error["field"]) == ("time.before_visit", "ordered_at")
    assert not MedicationOrder.objects.exists()

    given = post_phone_order(scene, ordered_at=scene.visit.assigned_at.isoformat())
    assert given.status_code == 201, given.json()
    unstated = post_phone_order(scene)
    assert unstated.status_code == 201
    order = MedicationOrder.objects.get(pk=unstated.json()["id"])
    assert order.ordered_at >= scene.visit.assigned_at


def test_r8_no_order_after_the_citizens_death_but_one_given_before_is_written_down(
    scene: Scene,
):
    """A phone order stated after the citizen's registered death cannot be
    true and is refused, audited as a denied attempt (R9); one the physician
    gave before she died is still written down. No written order is entered
    for a citizen registered dead."""
    from acute.models import Visit
    from core.models import Citizen

    now = timezone.now()
    Visit.objects.filter(pk=scene.visit.pk).update(assigned_at=now - dt.timedelta(hours=1))
    Citizen.objects.filter(pk=scene.citizen.pk).update(deceased_at=now - dt.timedelta(minutes=10))

    refused = post_phone_order(scene, ordered_at=now.isoformat())
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("time.after_death", "ordered_at")
    denied = AuditEntry.objects.get(outcome="denied", resource_type="MedicationRequest")
    assert (denied.citizen_id, denied.reason_code) == (scene.citizen.pk, "time.after_death")
    assert not MedicationOrder.objects.exists()

    before = post_phone_order(scene, ordered_at=(now - dt.timedelta(minutes=30)).isoformat())
    assert before.status_code == 201, before.json()

    from consent.models import CareRelationship
    from consent.services import care_relationship_open

    care_relationship_open(
        citizen=scene.citizen,
        organisation=scene.gp,
        basis=CareRelationship.Basis.RECORDED,
        source_type="test",
        source_id="1",
    )
    payload = {k: v for k, v in PHONE_ORDER.items() if not k.startswith(("ordered", "read"))}
    written = factories.client_for(scene.physician).post(
        f"/api/clinical/visits/{scene.visit.pk}/written-orders", payload, format="json"
    )
    assert written.status_code == 412, written.json()
    assert written.json()["error"]["code"] == "order.citizen_deceased"
    assert AuditEntry.objects.filter(
        outcome="denied",
        resource_type="MedicationRequest",
        reason_code="order.citizen_deceased",
        actor_user_id=scene.physician.user_id,
    ).exists()
    assert MedicationOrder.objects.count() == 1
