"""The physician's order from the phone to the prescription (R8), on every
door: the prescription only for an order she confirmed, a rejection only of
an order still awaiting her, her order reached only as its orderer for the
organisation she gave it for and never past the citizen's refusal of her
(R4), and no write landing on a visit completed at the same moment."""

from __future__ import annotations

import pytest
from django.test import Client

from acute.clinical.models import LabResult, MedicationOrder, PhysicianAlert, ProcedureRecord
from acute.clinical.services import (
    OrderDetails,
    lab_results_record,
    phone_order_record,
    procedure_record,
)
from acute.clinical.services.results import ResultInput
from acute.models import Visit
from acute.services import visit_complete
from consent.audit.models import AuditEntry
from consent.models import ConsentDirective
from consent.services.break_glass import break_glass_open
from core.actors import Actor
from core.errors import PlatformError
from core.models import Membership, Role
from tests import factories
from tests.acute.clinical.conftest import PHONE_ORDER, Scene, physician_of

pytestmark = pytest.mark.django_db


def _phone_order(scene: Scene) -> MedicationOrder:
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders", PHONE_ORDER, format="json"
    )
    assert response.status_code == 201, response.json()
    return MedicationOrder.objects.get(pk=response.json()["id"])


def _page(membership) -> Client:
    client = Client()
    assert factories.log_in(client, membership).status_code == 302
    return client


def _denied(user_id: int) -> AuditEntry:
    return AuditEntry.objects.filter(outcome="denied", actor_user_id=user_id).latest("pk")


def test_r8_no_prescription_is_marked_sent_for_a_phone_order_not_yet_confirmed(scene: Scene):
    order = _phone_order(scene)
    api = factories.client_for(scene.physician)

    refused = api.post(f"/api/clinical/orders/{order.pk}/prescription-sent")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "prescription.order_unconfirmed"
    entry = _denied(scene.physician.user_id)
    assert (entry.reason_code, entry.action, entry.resource_id, entry.citizen_id) == (
        "prescription.order_unconfirmed",
        "update",
        str(order.pk),
        scene.citizen.pk,
    )
    page = _page(scene.physician).post(f"/physician/orders/{order.pk}/prescription-sent/")
    assert page.status_code == 409
    html = page.content.decode()
    assert 'data-code="prescription.order_unconfirmed"' in html
    assert "Bekræft telefonordinationen, før du markerer recepten som sendt." in html
    order.refresh_from_db()
    assert order.prescription_status == MedicationOrder.PrescriptionStatus.PENDING

    # Confirmed, it is prescribed.
    assert api.post(f"/api/clinical/orders/{order.pk}/confirm").status_code == 200
    sent = api.post(f"/api/clinical/orders/{order.pk}/prescription-sent")
    assert sent.status_code == 200 and sent.json()["prescription_status"] == "sent"


def test_r8_a_confirmed_order_is_stopped_not_rejected(scene: Scene):
    order = _phone_order(scene)
    client = _page(scene.physician)
    assert factories.client_for(scene.physician).post(
        f"/api/clinical/orders/{order.pk}/confirm"
    ).status_code == (200)

    refused = client.post(f"/physician/orders/{order.pk}/reject/", {"reason": "Forkert dosis"})
    assert refused.status_code == 409
    assert 'data-code="order.not_awaiting_confirmation"' in refused.content.decode()
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.CONFIRMED
    entry = _denied(scene.physician.user_id)
    assert (entry.reason_code, entry.action, entry.citizen_id) == (
        "order.not_awaiting_confirmation",
        "update",
        scene.citizen.pk,
    )

    stopped = client.post(f"/physician/orders/{order.pk}/stop/", {"reason": "Udslæt"})
    assert stopped.status_code == 302
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.CANCELLED
    assert order.cancel_reason == "Udslæt"


