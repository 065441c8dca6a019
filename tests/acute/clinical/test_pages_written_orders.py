"""The physician's written order page (§4 medicines need one), and her phone
order rejected or corrected in writing (R8) — the same gate, services and
audit as the API; a refusal keeps what she typed and names each field."""

from __future__ import annotations

import pytest
from django.test import Client

from acute.clinical.models import MedicationOrder
from consent.audit.models import AuditEntry
from core.models import Role
from tests import factories
from tests.acute.clinical.conftest import Scene

pytestmark = pytest.mark.django_db

MORPHINE = {
    "medicine_atc": "N02AA01",
    "medicine_name": "Morfin 10 mg/ml injektionsvæske",
    "dose": "2,5",
    "dose_unit": "mg",
    "route": "subkutant",
    "frequency": "engangsdosis",
    "duration": "1 dag",
    "indication": "Smerter",
}


def _login(membership) -> Client:
    client = Client()
    assert factories.log_in(client, membership).status_code == 302
    return client


def _phone_order(scene: Scene) -> MedicationOrder:
    return factories.phone_order(scene.nurse, scene.visit)


def test_physician_writes_a_section_four_order_on_her_patients_open_visit(scene: Scene):
    client = _login(scene.physician)
    form = client.get("/physician/orders/new/")
    html = form.content.decode()
    assert form.status_code == 200
    assert f'<option value="{scene.visit.pk}"' in html and "Testesen" in html
    listed = AuditEntry.objects.get(action="search", resource_type="Encounter")
    assert listed.citizen_id == scene.citizen.pk and listed.outcome == "permitted"

    saved = client.post("/physician/orders/new/", {**MORPHINE, "visit_id": str(scene.visit.pk)})
    assert saved.status_code == 302, saved.content.decode()[:3000]
    order = MedicationOrder.objects.get()
    assert order.kind == MedicationOrder.Kind.WRITTEN
    assert order.status == MedicationOrder.Status.CONFIRMED
    assert order.dependence_forming and str(order.dose) == "2.500"
    assert order.ordering_physician_id == scene.physician.user_id
    # Her role is stored as one name, not in the language her page spoke.
    assert order.ordered_by_role == "Physician"
    assert AuditEntry.objects.filter(
        action="create", resource_type="MedicationRequest", outcome="permitted"
    ).exists()


