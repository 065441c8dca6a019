"""§4 by the rules, not only by the formulary's mark: a medicine whose ATC code
the rules name dependence-forming moves only with a witness and is given only
against a written order, even when its formulary line was saved before the
rules named it; and the witness is someone whose role is in force (R8)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from acute.clinical.models import MedicationOrder
from core.models import Role
from medicine_cabinet import services
from medicine_cabinet.models import Administration, Medicine, Movement
from tests import factories as f
from tests.medicine_cabinet.conftest import (
    actor,
    denied_audited,
    order_for,
    receive,
    visit_for,
)

pytestmark = pytest.mark.django_db

LISTED_LATER = ["N02AA01", "N05CD08", "N02AB03"]


@pytest.fixture
def fentanyl() -> Medicine:
    """A formulary line saved while the rules did not yet name fentanyl §4."""
    return services.medicine_upsert(
        atc_code="N02AB03",
        name="Fentanyl",
        strength="50 mikrog/mL, 2 mL",
        form="solution for injection",
        unit="ampoule",
        package_size=Decimal("5"),
        dispensing=Medicine.Dispensing.PRESCRIPTION,
        dependence_forming=False,
        minimum_stock=Decimal("0"),
    )


def _witness(membership) -> dict[str, str]:
    return {"username": membership.user.username, "password": f.PASSWORD}


def test_a_line_the_rules_name_dependence_forming_later_needs_a_witness_on_every_door(
    settings, officer, nurse, nurse2, cabinet, bag, fentanyl
):
    lot = receive(officer, cabinet, fentanyl, "10")  # before the rules named it
    services.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=cabinet,
        destination=bag,
        quantity=Decimal("3"),
        unit="ampoule",
    )
    settings.CLINICAL_DEPENDENCE_FORMING_ATC = LISTED_LATER
    booked = Movement.objects.count()

    officer_api, nurse_api = f.client_for(officer), f.client_for(nurse)
    medicines = officer_api.get("/api/cabinet/medicines").json()["medicines"]
    assert next(m for m in medicines if m["id"] == fentanyl.pk)["dependence_forming"] is True

    receipt = {
        "cabinet": cabinet.pk,
        "medicine": fentanyl.pk,
        "batch_number": "F2",
        "expires_on": (timezone.localdate() + dt.timedelta(days=300)).isoformat(),
        "quantity": "5",
        "unit": "ampoule",
        "supplier": "Apoteket",
        "delivery_reference": "D-F2",
    }
    transfer = {
        "lot": lot.pk,
        "from_location": cabinet.pk,
        "to_location": bag.pk,
        "quantity": "1",
        "unit": "ampoule",
    }
    back = {**transfer, "from_location": bag.pk, "to_location": cabinet.pk}
    waste = {
        "location": bag.pk,
        "lot": lot.pk,
        "quantity": "1",
        "unit": "ampoule",
        "reason_code": "dropped",
    }
    for client, url, body in (
        (officer_api, "/api/cabinet/receipts", receipt),
        (nurse_api, "/api/cabinet/transfers", transfer),
        (nurse_api, "/api/cabinet/transfers", back),
        (nurse_api, "/api/cabinet/waste", waste),
    ):
        refused = client.post(url, body, format="json")
        assert refused.status_code == 400, (url, refused.content)
        assert refused.json()["error"]["code"] == "witness.required"
    assert Movement.objects.count() == booked

    witnessed = nurse_api.post(
        "/api/cabinet/transfers", {**transfer, "witness": _witness(nurse2)}, format="json"
    )
    assert witnessed.status_code == 201, witnessed.content
    assert set(
        Movement.objects.filter(kind="to_bag", witness=nurse2.user).values_list(
            "balance_before", "balance_after"
        )
    ) == {(Decimal("7"), Decimal("6")), (Decimal("3"), Decimal("4"))}


def test_a_line_the_rules_name_dependence_forming_later_is_not_given_on_a_phone_order(
    settings, officer, nurse, nurse2, cabinet, bag, fentanyl
):
    lot = receive(officer, cabinet, fentanyl, "10")
    services.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=cabinet,
        destination=bag,
        quantity=Decimal("2"),
        unit="ampoule",
    )
    citizen = f.citizen(municipality_code="159")
    visit = visit_for(nurse, citizen)
    # Taken by phone while fentanyl was not yet §4.
    phone = order_for(nurse, citizen, fentanyl, visit=visit, dose_unit="ampoule")
    assert phone.kind == MedicationOrder.Kind.PHONE and not phone.dependence_forming
    settings.CLINICAL_DEPENDENCE_FORMING_ATC = LISTED_LATER

    body = {
        "visit": visit.pk,
        "order": phone.pk,
        "medicine": fentanyl.pk,
        "quantity": "1",
        "unit": "ampoule",
        "witness": _witness(nurse2),
    }
    refused = f.client_for(nurse).post("/api/cabinet/administrations", body, format="json")
    assert refused.status_code == 412, refused.content
    assert refused.json()["error"]["code"] == "order.written_required"
    assert denied_audited(citizen, "order.written_required")
    assert not Administration.objects.exists()
    assert not Movement.objects.filter(kind="administered").exists()

    written = order_for(nurse, citizen, fentanyl, kind="written", visit=visit, dose_unit="ampoule")
    no_witness = {k: v for k, v in body.items() if k != "witness"} | {"order": written.pk}
    refused = f.client_for(nurse).post("/api/cabinet/administrations", no_witness, format="json")
    assert refused.status_code == 400, refused.content
    assert refused.json()["error"]["code"] == "witness.required"
    given = f.client_for(nurse).post(
        "/api/cabinet/administrations", {**body, "order": written.pk}, format="json"
    )
    assert given.status_code == 201, given.content
    assert Administration.objects.get().witness == nurse2.user


def test_the_nurses_page_asks_for_a_witness_for_a_line_the_rules_name_later(settings):
    from tests.medicine_cabinet.conftest import on_the_nurses_page

    visit, client, medicine, _bag, _lot = on_the_nurses_page(
        atc="N02AB03",
        name="Fentanyl",
        strength="50 mikrog/mL, 2 mL",
        form="solution for injection",
        unit="ampoule",
    )
    assert not medicine.dependence_forming
    order_for(
        f.staff(Role.ACUTE_NURSE, visit.shift.acute_function),
        visit.citizen,
        medicine,
        kind="written",
        visit=visit,
        dose_unit="ampoule",
    )
    settings.CLINICAL_DEPENDENCE_FORMING_ATC = LISTED_LATER
    page = client.get(f"/nurse/visits/{visit.pk}/")
    assert page.status_code == 200
    assert 'name="witness_username"' in page.content.decode()


def test_a_witness_whose_role_has_ended_does_not_witness(
    officer, nurse, nurse2, cabinet, bag, morphine
):
    lot = receive(officer, cabinet, morphine, "10", witness=nurse2.user)
    nurse2.valid_until = timezone.now() - dt.timedelta(hours=1)
    nurse2.save(update_fields=["valid_until"])
    booked = Movement.objects.count()
    refused = f.client_for(nurse).post(
        "/api/cabinet/transfers",
        {
            "lot": lot.pk,
            "from_location": cabinet.pk,
            "to_location": bag.pk,
            "quantity": "1",
            "unit": "ampoule",
            "witness": _witness(nurse2),
        },
        format="json",
    )
    assert refused.status_code == 400, refused.content
    assert refused.json()["error"]["code"] == "witness.not_eligible"
    assert Movement.objects.count() == booked


def test_the_nurse_is_not_her_own_witness_under_another_spelling_or_role(
    acute, officer, nurse, cabinet, bag, morphine
):
    lot = receive(officer, cabinet, morphine, "10", witness=nurse.user)
    # The same person also holds the officer's role at the acute function.
    nurse.user.memberships.create(organisation=acute, role=Role.MEDICINE_OFFICER)
    body = {
        "lot": lot.pk,
        "from_location": cabinet.pk,
        "to_location": bag.pk,
        "quantity": "1",
        "unit": "ampoule",
    }
    client = f.client_for(nurse)
    for username in (nurse.user.username, nurse.user.username.upper(), f" {nurse.user.username}"):
        refused = client.post(
            "/api/cabinet/transfers",
            {**body, "witness": {"username": username, "password": f.PASSWORD}},
            format="json",
        )
        assert refused.status_code == 400, (username, refused.content)
        assert refused.json()["error"]["code"] in {
            "witness.same_person",
            "witness.invalid_credentials",
        }
    assert not Movement.objects.filter(kind="to_bag").exists()


def test_the_admin_does_not_move_a_lines_stock_under_another_atc_code(
    officer, nurse, cabinet, morphine
):
    """Renamed to a code the rules do not name and unmarked, morphine's
    ampoules in the cabinet would move without a witness."""
    from medicine_cabinet.admin import MedicineForm

    receive(officer, cabinet, morphine, "10", witness=nurse.user)
    fields = {
        "atc_code": "N02AA05",
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
    renamed = MedicineForm(data=fields, instance=morphine)
    assert not renamed.is_valid()
    assert "atc_code" in renamed.errors
    recounted = MedicineForm(
        data={**fields, "atc_code": "N02AA01", "dependence_forming": "on", "unit": "mL"},
        instance=morphine,
    )
    assert not recounted.is_valid()
    assert "unit" in recounted.errors
    morphine.refresh_from_db()
    assert (morphine.atc_code, morphine.unit, morphine.dependence_forming) == (
        "N02AA01",
        "ampoule",
        True,
    )
    kept = MedicineForm(
        data={**fields, "atc_code": "N02AA01", "dependence_forming": "on", "name": "Morfin SAD"},
        instance=morphine,
    )
    assert kept.is_valid(), kept.errors


def test_a_count_adjustment_is_signed_by_a_counter_whose_role_is_in_force(
    officer, nurse, nurse2, cabinet, morphine, paracetamol
):
    """The nurse who counted a §4 shortfall signs its adjustment; when her
    role has ended before the officer approves, another witness signs. A
    plain medicine's line needs no witness and is booked without one."""
    from medicine_cabinet.models import CountReason, StockCount

    ampoules = receive(officer, cabinet, morphine, "5", witness=nurse2.user)
    tablets = receive(officer, cabinet, paracetamol, "20")
    count = services.count_start(actor=actor(nurse), location=cabinet)
    for lot, found in ((ampoules, "4"), (tablets, "19")):
        line = services.count_record(
            actor=actor(nurse), count=count, lot=lot, quantity=Decimal(found)
        )
        services.count_recount(
            actor=actor(nurse),
            line=line,
            quantity=Decimal(found),
            reason_code=CountReason.BREAKAGE,
        )
    services.count_submit(actor=actor(nurse), count=count)
    nurse.valid_until = timezone.now() - dt.timedelta(minutes=5)
    nurse.save(update_fields=["valid_until"])

    client = f.client_for(officer)
    refused = client.post(f"/api/cabinet/counts/{count.pk}/approve", {}, format="json")
    assert refused.status_code == 400, refused.content
    assert refused.json()["error"]["code"] == "witness.not_eligible"
    assert StockCount.objects.get(pk=count.pk).status == StockCount.Status.SUBMITTED
    assert not Movement.objects.filter(kind="count_adjustment").exists()

    approved = client.post(
        f"/api/cabinet/counts/{count.pk}/approve", {"witness": _witness(nurse2)}, format="json"
    )
    assert approved.status_code == 200, approved.content
    adjustments = {
        m.lot_id: m for m in Movement.objects.filter(kind="count_adjustment", stock_count=count)
    }
    assert adjustments[ampoules.pk].witness == nurse2.user
    assert (adjustments[ampoules.pk].balance_before, adjustments[ampoules.pk].balance_after) == (
        Decimal("5"),
        Decimal("4"),
    )
    assert (adjustments[tablets.pk].balance_before, adjustments[tablets.pk].balance_after) == (
        Decimal("20"),
        Decimal("19"),
    )