def test_r8_a_phone_order_awaiting_confirmation_is_rejected(scene: Scene):
    order = _phone_order(scene)
    response = _page(scene.physician).post(
        f"/physician/orders/{order.pk}/reject/", {"reason": "Forkert præparat"}
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.CANCELLED
    assert not order.is_administrable


def test_r3_her_order_is_not_reached_acting_for_another_organisation(scene: Scene):
    order = _phone_order(scene)
    # The same physician, also on the hospital's staff, acting for it.
    hospital = factories.hospital_department()
    elsewhere = Membership.objects.create(
        user=scene.physician.user, organisation=hospital, role=Role.PHYSICIAN, is_default=False
    )
    api = factories.client_for(elsewhere)
    assert api.post(f"/api/clinical/orders/{order.pk}/confirm").status_code == 404
    assert api.get("/api/clinical/orders/mine").json()["orders"] == []
    entry = _denied(scene.physician.user_id)
    assert (entry.reason_code, entry.citizen_id, entry.actor_organisation_id) == (
        "not_ordering_organisation",
        scene.citizen.pk,
        hospital.pk,
    )
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION


def _blocks(scene: Scene, user) -> None:
    """The citizen blocks the named physician (Min Spærring, R4)."""
    directive = ConsentDirective.objects.create(
        citizen=scene.citizen,
        provision=ConsentDirective.Provision.DENY,
        given_how=ConsentDirective.GivenHow.WRITTEN,
        recorded_by=scene.nurse.user,
        recorded_by_organisation=scene.nurse.organisation,
    )
    directive.recipient_users.add(user)


def test_r4_a_citizen_who_blocked_the_physician_is_not_shown_to_her_in_her_orders(scene: Scene):
    order = _phone_order(scene)
    _blocks(scene, scene.physician.user)
    api = factories.client_for(scene.physician)

    for step in ("confirm", "prescription-sent"):
        assert api.post(f"/api/clinical/orders/{order.pk}/{step}").status_code == 404
        entry = _denied(scene.physician.user_id)
        assert (entry.reason_code, entry.citizen_id, entry.resource_id) == (
            "refused",
            scene.citizen.pk,
            str(order.pk),
        )
    assert api.get("/api/clinical/orders/mine").json()["orders"] == []
    fhir = api.get(f"/fhir/MedicationRequest/{order.pk}")
    assert fhir.status_code == 404
    page = _page(scene.physician)
    assert (
        f"/physician/orders/{order.pk}/confirm/"
        not in page.get("/physician/orders/").content.decode()
    )
    assert page.post(f"/physician/orders/{order.pk}/confirm/").status_code in (403, 404)
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION

    # Another physician of the practice is not blocked; the order is not hers either.
    other = physician_of(scene.gp, first="Anden", last="Læge", authorisation_id="7Q")
    assert factories.client_for(other).post(
        f"/api/clinical/orders/{order.pk}/confirm"
    ).status_code == (404)


def test_r4_break_the_glass_opens_her_order_recorded_as_an_emergency(scene: Scene):
    order = _phone_order(scene)
    _blocks(scene, scene.physician.user)
    actor = Actor.for_membership(scene.physician)
    break_glass_open(
        actor=actor,
        citizen_id=scene.citizen.pk,
        reason="Borgeren er bevidstløs; ordinationen skal bekræftes",
        basis="cannot_be_asked",
    )
    api = factories.client_for(scene.physician)
    assert api.post(f"/api/clinical/orders/{order.pk}/confirm").status_code == 200
    entry = AuditEntry.objects.filter(
        actor_user_id=scene.physician.user_id,
        outcome="permitted",
        resource_type="MedicationRequest",
        action="read",
    ).latest("pk")
    assert (entry.purpose, entry.reason_code) == ("emergency", "break_glass")


def _critical_result_alert(scene: Scene) -> PhysicianAlert:
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": "NPU03230", "value": "7.2", "unit": "mmol/L"}]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return PhysicianAlert.objects.get(recipient=scene.physician.user)


def test_r4_a_citizen_who_blocked_the_physician_is_not_shown_to_her_in_her_alerts(scene: Scene):
    """Her alerts name the citizen as her orders do: a citizen who blocked
    her is in neither list, and her acknowledging the alert is refused and
    recorded (R9), on the API and on her page."""
    alert = _critical_result_alert(scene)
    _blocks(scene, scene.physician.user)
    api = factories.client_for(scene.physician)
    assert api.get("/api/clinical/alerts").json()["alerts"] == []
    listed = AuditEntry.objects.filter(
        actor_user_id=scene.physician.user_id, resource_type="Flag", action="search"
    )
    assert not listed.exists()
    page = _page(scene.physician)
    assert scene.citizen.family_name not in page.get("/physician/orders/").content.decode()
    assert api.post(f"/api/clinical/alerts/{alert.pk}/acknowledge").status_code == 404
    entry = _denied(scene.physician.user_id)
    assert (entry.reason_code, entry.citizen_id, entry.resource_id) == (
        "refused",
        scene.citizen.pk,
        str(alert.pk),
    )
    page.post(f"/physician/alerts/{alert.pk}/acknowledge/")
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    assert (
        AuditEntry.objects.filter(
            actor_user_id=scene.physician.user_id, outcome="denied", resource_id=str(alert.pk)
        ).count()
        == 2
    )


def test_r4_break_the_glass_lists_her_orders_and_alerts_recorded_as_an_emergency(scene: Scene):
    """Only her open break-the-glass shows the citizen who blocked her: each
    list records that emergency access as such, never as the ordering
    physician or the alert's recipient."""
    order = _phone_order(scene)
    _critical_result_alert(scene)
    _blocks(scene, scene.physician.user)
    glass = break_glass_open(
        actor=Actor.for_membership(scene.physician),
        citizen_id=scene.citizen.pk,
        reason="Borgeren er bevidstløs; svaret skal handles på",
        basis="cannot_be_asked",
    )
    api = factories.client_for(scene.physician)
    for url, key, resource_type in (
        ("/api/clinical/orders/mine", "orders", "MedicationRequest"),
        ("/api/clinical/alerts", "alerts", "Flag"),
    ):
        assert len(api.get(url).json()[key]) == 1, url
        entry = AuditEntry.objects.filter(
            actor_user_id=scene.physician.user_id, resource_type=resource_type, action="search"
        ).latest("pk")
        assert (entry.purpose, entry.reason_code, entry.citizen_id) == (
            "emergency",
            "break_glass",
            scene.citizen.pk,
        ), url
        assert entry.detail["break_glass_id"] == glass.pk
    assert str(order.pk) in api.get("/api/clinical/orders/mine").content.decode()


def _visit_completed_behind(scene: Scene) -> Visit:
    """The nurse's visit as her request read it (on site), while the visit
    is completed at the same moment."""
    stale = Visit.objects.get(pk=scene.visit.pk)
    visit_complete(
        visit=Visit.objects.get(pk=scene.visit.pk),
        outcome="treated_at_home",
        actor=Actor.for_membership(scene.nurse),
    )
    assert stale.status == Visit.Status.ON_SITE
    return stale


def test_no_result_lands_on_a_visit_completed_at_the_same_moment(scene: Scene):
    stale = _visit_completed_behind(scene)
    with pytest.raises(PlatformError) as caught:
        lab_results_record(
            actor=Actor.for_membership(scene.nurse),
            visit=stale,
            entries=[ResultInput(code="NPU19748", value="86", unit="mg/L")],
        )
    assert caught.value.code == "visit.wrong_status"
    assert not LabResult.objects.exists()
    entry = _denied(scene.nurse.user_id)
    assert (entry.reason_code, entry.resource_type, entry.citizen_id) == (
        "visit.wrong_status",
        "Observation",
        scene.citizen.pk,
    )


def test_no_procedure_or_phone_order_lands_on_a_visit_completed_at_the_same_moment(
    scene: Scene,
):
    stale = _visit_completed_behind(scene)
    nurse = Actor.for_membership(scene.nurse)
    with pytest.raises(PlatformError) as caught:
        procedure_record(actor=nurse, visit=stale, code="urinary-catheter")
    assert caught.value.code == "visit.wrong_status"
    assert not ProcedureRecord.objects.exists()

    stale.status = Visit.Status.ON_SITE
    details = OrderDetails(
        **{
            k: PHONE_ORDER[k]
            for k in (
                "medicine_atc",
                "medicine_name",
                "dose",
                "dose_unit",
                "route",
                "frequency",
                "duration",
                "indication",
            )
        }
    )
    with pytest.raises(PlatformError) as caught:
        phone_order_record(
            actor=nurse,
            visit=stale,
            details=details,
            ordered_by_name="Hanne Hansen",
            ordered_by_role="General practitioner",
            ordered_by_organisation_name="Lægehuset",
            ordered_by_authorisation_id="0A1B2",
            read_back=True,
            read_back_confirmed=True,
        )
    assert caught.value.code == "visit.wrong_status"
    assert not MedicationOrder.objects.exists()
    assert _denied(scene.nurse.user_id).resource_type == "MedicationRequest"