def test_a_refused_written_order_names_every_field_and_keeps_what_was_typed(scene: Scene):
    client = _login(scene.physician)
    response = client.post(
        "/physician/orders/new/",
        {**MORPHINE, "visit_id": str(scene.visit.pk), "dose": "-1", "doses_per_day": "0"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'aria-describedby="err-dose"' in html
    assert 'value="Morfin 10 mg/ml injektionsvæske"' in html and 'value="-1"' in html
    assert f'<option value="{scene.visit.pk}" selected>' in html
    assert not MedicationOrder.objects.exists()
    none_chosen = client.post("/physician/orders/new/", {**MORPHINE, "visit_id": ""})
    assert none_chosen.status_code == 400
    assert 'aria-describedby="err-visit-id"' in none_chosen.content.decode()


def test_a_written_order_for_a_code_that_is_no_atc_code_is_refused_on_that_field(scene: Scene):
    """A typing error in the ATC code is named under the code's field in
    Danish, the rest of the order kept as typed, and nothing is saved."""
    client = _login(scene.physician)
    response = client.post(
        "/physician/orders/new/",
        {**MORPHINE, "visit_id": str(scene.visit.pk), "medicine_atc": "N02A01"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'aria-describedby="err-medicine-atc"' in html
    assert "<strong>Ikke udført:</strong> Angiv lægemidlets ATC-kode" in html
    assert 'value="Morfin 10 mg/ml injektionsvæske"' in html
    assert not MedicationOrder.objects.exists()


def test_a_physician_without_a_relationship_sees_no_visit_and_cannot_order_on_one(scene: Scene):
    stranger = factories.staff(Role.PHYSICIAN, factories.gp_practice())
    stranger.user.authorisation_id = "9Z9Z9"
    stranger.user.save(update_fields=["authorisation_id"])
    client = _login(stranger)
    html = client.get("/physician/orders/new/").content.decode()
    assert "Testesen" not in html and f'value="{scene.visit.pk}"' not in html
    refused = client.post("/physician/orders/new/", {**MORPHINE, "visit_id": str(scene.visit.pk)})
    assert refused.status_code in (403, 404)
    assert not MedicationOrder.objects.exists()
    assert AuditEntry.objects.filter(
        outcome="denied", citizen_id=scene.citizen.pk, resource_type="Encounter"
    ).exists()


@pytest.mark.parametrize(
    "role", [Role.ACUTE_NURSE, Role.COORDINATOR, Role.MEDICINE_OFFICER, Role.AUDITOR]
)
def test_only_a_physician_reaches_the_written_order_page(scene: Scene, role: str):
    client = _login(factories.staff(role, factories.acute_function()))
    assert client.get("/physician/orders/new/").status_code in (403, 404)
    posted = client.post("/physician/orders/new/", {**MORPHINE, "visit_id": str(scene.visit.pk)})
    assert posted.status_code in (403, 404)
    assert not MedicationOrder.objects.exists()


def test_physician_rejects_her_phone_order_with_a_reason(scene: Scene):
    order = _phone_order(scene)
    client = _login(scene.physician)
    page = client.get("/physician/orders/").content.decode()
    assert f"/physician/orders/{order.pk}/reject/" in page
    assert f"/physician/orders/{order.pk}/correct/" in page
    without = client.post(f"/physician/orders/{order.pk}/reject/", {"reason": " "})
    assert without.status_code == 400
    assert 'data-code="order.cancel_reason_required"' in without.content.decode()
    done = client.post(f"/physician/orders/{order.pk}/reject/", {"reason": "Forkert dosis"})
    assert done.status_code == 302
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.CANCELLED
    assert order.cancel_reason == "Forkert dosis"
    assert not order.is_administrable


def test_physician_corrects_her_phone_order_in_writing_in_one_step(scene: Scene):
    order = _phone_order(scene)
    client = _login(scene.physician)
    form = client.get(f"/physician/orders/{order.pk}/correct/").content.decode()
    assert 'value="Pivmecillinam 400 mg tablet"' in form and 'value="400"' in form
    # Refused without a reason: nothing changes, and what she typed stays.
    refused = client.post(
        f"/physician/orders/{order.pk}/correct/",
        {**MORPHINE, "medicine_atc": "J01CA08", "medicine_name": "Pivmecillinam", "dose": "200"},
    )
    assert refused.status_code == 400
    assert 'aria-describedby="err-reason"' in refused.content.decode()
    assert 'value="200"' in refused.content.decode()
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION
    corrected = client.post(
        f"/physician/orders/{order.pk}/correct/",
        {
            **MORPHINE,
            "medicine_atc": "J01CA08",
            "medicine_name": "Pivmecillinam 200 mg tablet",
            "dose": "200",
            "route": "oral",
            "frequency": "3 gange dagligt",
            "duration": "3 dage",
            "reason": "Dosis hørt forkert",
        },
    )
    assert corrected.status_code == 302, corrected.content.decode()[:3000]
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.CANCELLED
    assert order.cancel_reason == "Dosis hørt forkert"
    new = MedicationOrder.objects.exclude(pk=order.pk).get()
    assert new.kind == MedicationOrder.Kind.WRITTEN and new.visit_id == scene.visit.pk
    assert str(new.dose) == "200.000" and new.status == MedicationOrder.Status.CONFIRMED


def test_another_physician_cannot_reject_or_correct_and_is_audited(scene: Scene):
    order = _phone_order(scene)
    other = factories.staff(Role.PHYSICIAN, scene.gp)
    client = _login(other)
    assert client.post(f"/physician/orders/{order.pk}/reject/", {"reason": "x"}).status_code in (
        403,
        404,
    )
    assert client.get(f"/physician/orders/{order.pk}/correct/").status_code in (403, 404)
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION
    assert (
        AuditEntry.objects.filter(
            outcome="denied", reason_code="not_ordering_physician", actor_user_id=other.user_id
        ).count()
        == 2
    )


def test_after_the_citizens_death_no_order_is_written_but_her_phone_order_is_still_rejected(
    scene: Scene,
):
    """A citizen registered dead gets no new order: the physician's written
    order and her correction of a phone order in writing are refused in
    Danish, audited, and the correction changes nothing (both or neither).
    Rejecting the phone order, which orders nothing new, still works."""
    import datetime as dt

    from django.utils import timezone

    from consent.models import CareRelationship
    from consent.services import care_relationship_open
    from core.models import Citizen

    order = _phone_order(scene)
    care_relationship_open(
        citizen=scene.citizen,
        organisation=scene.gp,
        basis=CareRelationship.Basis.RECORDED,
        source_type="test",
        source_id="1",
    )
    Citizen.objects.filter(pk=scene.citizen.pk).update(
        deceased_at=timezone.now() - dt.timedelta(minutes=5)
    )
    client = _login(scene.physician)
    written = client.post("/physician/orders/new/", {**MORPHINE, "visit_id": str(scene.visit.pk)})
    assert written.status_code == 412
    assert "Borgeren er registreret som død." in written.content.decode()
    corrected = client.post(
        f"/physician/orders/{order.pk}/correct/",
        {**MORPHINE, "medicine_atc": "J01CA08", "dose": "200", "reason": "Dosis hørt forkert"},
    )
    assert corrected.status_code == 412
    assert "Borgeren er registreret som død." in corrected.content.decode()
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION
    assert MedicationOrder.objects.count() == 1
    assert (
        AuditEntry.objects.filter(
            outcome="denied",
            reason_code="order.citizen_deceased",
            citizen_id=scene.citizen.pk,
            actor_user_id=scene.physician.user_id,
        ).count()
        == 2
    )
    rejected = client.post(f"/physician/orders/{order.pk}/reject/", {"reason": "Borgeren døde"})
    assert rejected.status_code == 302
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.CANCELLED