def _officer_logged_in(officer):
    from django.test import Client

    client = Client()
    assert f.log_in(client, officer).status_code == 302
    return client


def test_the_officer_receives_a_dependence_forming_delivery_on_her_page_with_a_witness(
    officer, nurse2, cabinet, morphine
):
    client = _officer_logged_in(officer)
    form = {
        "cabinet": cabinet.pk,
        "medicine": morphine.pk,
        "batch_number": "M-1",
        "expires_on": str(timezone.localdate() + dt.timedelta(days=200)),
        "quantity": "10",
        "supplier": "Apoteket",
        "delivery_reference": "D-M1",
    }
    page = client.get("/cabinet/").content.decode()
    assert 'name="witness_username"' in page and 'name="witness_password"' in page
    refused = client.post("/cabinet/receive/", form)
    assert refused.status_code == 400
    assert 'data-code="witness.required"' in refused.content.decode()
    wrong = client.post(
        "/cabinet/receive/",
        {**form, "witness_username": nurse2.user.username, "witness_password": "guess"},
    )
    assert wrong.status_code == 400
    assert 'data-code="witness.invalid_credentials"' in wrong.content.decode()
    assert "guess" not in wrong.content.decode()
    assert f'value="{nurse2.user.username}"' in wrong.content.decode()  # kept, not the password
    assert not Movement.objects.exists()
    received = client.post(
        "/cabinet/receive/",
        {**form, "witness_username": nurse2.user.username, "witness_password": f.PASSWORD},
    )
    assert received.status_code == 302
    movement = Movement.objects.get(kind="received")
    assert movement.witness == nurse2.user and movement.by == officer.user
    assert (movement.balance_before, movement.balance_after) == (Decimal("0"), Decimal("10"))


