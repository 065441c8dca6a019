"""A recall names the citizens who already received a dose of the lot (R8),
so each is followed up, and every citizen listed is audited (R9) with the
officer's purpose, operations (R3) — through the API and the officer's page."""

from __future__ import annotations

from decimal import Decimal

import pytest

from consent.audit.models import AuditEntry
from medicine_cabinet import services
from medicine_cabinet.models import Notification
from tests import factories as f
from tests.medicine_cabinet.conftest import actor, order_for, receive, to_bag, visit_for

pytestmark = pytest.mark.django_db


def _named(given_name, family_name):
    citizen = f.citizen()
    citizen.given_name, citizen.family_name = given_name, family_name
    citizen.save(update_fields=["given_name", "family_name"])
    return citizen


def _give(nurse, citizen, medicine, quantity):
    visit = visit_for(nurse, citizen)
    order = order_for(nurse, citizen, medicine, kind="phone", visit=visit)
    return services.administration_give(
        actor=actor(nurse),
        visit_id=visit.pk,
        order_id=order.pk,
        medicine=medicine,
        quantity=Decimal(quantity),
        unit="tablet",
    )


@pytest.fixture
def given(officer, nurse, cabinet, bag, paracetamol):
    """Lot BAD given to two citizens; lot GOOD to a third."""
    bad = receive(officer, cabinet, paracetamol, "10", batch="BAD", expires_in_days=40)
    to_bag(nurse, bad, cabinet, bag, "4")
    first = _named("Karen", "Holm")
    second = _named("Per", "Lund")
    doses = [_give(nurse, first, paracetamol, "2"), _give(nurse, second, paracetamol, "2")]
    good = receive(officer, cabinet, paracetamol, "10", batch="GOOD", expires_in_days=300)
    to_bag(nurse, good, cabinet, bag, "4")
    other = _named("Ida", "Berg")
    _give(nurse, other, paracetamol, "2")
    return bad, good, doses, other


def _recall_entries(citizen_id):
    return AuditEntry.objects.filter(
        citizen_id=citizen_id, resource_type="MedicationAdministration", reason_code="recall"
    )


def test_the_recall_answer_lists_who_received_the_lot_and_audits_each_citizen(officer, given):
    bad, _, doses, other = given
    response = f.client_for(officer).post(
        f"/api/cabinet/lots/{bad.pk}/recall", {"reason": "Fejl i pakningen"}, format="json"
    )
    assert response.status_code == 200
    listed = response.json()["administrations"]
    assert [d["id"] for d in listed] == [d.pk for d in doses]
    first = listed[0]
    dose = doses[0]
    assert first["citizen"] == {
        "id": dose.citizen_id,
        "name": "Karen Holm",
        "masked_cpr": dose.citizen.masked_cpr,
    }
    assert first["visit"] == dose.visit_id and first["order"] == dose.order_id
    assert first["nurse"] == dose.by.display_name and Decimal(first["quantity"]) == 2
    assert first["ordered_by"] == dose.order.ordered_by_name
    # Only what following up takes: never the CPR number itself.
    assert dose.citizen.cpr not in response.content.decode()
    for d in doses:
        (entry,) = _recall_entries(d.citizen_id)
        assert entry.actor_user_id == officer.user_id and entry.actor_role == "medicine_officer"
        assert entry.purpose == "operations" and entry.outcome == "permitted"
        assert entry.detail["lot"] == bad.pk and entry.detail["administrations"] == [d.pk]
    # The citizen given another lot is neither listed nor recorded.
    assert not _recall_entries(other.pk).exists()


def test_a_lot_nobody_received_lists_nobody_and_audits_nobody(officer, cabinet, paracetamol):
    lot = receive(officer, cabinet, paracetamol, "10", batch="UNUSED")
    response = f.client_for(officer).post(
        f"/api/cabinet/lots/{lot.pk}/recall", {"reason": "Fejl i pakningen"}, format="json"
    )
    assert response.status_code == 200 and response.json()["administrations"] == []
    assert not AuditEntry.objects.filter(
        resource_type="MedicationAdministration", reason_code="recall"
    ).exists()
    (notice,) = Notification.objects.filter(kind=Notification.Kind.RECALL, lot=lot)
    assert "Doser givet" not in notice.message


def test_the_recall_page_lists_them_and_each_view_is_audited(officer, given):
    bad, _, doses, other = given
    client = f.client_for(officer)
    f.log_in(client, officer)
    posted = client.post(
        "/cabinet/recall/", {"lot": bad.pk, "reason": "Producent"}, HTTP_ACCEPT_LANGUAGE="da"
    )
    assert posted.status_code == 302 and posted["Location"] == f"/cabinet/recall/{bad.pk}/"
    # The notification counts the doses and leads to the recall; it names nobody.
    (notice,) = Notification.objects.filter(kind=Notification.Kind.RECALL, lot=bad)
    assert "Doser givet fra batchen: 2" in notice.message
    assert "Holm" not in notice.message
    stock = client.get("/cabinet/", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert f'href="/cabinet/recall/{bad.pk}/"' in stock
    assert not _recall_entries(doses[0].citizen_id).exists()  # the stock page names nobody

    page = client.get(f"/cabinet/recall/{bad.pk}/", HTTP_ACCEPT_LANGUAGE="da")
    assert page.status_code == 200
    html = page.content.decode()
    for d in doses:
        assert d.citizen.full_name in html and d.citizen.masked_cpr in html
        assert d.citizen.cpr not in html
        assert f"Besøg nr. {d.visit_id}" in html
    assert "Ida Berg" not in html
    assert "Doser givet fra denne batch" in html
    # Every view of the list is an access to each citizen on it.
    for d in doses:
        entries = _recall_entries(d.citizen_id)
        assert entries.count() == 1
        assert {(e.purpose, e.actor_role) for e in entries} == {("operations", "medicine_officer")}
    client.get(f"/cabinet/recall/{bad.pk}/")
    assert all(_recall_entries(d.citizen_id).count() == 2 for d in doses)
    assert not _recall_entries(other.pk).exists()


def test_the_page_of_a_lot_not_recalled_names_nobody(officer, nurse, given):
    bad, _, doses, _ = given
    client = f.client_for(officer)
    f.log_in(client, officer)
    response = client.get(f"/cabinet/recall/{bad.pk}/", HTTP_ACCEPT_LANGUAGE="da")
    assert 400 <= response.status_code < 500
    assert doses[0].citizen.full_name not in response.content.decode()
    # A nurse is not the medicine officer: refused, nobody listed.
    nurse_client = f.client_for(nurse)
    f.log_in(nurse_client, nurse)
    assert nurse_client.get(f"/cabinet/recall/{bad.pk}/").status_code == 403
    assert not AuditEntry.objects.filter(
        resource_type="MedicationAdministration", reason_code="recall"
    ).exists()
