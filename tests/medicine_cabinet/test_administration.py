"""Administration (R8): from the nurse's own bag, on her visit, to that visit's
citizen, only against a matching physician's order, through the access gate."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from consent.audit.models import AuditEntry
from core.errors import Conflict, InvalidInput, NotFoundOrNotAllowed, PreconditionFailed
from core.models import Role
from medicine_cabinet import selectors, services
from medicine_cabinet.models import Administration, Balance, Movement
from tests import factories as f
from tests.medicine_cabinet.conftest import (
    actor,
    denied_audited,
    order_for,
    receive,
    to_bag,
    visit_for,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked(officer, nurse, cabinet, bag, paracetamol):
    """Two lots in the nurse's bag; ``soon`` expires first."""
    later = receive(officer, cabinet, paracetamol, "20", batch="LATER", expires_in_days=300)
    soon = receive(officer, cabinet, paracetamol, "20", batch="SOON", expires_in_days=40)
    for lot in (later, soon):
        to_bag(nurse, lot, cabinet, bag, "4")
    return soon, later


def test_a_dose_against_a_phone_order_uses_the_first_expiring_lot_and_is_audited(
    nurse, bag, paracetamol, stocked
):
    soon, _ = stocked
    citizen = f.citizen(municipality_code="173")
    visit = visit_for(nurse, citizen)
    order = order_for(nurse, citizen, paracetamol, kind="phone", visit=visit)
    assert selectors.lot_suggest(bag=bag, medicine=paracetamol) == soon
    given = services.administration_give(
        actor=actor(nurse),
        visit_id=visit.pk,
        order_id=order.pk,
        medicine=paracetamol,
        quantity=Decimal("2"),
        unit="tablet",
    )
    assert given.lot == soon and given.citizen == citizen
    assert given.municipality.municipality_code == "173"
    assert given.movement.kind == Movement.Kind.ADMINISTERED
    assert Balance.objects.get(location=bag, lot=soon).quantity == 2
    entries = AuditEntry.objects.filter(citizen_id=citizen.pk)
    assert {(e.resource_type, e.outcome) for e in entries} >= {
        ("MedicationAdministration", "permitted"),
        ("StockMovement", "permitted"),
    }


def test_without_an_order_nothing_leaves_the_bag(nurse, bag, paracetamol, stocked):
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    before = Movement.objects.count()
    with pytest.raises(PreconditionFailed) as caught:
        services.administration_give(
            actor=actor(nurse),
            visit_id=visit.pk,
            order_id=None,
            medicine=paracetamol,
            quantity=Decimal("1"),
            unit="tablet",
        )
    assert caught.value.code == "order.missing" and caught.value.rule == "R8"
    assert Movement.objects.count() == before and not Administration.objects.exists()


def test_an_order_for_another_medicine_or_citizen_is_refused(
    nurse, bag, paracetamol, morphine, stocked
):
    citizen, other = f.citizen(), f.citizen()
    visit = visit_for(nurse, citizen)
    wrong_medicine = order_for(nurse, citizen, morphine, kind="written")
    wrong_citizen = order_for(nurse, other, paracetamol, visit=visit_for(nurse, other))
    for order, code in (
        (wrong_medicine, "order.medicine_mismatch"),
        (wrong_citizen, "order.not_for_citizen"),
    ):
        with pytest.raises(InvalidInput) as caught:
            services.administration_give(
                actor=actor(nurse),
                visit_id=visit.pk,
                order_id=order.pk,
                medicine=paracetamol,
                quantity=Decimal("1"),
                unit="tablet",
            )
        assert caught.value.code == code
    cancelled = order_for(nurse, citizen, paracetamol, visit=visit, cancelled=True)
    with pytest.raises(PreconditionFailed):
        services.administration_give(
            actor=actor(nurse),
            visit_id=visit.pk,
            order_id=cancelled.pk,
            medicine=paracetamol,
            quantity=Decimal("1"),
            unit="tablet",
        )
    assert not Administration.objects.exists()


def test_another_nurses_visit_is_refused_and_the_attempt_audited(
    nurse, nurse2, bag, paracetamol, stocked
):
    citizen = f.citizen()
    visit = visit_for(nurse2, citizen)  # nurse2's visit; nurse has no relationship
    order = order_for(nurse2, citizen, paracetamol, visit=visit)
    with pytest.raises(NotFoundOrNotAllowed):
        services.administration_give(
            actor=actor(nurse),
            visit_id=visit.pk,
            order_id=order.pk,
            medicine=paracetamol,
            quantity=Decimal("1"),
            unit="tablet",
        )
    denied = AuditEntry.objects.filter(citizen_id=citizen.pk, outcome="denied")
    assert denied.filter(actor_user_id=nurse.user.pk).exists()
    assert not Administration.objects.exists()