def test_the_officer_approves_her_own_count_of_a_dependence_forming_lot_with_a_witness(
    officer, nurse2, cabinet, morphine
):
    from medicine_cabinet.models import StockCount

    lot = receive(officer, cabinet, morphine, "5", witness=nurse2.user)
    client = _officer_logged_in(officer)
    client.post("/cabinet/counts/start/", {"location": cabinet.pk})
    count = StockCount.objects.get(location=cabinet)
    client.post(f"/cabinet/counts/{count.pk}/do/", {"action": "save", f"lot_{lot.pk}": "4"})
    line = count.lines.get()
    client.post(
        f"/cabinet/counts/{count.pk}/do/",
        {"action": "submit", f"recount_{line.pk}": "4", f"reason_{line.pk}": "breakage"},
    )
    count.refresh_from_db()
    assert count.status == StockCount.Status.SUBMITTED
    page = client.get(f"/cabinet/counts/{count.pk}/").content.decode()
    assert 'name="witness_username"' in page
    refused = client.post(f"/cabinet/counts/{count.pk}/do/", {"action": "approve"})
    assert refused.status_code == 400
    assert 'data-code="witness.required"' in refused.content.decode()
    approved = client.post(
        f"/cabinet/counts/{count.pk}/do/",
        {
            "action": "approve",
            "witness_username": nurse2.user.username,
            "witness_password": f.PASSWORD,
        },
    )
    assert approved.status_code == 302
    adjustment = Movement.objects.get(kind="count_adjustment")
    assert adjustment.witness == nurse2.user
    assert (adjustment.balance_before, adjustment.balance_after) == (Decimal("5"), Decimal("4"))


