"""What a medicine officer or an acute nurse meets when the cabinet says no (R8,
R9): the precise code, nothing written, the ledger balanced, and — where the
refusal concerns a citizen — a denied attempt in the audit log.

- a quantity written with trailing zeros ("5.0000") is the number it says;
- a medicine the rules name dependence-forming (§4) cannot be unmarked, nor
  made over the counter, in the formulary (API, service and admin);
- a lot only another acute function booked is "not found" on every door;
- a recall tells every acute function holding the lot;
- every refused dose, once the citizen is reached, is a denied attempt;
- what the officer types on her pages is refused whole, never a 500 or cut short.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from consent.audit.models import AuditEntry
from core.errors import InvalidInput, NotFoundOrNotAllowed
from core.models import Organisation, Role
from medicine_cabinet import selectors, services
from medicine_cabinet.admin import MedicineForm
from medicine_cabinet.models import (
    Administration,
    Balance,
    CountLine,
    Lot,
    Medicine,
    Movement,
    Notification,
)
from tests import factories as f
from tests.medicine_cabinet.conftest import actor, order_for, receive, to_bag, visit_for

pytestmark = pytest.mark.django_db


def ledger_balanced() -> bool:
    """Every balance row is what its ledger entries add up to."""
    for row in Balance.objects.all():
        entries = Movement.objects.filter(location=row.location, lot=row.lot)
        into = entries.filter(direction="in").aggregate(s=Sum("quantity"))["s"] or 0
        out = entries.filter(direction="out").aggregate(s=Sum("quantity"))["s"] or 0
        if into - out != row.quantity:
            return False
    return True


def error_code(response: Any) -> str:
    return response.json()["error"]["code"]


# --- trailing zeros -----------------------------------------------------------------


def test_a_quantity_with_trailing_zeros_is_the_number_it_says(
    officer, nurse, cabinet, bag, paracetamol, lactulose
):
    """ "5.0000" is five tablets, not a 400 ``movement.invalid`` from the
    ledger's column; "0.50000" mL is half a millilitre."""
    lot = receive(officer, cabinet, paracetamol, "20")
    response = f.client_for(nurse).post(
        "/api/cabinet/transfers",
        {
            "lot": lot.pk,
            "from_location": cabinet.pk,
            "to_location": bag.pk,
            "quantity": "5.0000",
            "unit": "tablet",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["in"]["quantity"] == "5.000"
    syrup = receive(officer, cabinet, lactulose, "100", batch="L1")
    wasted = f.client_for(officer).post(
        "/api/cabinet/waste",
        {
            "location": cabinet.pk,
            "lot": syrup.pk,
            "quantity": "0.50000",
            "unit": "mL",
            "reason_code": "dropped",
        },
        format="json",
    )
    assert wasted.status_code == 201, wasted.json()
    assert wasted.json()["balance_after"] == "99.500"
    # More significant decimals than the ledger keeps are still refused.
    assert services.quantity_parse("5.0000") == Decimal("5")
    with pytest.raises(InvalidInput) as caught:
        services.quantity_parse("0.0005")
    assert caught.value.code == "quantity.too_many_decimals"
    assert ledger_balanced()


# --- §4 in the formulary ------------------------------------------------------------

MORPHINE_LINE = {
    "atc_code": "N02AA01",
    "name": "Morfin",
    "strength": "10 mg/mL",
    "form": "solution for injection",
    "unit": "ampoule",
    "package_size": "10",
    "dispensing": "rx",
    "dependence_forming": False,
    "minimum_stock": "5",
}


def test_morphine_cannot_be_unmarked_as_dependence_forming(officer, nurse, cabinet, morphine):
    """R8: unmarked, morphine would move without a witness and leave the §4
    register; the formulary refuses it, and nothing changes."""
    lot = receive(officer, cabinet, morphine, "5", witness=nurse.user)
    client = f.client_for(officer)
    response = client.post(
        "/api/cabinet/medicines", MORPHINE_LINE, format="json", HTTP_ACCEPT_LANGUAGE="da"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "medicine.dependence_forming_required"
    assert error["field"] == "dependence_forming"
    assert "afhængighedsskabende (§4)" in error["message"]
    morphine.refresh_from_db()
    assert morphine.dependence_forming
    # And so the witness is still asked for.
    with pytest.raises(InvalidInput) as caught:
        services.stock_waste(
            actor=actor(officer),
            location=cabinet,
            lot=lot,
            quantity=Decimal("1"),
            unit="ampoule",
            reason_code="dropped",
        )
    assert caught.value.code == "witness.required"


def test_a_dependence_forming_medicine_is_never_over_the_counter(officer):
    response = f.client_for(officer).post(
        "/api/cabinet/medicines",
        {**MORPHINE_LINE, "atc_code": "N05CD08", "name": "Midazolam", "dependence_forming": True}
        | {"dispensing": "otc"},
        format="json",
    )
    assert response.status_code == 400
    assert error_code(response) == "medicine.dependence_forming_otc"
    assert not Medicine.objects.filter(atc_code="N05CD08").exists()
    # Marked §4 and prescription-only, it is taken.
    taken = f.client_for(officer).post(
        "/api/cabinet/medicines",
        {**MORPHINE_LINE, "atc_code": "N05CD08", "name": "Midazolam", "dependence_forming": True},
        format="json",
    )
    assert taken.status_code == 201 and taken.json()["dependence_forming"] is True


def test_the_admin_keeps_the_same_rule_for_dependence_forming_medicines(morphine):
    fields = {
        "atc_code": "N02AA01",
        "name": "Morfin",
        "strength": "10 mg/mL",
        "form": "solution for injection",
        "unit": "ampoule",
        "package_size": "10",
        "dispensing": "rx",
        "minimum_stock": "5",
        "amount_unit": "",
        "is_active": "on",
    }
    unmarked = MedicineForm(data=fields, instance=morphine)
    assert not unmarked.is_valid()
    assert "dependence_forming" in unmarked.errors
    marked = MedicineForm(data={**fields, "dependence_forming": "on"}, instance=morphine)
    assert marked.is_valid(), marked.errors


# --- another acute function's lot -------------------------------------------------------


@pytest.fixture
def other_lot(paracetamol) -> tuple[Any, Lot]:
    """A second acute function, its officer, and a lot only it has booked."""
    other = f.organisation(Organisation.Kind.ACUTE_FUNCTION, "Anden akutfunktion")
    their_officer = f.staff(Role.MEDICINE_OFFICER, other)
    their_cabinet = services.cabinet_create(organisation=other, name="Andet skab")
    return their_officer, receive(their_officer, their_cabinet, paracetamol, "7", batch="THEIRS")


def test_a_lot_only_another_acute_function_booked_is_not_found(
    officer, nurse, cabinet, bag, paracetamol, other_lot
):
    _their_officer, theirs = other_lot
    ours = receive(officer, cabinet, paracetamol, "20")
    ledger_before = Movement.objects.count()
    as_officer, as_nurse = f.client_for(officer), f.client_for(nurse)
    history = as_officer.get(f"/api/cabinet/lots/{theirs.pk}/history")
    assert history.status_code == 404 and error_code(history) == "lot.not_found"
    recall = as_officer.post(
        f"/api/cabinet/lots/{theirs.pk}/recall", {"reason": "Tilbagekaldt"}, format="json"
    )
    assert recall.status_code == 404 and error_code(recall) == "lot.not_found"
    transfer = as_nurse.post(
        "/api/cabinet/transfers",
        {
            "lot": theirs.pk,
            "from_location": cabinet.pk,
            "to_location": bag.pk,
            "quantity": "1",
            "unit": "tablet",
        },
        format="json",
    )
    assert transfer.status_code == 404 and error_code(transfer) == "lot.not_found"
    count = as_officer.post("/api/cabinet/counts", {"location": cabinet.pk}, format="json")
    line = as_officer.post(
        f"/api/cabinet/counts/{count.json()['id']}/lines",
        {"lot": theirs.pk, "quantity": "3"},
        format="json",
    )
    assert line.status_code == 404 and error_code(line) == "lot.not_found"
    # The same answer as a lot that does not exist at all.
    missing = as_officer.get("/api/cabinet/lots/999999/history")
    assert missing.status_code == 404 and error_code(missing) == "lot.not_found"
    theirs.refresh_from_db()
    assert theirs.recalled_at is None
    assert Movement.objects.count() == ledger_before
    # The service refuses it too, whichever door calls it.
    with pytest.raises(NotFoundOrNotAllowed):
        services.lot_recall(actor=actor(officer), lot=theirs, reason="Tilbagekaldt")
    # Our own lot is found.
    assert as_officer.get(f"/api/cabinet/lots/{ours.pk}/history").status_code == 200
    assert ledger_balanced()


def test_a_recall_tells_every_acute_function_that_holds_the_batch(
    officer, cabinet, paracetamol, other_lot
):
    their_officer, _theirs = other_lot
    # The same batch from the pharmacy, delivered to both acute functions.
    shared = receive(officer, cabinet, paracetamol, "20", batch="SHARED")
    their_cabinet = selectors.locations_list(organisation=their_officer.organisation).get()
    services.stock_receive(
        actor=actor(their_officer),
        cabinet=their_cabinet,
        medicine=paracetamol,
        batch_number="SHARED",
        expires_on=shared.expires_on,
        quantity=Decimal("4"),
        unit="tablet",
        supplier="Apoteket",
        delivery_reference="D-THEIRS",
    )
    held = services.lot_recall(actor=actor(officer), lot=shared, reason="Fejl i pakningen")
    assert [b.location for b in held] == [cabinet]  # our answer names our places only
    theirs = Notification.objects.get(
        organisation=their_officer.organisation, kind=Notification.Kind.RECALL, lot=shared
    )
    assert "Andet skab" in theirs.message and "Skab 1" not in theirs.message
    assert Notification.objects.filter(
        organisation=officer.organisation, kind=Notification.Kind.RECALL, lot=shared
    ).exists()


# --- every refused dose is a denied attempt (R9) --------------------------------------------


@pytest.fixture
def dosing(officer, nurse, nurse2, cabinet, bag, paracetamol, morphine) -> dict[str, Any]:
    """A nurse on site with paracetamol and morphine in her bag and an order of each."""
    tablets = receive(officer, cabinet, paracetamol, "20")
    to_bag(nurse, tablets, cabinet, bag, "5")
    ampoules = receive(officer, cabinet, morphine, "5", batch="M1", witness=nurse2.user)
    services.stock_transfer(
        actor=actor(nurse),
        lot=ampoules,
        source=cabinet,
        destination=bag,
        quantity=Decimal("2"),
        unit="ampoule",
        witness=nurse2.user,
    )
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    return {
        "citizen": citizen,
        "visit": visit,
        "tablets": tablets,
        "ampoules": ampoules,
        "paracetamol_order": order_for(
            nurse,
            citizen,
            paracetamol,
            visit=visit,
            dose=Decimal("500"),
            dose_unit="mg",
            frequency="4 times daily",
            duration="3 days",
        ),
        "morphine_order": order_for(
            nurse, citizen, morphine, kind="written", dose=Decimal("10"), dose_unit="mg"
        ),
    }


def _refused_and_audited(nurse, citizen, body: dict[str, Any], code: str) -> None:
    ledger_before = Movement.objects.count()
    response = f.client_for(nurse).post("/api/cabinet/administrations", body, format="json")
    assert response.status_code in (400, 409, 412), response.json()
    assert error_code(response) == code
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk,
        resource_type="MedicationAdministration",
        outcome="denied",
        reason_code=code,
    ).exists(), code
    assert not Administration.objects.exists()
    assert Movement.objects.count() == ledger_before
    assert ledger_balanced()


def test_a_dependence_forming_dose_without_a_proper_witness_is_a_denied_attempt(
    nurse, morphine, dosing
):
    citizen = dosing["citizen"]
    body = {
        "visit": dosing["visit"].pk,
        "order": dosing["morphine_order"].pk,
        "medicine": morphine.pk,
        "quantity": "1",
        "unit": "ampoule",
    }
    _refused_and_audited(nurse, citizen, body, "witness.required")
    herself = {"username": nurse.user.username, "password": f.PASSWORD}
    _refused_and_audited(nurse, citizen, {**body, "witness": herself}, "witness.same_person")


def test_a_recalled_lot_or_a_lot_of_another_medicine_at_the_bedside_is_a_denied_attempt(
    officer, nurse, nurse2, paracetamol, morphine, dosing
):
    citizen = dosing["citizen"]
    body = {
        "visit": dosing["visit"].pk,
        "order": dosing["paracetamol_order"].pk,
        "medicine": paracetamol.pk,
        "quantity": "1",
        "unit": "tablet",
    }
    _refused_and_audited(
        nurse, citizen, {**body, "lot": dosing["ampoules"].pk}, "lot.wrong_medicine"
    )
    services.lot_recall(actor=actor(officer), lot=dosing["tablets"], reason="Fejl i pakningen")
    _refused_and_audited(nurse, citizen, {**body, "lot": dosing["tablets"].pk}, "lot.recalled")


def test_a_dose_at_a_time_that_cannot_be_true_is_a_denied_attempt(nurse, paracetamol, dosing):
    citizen = dosing["citizen"]
    body = {
        "visit": dosing["visit"].pk,
        "order": dosing["paracetamol_order"].pk,
        "medicine": paracetamol.pk,
        "quantity": "1",
        "unit": "tablet",
    }
    tomorrow = (timezone.now() + dt.timedelta(days=1)).isoformat()
    _refused_and_audited(nurse, citizen, {**body, "given_at": tomorrow}, "offline.time_in_future")
    long_ago = "1990-01-01T08:00:00+01:00"
    _refused_and_audited(nurse, citizen, {**body, "given_at": long_ago}, "time.before_visit")


# --- the officer's pages ------------------------------------------------------------------


def _logged_in(membership) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def test_a_batch_number_too_long_for_the_ledger_is_refused_on_the_receipt_page(
    officer, cabinet, paracetamol
):
    """Typed on the page (which has no length of its own), a 41-character
    batch number was a 500 from the database; now it is named under its field."""
    response = _logged_in(officer).post(
        "/cabinet/receive/",
        {
            "cabinet": cabinet.pk,
            "medicine": paracetamol.pk,
            "batch_number": "B" * 41,
            "expires_on": (timezone.localdate() + dt.timedelta(days=300)).isoformat(),
            "quantity": "10",
            "supplier": "Apoteket",
            "delivery_reference": "D-1",
        },
        HTTP_ACCEPT_LANGUAGE="da",
    )
    assert response.status_code == 400
    assert "Et batchnummer har højst 40 tegn." in response.content.decode()
    assert not Lot.objects.exists() and not Movement.objects.exists()


def test_a_recall_reason_longer_than_kept_is_refused_not_cut_short(officer, cabinet, paracetamol):
    lot = receive(officer, cabinet, paracetamol, "20")
    response = _logged_in(officer).post(
        "/cabinet/recall/", {"lot": lot.pk, "reason": "x" * 301}, HTTP_ACCEPT_LANGUAGE="da"
    )
    assert response.status_code == 400
    assert "højst 300 tegn" in response.content.decode()
    lot.refresh_from_db()
    assert lot.recalled_at is None and lot.recall_reason == ""
    with pytest.raises(InvalidInput) as caught:
        services.lot_recall(actor=actor(officer), lot=lot, reason="y" * 301)
    assert caught.value.code == "recall.reason_too_long"


def test_the_count_sheet_does_not_count_another_acute_functions_lot(
    officer, cabinet, paracetamol, other_lot
):
    _their_officer, theirs = other_lot
    ours = receive(officer, cabinet, paracetamol, "20")
    count = services.count_start(actor=actor(officer), location=cabinet)
    response = _logged_in(officer).post(
        f"/cabinet/counts/{count.pk}/do/",
        {"action": "save", f"lot_{ours.pk}": "20", f"lot_{theirs.pk}": "3"},
    )
    # Answered as a lot that does not exist at all.
    missing = _logged_in(officer).post(
        f"/cabinet/counts/{count.pk}/do/",
        {"action": "save", f"lot_{ours.pk}": "20", "lot_999999": "3"},
    )
    assert response.status_code == missing.status_code == 400
    assert not CountLine.objects.exists()
    with pytest.raises(NotFoundOrNotAllowed):
        services.count_record(actor=actor(officer), count=count, lot=theirs, quantity=Decimal(3))