def test_a_visit_out_of_reach_answers_as_one_that_does_not_exist(
    nurse, nurse2, bag, paracetamol, stocked
):
    """Not found and not allowed look the same: another nurse's visit, its
    citizen outside her care, is answered as a visit id that no visit has."""
    citizen = f.citizen()
    visit = visit_for(nurse2, citizen)
    order = order_for(nurse2, citizen, paracetamol, visit=visit)
    client = f.client_for(nurse)
    answers = []
    for visit_id in (visit.pk, visit.pk + 1000):
        response = client.post(
            "/api/cabinet/administrations",
            {
                "visit": visit_id,
                "order": order.pk,
                "medicine": paracetamol.pk,
                "quantity": "1",
                "unit": "tablet",
            },
            format="json",
        )
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 404
    assert not Administration.objects.exists()


def test_a_visit_not_on_site_and_a_nurse_without_stock_are_refused(
    nurse, nurse2, bag, bag2, paracetamol, stocked
):
    citizen = f.citizen()
    visit = visit_for(nurse, citizen, on_site=False)
    order = order_for(nurse, citizen, paracetamol, visit=visit)
    with pytest.raises(PreconditionFailed) as caught:
        services.administration_give(
            actor=actor(nurse),
            visit_id=visit.pk,
            order_id=order.pk,
            medicine=paracetamol,
            quantity=Decimal("1"),
            unit="tablet",
        )
    assert caught.value.code == "visit.not_on_site"
    # nurse2's bag is empty: she cannot give from someone else's bag.
    visit2 = visit_for(nurse2, citizen)
    order2 = order_for(nurse2, citizen, paracetamol, visit=visit2)
    with pytest.raises(Conflict) as empty:
        services.administration_give(
            actor=actor(nurse2),
            visit_id=visit2.pk,
            order_id=order2.pk,
            medicine=paracetamol,
            quantity=Decimal("1"),
            unit="tablet",
        )
    assert empty.value.code == "stock.none_usable"


def test_expired_and_recalled_lots_are_refused_at_the_bedside(
    officer, nurse, bag, paracetamol, stocked
):
    soon, later = stocked
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    order = order_for(nurse, citizen, paracetamol, visit=visit)
    services.lot_recall(actor=actor(officer), lot=soon, reason="Supplier recall")
    with pytest.raises(PreconditionFailed) as recalled:
        services.administration_give(
            actor=actor(nurse),
            visit_id=visit.pk,
            order_id=order.pk,
            medicine=paracetamol,
            quantity=Decimal("1"),
            unit="tablet",
            lot=soon,
        )
    assert recalled.value.code == "lot.recalled"
    later.expires_on = timezone.localdate() - dt.timedelta(days=1)
    later.save(update_fields=["expires_on"])
    with pytest.raises(PreconditionFailed) as expired:
        services.administration_give(
            actor=actor(nurse),
            visit_id=visit.pk,
            order_id=order.pk,
            medicine=paracetamol,
            quantity=Decimal("1"),
            unit="tablet",
            lot=later,
        )
    assert expired.value.code == "lot.expired"
    with pytest.raises(Conflict):  # nothing usable left to suggest
        services.administration_give(
            actor=actor(nurse),
            visit_id=visit.pk,
            order_id=order.pk,
            medicine=paracetamol,
            quantity=Decimal("1"),
            unit="tablet",
        )


def test_administration_over_the_api_and_as_fhir_linked_to_the_order(
    nurse, bag, paracetamol, stocked
):
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    order = order_for(nurse, citizen, paracetamol, visit=visit)
    client = f.client_for(nurse)
    body = {
        "visit": visit.pk,
        "order": order.pk,
        "medicine": paracetamol.pk,
        "quantity": "2",
        "unit": "tablet",
    }
    for bad, code in (
        ({"quantity": "0"}, "quantity.not_positive"),
        ({"unit": "mg"}, "unit.mismatch"),
        ({"order": None}, "order.missing"),
        ({"lot": 999999}, "lot.not_found"),
    ):
        response = client.post("/api/cabinet/administrations", {**body, **bad}, format="json")
        assert response.status_code in (400, 404, 412), response.content
        assert response.json()["error"]["code"] == code
    assert not Administration.objects.exists()
    given = client.post("/api/cabinet/administrations", body, format="json")
    assert given.status_code == 201, given.content
    administration_id = given.json()["id"]
    read = client.get(f"/fhir/MedicationAdministration/{administration_id}")
    assert read.status_code == 200
    resource = read.json()
    assert resource["request"]["reference"] == f"MedicationRequest/{order.pk}"
    assert resource["context"]["reference"] == f"Encounter/visit-{visit.pk}"
    assert resource["subject"]["reference"] == f"Patient/{citizen.pk}"
    assert resource["contained"][0]["batch"]["lotNumber"] == "SOON"
    assert citizen.cpr not in read.content.decode()
    search = client.get(f"/fhir/MedicationAdministration?patient={citizen.pk}")
    assert search.status_code == 200 and search.json()["total"] == 1
    # Someone without a care relationship, and the officer, get "not found".
    stranger = f.staff(Role.ACUTE_NURSE, nurse.organisation)
    assert (
        f.client_for(stranger)
        .get(f"/fhir/MedicationAdministration/{administration_id}")
        .status_code
        == 404
    )
    assert (
        f.client_for(f.staff(Role.MEDICINE_OFFICER, nurse.organisation))
        .get(f"/fhir/MedicationAdministration/{administration_id}")
        .status_code
        == 403
    )
    metadata = f.client_for(None).get("/fhir/metadata").json()
    types = {r["type"] for r in metadata["rest"][0]["resource"]}
    assert "MedicationAdministration" in types