def test_recalled_and_expired_dependence_forming_stock_leaves_only_with_a_witness(
    officer, nurse, nurse2, cabinet, bag, morphine
):
    from medicine_cabinet.models import Lot

    recalled = receive(officer, cabinet, morphine, "6", batch="R1", witness=nurse2.user)
    expired = receive(officer, cabinet, morphine, "4", batch="E1", witness=nurse2.user)
    services.stock_transfer(
        actor=actor(nurse),
        lot=recalled,
        source=cabinet,
        destination=bag,
        quantity=Decimal("2"),
        unit="ampoule",
        witness=nurse2.user,
    )
    officer_api, nurse_api = f.client_for(officer), f.client_for(nurse)
    assert (
        officer_api.post(
            f"/api/cabinet/lots/{recalled.pk}/recall", {"reason": "Producent"}, format="json"
        ).status_code
        == 200
    )
    Lot.objects.filter(pk=expired.pk).update(expires_on=timezone.localdate() - dt.timedelta(days=1))
    booked = Movement.objects.count()
    back = {
        "lot": recalled.pk,
        "from_location": bag.pk,
        "to_location": cabinet.pk,
        "quantity": "2",
        "unit": "ampoule",
    }
    removals = (
        (officer_api, {"location": cabinet.pk, "lot": recalled.pk, "why": "recalled"}),
        (officer_api, {"location": cabinet.pk, "lot": expired.pk, "why": "expired"}),
    )
    for client, url, body in (
        (nurse_api, "/api/cabinet/transfers", back),
        *((c, "/api/cabinet/removals", b) for c, b in removals),
    ):
        refused = client.post(url, body, format="json")
        assert refused.status_code == 400, (url, refused.content)
        assert refused.json()["error"]["code"] == "witness.required"
    assert Movement.objects.count() == booked

    signed = {"witness": _witness(nurse2)}
    assert nurse_api.post("/api/cabinet/transfers", back | signed, format="json").status_code == 201
    for client, body in removals:
        done = client.post("/api/cabinet/removals", body | signed, format="json")
        assert done.status_code == 201, done.content
    out = {
        m.lot_id: (m.kind, m.balance_before, m.balance_after, m.witness_id)
        for m in Movement.objects.filter(kind__in=["recalled", "expired"])
    }
    assert out == {
        recalled.pk: ("recalled", Decimal("6"), Decimal("0"), nurse2.user.pk),
        expired.pk: ("expired", Decimal("4"), Decimal("0"), nurse2.user.pk),
    }