def test_monthly_use_per_municipality_comes_out_right(officer, nurse, bag, paracetamol, stocked):
    """The municipalities share the cost by the administered citizens' municipality."""
    gentofte, gladsaxe = f.citizen(municipality_code="157"), f.citizen(municipality_code="159")
    for citizen, doses in ((gentofte, ["1", "0.5"]), (gladsaxe, ["2"])):
        visit = visit_for(nurse, citizen)
        order = order_for(
            nurse,
            citizen,
            paracetamol,
            visit=visit,
            dose=Decimal("500"),
            dose_unit="mg",
            frequency="4 times daily",
            duration="3 days",
        )
        for quantity in doses:
            in_mg = Decimal(quantity) * 500  # a tablet is 500 mg; other doses are confirmed (R8)
            services.administration_give(
                actor=actor(nurse),
                visit_id=visit.pk,
                order_id=order.pk,
                medicine=paracetamol,
                quantity=Decimal(quantity),
                unit="tablet",
                confirm_mismatch=in_mg != 500,
                confirmed_dose=in_mg if in_mg != 500 else None,
            )
    # A dose given late on 31 January, Copenhagen time, counts for January.
    late = Administration.objects.filter(citizen=gladsaxe).get()
    year = timezone.localdate().year
    Administration.objects.filter(pk=late.pk).update(
        administered_at=dt.datetime(year, 1, 31, 23, 30, tzinfo=dt.UTC) - dt.timedelta(hours=1)
    )
    rows = f.client_for(officer).get(f"/api/cabinet/reports/monthly-use?year={year}").json()["rows"]
    by_key = {(r["month"], r["municipality"]["code"]): (r["quantity"], r["doses"]) for r in rows}
    this_month = timezone.localdate().strftime("%Y-%m")
    assert by_key[(f"{year}-01", "159")] == ("2.000", 1)
    assert by_key[(this_month, "157")] == ("1.500", 2)
    assert len(rows) == 2
    assert f.client_for(nurse).get("/api/cabinet/reports/monthly-use").status_code == 403


# --- a citizen registered dead ----------------------------------------------------


def test_no_dose_is_given_after_the_citizens_registered_death_and_the_attempt_is_audited(
    nurse, bag, paracetamol, stocked
):
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    order = order_for(nurse, citizen, paracetamol, kind="phone", visit=visit)
    citizen.deceased_at = timezone.now() - dt.timedelta(minutes=10)
    citizen.save(update_fields=["deceased_at"])
    before = Movement.objects.count()
    with pytest.raises(PreconditionFailed) as caught:
        services.administration_give(
            actor=actor(nurse),
            visit_id=visit.pk,
            order_id=order.pk,
            medicine=paracetamol,
            quantity=Decimal("1"),
            unit="tablet",
        )
    assert caught.value.code == "administration.citizen_deceased"
    assert Movement.objects.count() == before and not Administration.objects.exists()
    assert denied_audited(citizen, "administration.citizen_deceased")
    # Given after the death by the tablet's own time, sent later: refused too.
    with pytest.raises(PreconditionFailed) as caught:
        services.administration_give(
            actor=actor(nurse),
            visit_id=visit.pk,
            order_id=order.pk,
            medicine=paracetamol,
            quantity=Decimal("1"),
            unit="tablet",
            given_at=timezone.now() - dt.timedelta(minutes=5),
        )
    assert caught.value.code == "administration.citizen_deceased"
    assert caught.value.field == "given_at"


def test_a_dose_given_before_the_death_and_sent_later_is_still_booked(
    nurse, bag, paracetamol, stocked
):
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    # Ordered before she gave the dose: a dose is judged against the order as
    # it stood when given.
    order = order_for(
        nurse,
        citizen,
        paracetamol,
        kind="phone",
        visit=visit,
        ordered_at=timezone.now() - dt.timedelta(minutes=30),
    )
    citizen.deceased_at = timezone.now() - dt.timedelta(minutes=10)
    citizen.save(update_fields=["deceased_at"])
    given = services.administration_give(
        actor=actor(nurse),
        visit_id=visit.pk,
        order_id=order.pk,
        medicine=paracetamol,
        quantity=Decimal("2"),
        unit="tablet",
        given_at=timezone.now() - dt.timedelta(minutes=20),
    )
    assert given.movement.kind == Movement.Kind.ADMINISTERED
