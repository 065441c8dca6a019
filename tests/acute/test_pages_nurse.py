"""The nurse's visit page beyond the basics: procedures and delegations (R7),
the §4 witness when she gives from her bag (R8), her position for the
coordinator's map, warnings about her own visits, and re-sent forms from the
tablet that are received once."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone

from acute.clinical import services as clinical_services
from acute.clinical.models import Delegation, PhysicianAlert, ProcedureRecord
from acute.models import DeadlineWarning, NurseShift, Visit, VisitNote, VisitSubmission
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.models import Role
from medicine_cabinet import services as cabinet
from medicine_cabinet.models import Administration, Medicine
from tests import factories
from tests.acute.test_pages import _assigned, _login, _walk_to_site

pytestmark = pytest.mark.django_db

DELEGATION = {
    "code": "urine-dipstick",
    "physician_name": "Læge Hansen",
    "physician_authorisation_id": "ABC12",
    "physician_organisation_name": "Lægehuset",
    "note": "Urinstix ved mistanke om UVI",
}


def _on_site():
    nurse, shift, visit = _assigned()
    client = _login(nurse)
    _walk_to_site(client, visit)
    return nurse, shift, visit, client


# --- procedures and delegations (R7) ---------------------------------------------


def test_predefined_procedure_is_recorded_from_the_visit_page():
    _nurse, _shift, visit, client = _on_site()
    html = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert f'action="/nurse/visits/{visit.pk}/procedure/"' in html
    assert 'value="urinary-catheter"' in html
    # Not delegated yet: the dipstick is not offered as a procedure.
    assert (
        '<option value="urine-dipstick">'
        not in html.split('id="proc-code"')[1].split("</select>")[0]
    )

    response = client.post(
        f"/nurse/visits/{visit.pk}/procedure/",
        {"code": "urinary-catheter", "status": "completed", "note": "KAD CH14"},
    )
    assert response.status_code == 302
    procedure = ProcedureRecord.objects.get(visit=visit)
    assert procedure.test.code == "urinary-catheter" and procedure.delegation is None
    assert procedure.note == "KAD CH14"
    assert AuditEntry.objects.filter(
        resource_type="Procedure", resource_id=str(procedure.pk), outcome="permitted"
    ).exists()
    assert 'id="procedures"' in client.get(f"/nurse/visits/{visit.pk}/").content.decode()


def test_procedure_outside_r7_is_refused_until_a_delegation_is_recorded_then_done_under_it():
    _nurse, _shift, visit, client = _on_site()
    refused = client.post(f"/nurse/visits/{visit.pk}/procedure/", {"code": "urine-dipstick"})
    assert refused.status_code == 403
    assert 'data-code="clinical.delegation_required"' in refused.content.decode()
    assert not ProcedureRecord.objects.filter(visit=visit).exists()
    assert AuditEntry.objects.filter(
        resource_type="Procedure", outcome="denied", reason_code="clinical.delegation_required"
    ).exists()

    assert client.post(f"/nurse/visits/{visit.pk}/delegation/", DELEGATION).status_code == 302
    delegation = Delegation.objects.get(visit=visit)
    assert delegation.test.code == "urine-dipstick"
    assert delegation.physician_authorisation_id == "ABC12"
    html = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert 'data-delegation="urine-dipstick"' in html and "Læge Hansen" in html

    done = client.post(f"/nurse/visits/{visit.pk}/procedure/", {"code": "urine-dipstick"})
    assert done.status_code == 302
    assert ProcedureRecord.objects.get(visit=visit).delegation_id == delegation.pk


def test_predefined_task_cannot_be_delegated_and_a_bad_procedure_code_is_a_400():
    _nurse, _shift, visit, client = _on_site()
    response = client.post(
        f"/nurse/visits/{visit.pk}/delegation/", {**DELEGATION, "code": "urinary-catheter"}
    )
    assert response.status_code == 400
    assert 'data-code="delegation.not_required"' in response.content.decode()
    unknown = client.post(f"/nurse/visits/{visit.pk}/procedure/", {"code": "appendectomy"})
    assert unknown.status_code == 400
    assert 'data-code="catalogue.unknown"' in unknown.content.decode()
    assert not Delegation.objects.exists() and not ProcedureRecord.objects.exists()


def test_another_nurse_cannot_record_a_procedure_or_delegation_on_the_visit():
    _nurse, _shift, visit, _client = _on_site()
    other, _ = factories.acute_nurse_on_shift()
    client = _login(other)
    for path, data in (("procedure", {"code": "urinary-catheter"}), ("delegation", DELEGATION)):
        response = client.post(f"/nurse/visits/{visit.pk}/{path}/", data)
        assert response.status_code == 403
        assert "Ikke tilgængelig" in response.content.decode()
    assert not ProcedureRecord.objects.exists() and not Delegation.objects.exists()


def test_procedure_and_delegation_pages_are_refused_to_other_roles():
    _nurse, _shift, visit, _client = _on_site()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    client = _login(coordinator)
    for path in ("procedure", "delegation"):
        assert client.post(f"/nurse/visits/{visit.pk}/{path}/", DELEGATION).status_code == 403
    assert not ProcedureRecord.objects.exists() and not Delegation.objects.exists()


# --- §4: the witness signs with her own credentials (R8) ---------------------------


def _morphine_in_bag(nurse, witness):
    """Morphine (§4) received into the cabinet and moved to the nurse's bag, each
    movement witnessed; a written order for it on the visit comes separately."""
    organisation = nurse.organisation
    officer = factories.staff(Role.MEDICINE_OFFICER, organisation)
    morphine = cabinet.medicine_upsert(
        atc_code="N02AA01",
        name="Morfin",
        strength="10 mg/mL, 1 mL",
        form="solution for injection",
        unit="ampoule",
        package_size=Decimal("10"),
        dispensing=Medicine.Dispensing.PRESCRIPTION,
        dependence_forming=True,
        minimum_stock=Decimal("2"),
    )
    cab = cabinet.cabinet_create(organisation=organisation, name="Skab 1")
    bag = cabinet.bag_for_nurse(organisation=organisation, nurse=nurse.user)
    lot = cabinet.stock_receive(
        actor=Actor.for_membership(officer),
        cabinet=cab,
        medicine=morphine,
        batch_number="M-1",
        expires_on=timezone.localdate() + dt.timedelta(days=200),
        quantity=Decimal("10"),
        unit="ampoule",
        supplier="Apoteket",
        delivery_reference="D-M-1",
        witness=witness.user,
    ).lot
    cabinet.stock_transfer(
        actor=Actor.for_membership(nurse),
        lot=lot,
        source=cab,
        destination=bag,
        quantity=Decimal("2"),
        unit="ampoule",
        witness=witness.user,
    )
    return morphine, lot


def _written_morphine_order(visit):
    physician = factories.staff(Role.PHYSICIAN, factories.gp_practice())
    physician.user.authorisation_id = "XYZ98"
    physician.user.save(update_fields=["authorisation_id"])
    return clinical_services.written_order_record(
        actor=Actor.for_membership(physician),
        visit=visit,
        details=clinical_services.OrderDetails(
            medicine_atc="N02AA01",
            medicine_name="Morfin",
            dose="5",
            dose_unit="mg",
            route="subcutaneous",
            frequency="once",
            duration="single dose",
            indication="Smerter",
        ),
    )


def _section_four_visit():
    nurse, _shift, visit, client = _on_site()
    # A colleague on her shift signs for the §4 dose (docs/cabinet.md).
    witness, _witness_shift = factories.acute_nurse_on_shift()
    morphine, lot = _morphine_in_bag(nurse, witness)
    order = _written_morphine_order(visit)
    return nurse, visit, client, witness, morphine, lot, order


def _give(client, visit, order, morphine, quantity="0.5", **witness):
    """Half an ampoule of 10 mg: the 5 mg the physician ordered."""
    return client.post(
        f"/nurse/visits/{visit.pk}/give/",
        {
            "order_id": order.pk,
            "medicine_id": morphine.pk,
            "quantity": quantity,
            "unit": "ampoule",
            **witness,
        },
    )


def test_section_four_dose_asks_for_the_witness_and_is_given_with_her_credentials():
    _nurse, visit, client, witness, morphine, lot, order = _section_four_visit()
    html = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert 'name="witness_username"' in html and 'type="password"' in html
    assert "Bekræftet af lægen" in html  # the order's status, in Danish

    response = _give(
        client,
        visit,
        order,
        morphine,
        witness_username=witness.user.username,
        witness_password=factories.PASSWORD,
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    administration = Administration.objects.get(order=order)
    assert administration.witness_id == witness.user.pk
    assert administration.lot_id == lot.pk
    assert administration.movement.witness_id == witness.user.pk


def test_section_four_dose_with_a_wrong_witness_password_is_refused_clearly_and_nothing_moves():
    _nurse, visit, client, witness, morphine, _lot, order = _section_four_visit()
    response = _give(
        client,
        visit,
        order,
        morphine,
        witness_username=witness.user.username,
        witness_password="not-her-password",
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-code="witness.invalid_credentials"' in html
    assert "not-her-password" not in html
    assert not Administration.objects.exists()


def test_section_four_dose_refused_for_the_witness_is_a_denied_attempt_on_the_citizen():
    """R9: on the page and from the tablet's offline queue alike, a wrong
    witness password (or none) is audited on the citizen's record."""
    _nurse, visit, client, witness, morphine, _lot, order = _section_four_visit()
    online = _give(
        client,
        visit,
        order,
        morphine,
        witness_username=witness.user.username,
        witness_password="not-her-password",
    )
    assert online.status_code == 400
    assert "Vidnets brugernavn eller adgangskode er forkert" in online.content.decode()
    missing = _give(client, visit, order, morphine)
    assert missing.status_code == 400
    queued = _give_on_page(
        client,
        visit,
        order,
        morphine,
        "0.5",
        headers={"HTTP_X_OFFLINE_SEND": "1", "HTTP_X_OFFLINE_REPLAY": "1"},
        client_ref="dose-witness-01",
        given_offline_at=timezone.now().isoformat(),
        witness_username=witness.user.username,
        witness_password="still-not-hers",
    )
    assert queued.status_code == 400
    assert queued.json()["error"]["code"] == "witness.invalid_credentials"
    denied = AuditEntry.objects.filter(
        citizen_id=visit.citizen_id,
        outcome="denied",
        resource_type="MedicationAdministration",
    )
    assert denied.filter(reason_code="witness.invalid_credentials").count() == 2
    assert denied.filter(reason_code="witness.required").count() == 1
    assert not Administration.objects.exists()


def test_section_four_dose_without_a_witness_or_with_herself_as_witness_is_refused():
    nurse, visit, client, _witness, morphine, _lot, order = _section_four_visit()
    missing = _give(client, visit, order, morphine)
    assert missing.status_code == 400
    assert 'data-code="witness.required"' in missing.content.decode()
    herself = _give(
        client,
        visit,
        order,
        morphine,
        witness_username=nurse.user.username,
        witness_password=factories.PASSWORD,
    )
    assert herself.status_code == 400
    assert 'data-code="witness.same_person"' in herself.content.decode()
    assert not Administration.objects.exists()


def test_section_four_dose_beyond_the_written_order_is_refused_and_nothing_moves():
    """R8: a whole 10 mg ampoule against a written order of 5 mg is more than ordered."""
    _nurse, visit, client, witness, morphine, _lot, order = _section_four_visit()
    response = _give(
        client,
        visit,
        order,
        morphine,
        quantity="1",
        witness_username=witness.user.username,
        witness_password=factories.PASSWORD,
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert 'data-code="order.limit_exceeded"' in html
    assert f"nr. {order.pk}" in html and "tillader kun 5 mg mere" in html
    assert not Administration.objects.exists()
    assert AuditEntry.objects.filter(
        citizen_id=visit.citizen_id, outcome="denied", reason_code="order.limit_exceeded"
    ).exists()


# --- the order as a limit on the dose form (R8) ---------------------------------


def _prescribed(*, atc, name, strength, form, unit):
    """A prescription medicine in the formulary, not dependence-forming."""
    return cabinet.medicine_upsert(
        atc_code=atc,
        name=name,
        strength=strength,
        form=form,
        unit=unit,
        package_size=Decimal("10"),
        dispensing=Medicine.Dispensing.PRESCRIPTION,
        dependence_forming=False,
        minimum_stock=Decimal("0"),
    )


def _stocked(nurse, *, atc, name, strength, form, unit, quantity="5"):
    """A medicine received into the cabinet and moved to the nurse's bag."""
    organisation = nurse.organisation
    officer = factories.staff(Role.MEDICINE_OFFICER, organisation)
    medicine = _prescribed(atc=atc, name=name, strength=strength, form=form, unit=unit)
    cab = cabinet.cabinet_create(organisation=organisation, name=f"Skab {atc}")
    bag = cabinet.bag_for_nurse(organisation=organisation, nurse=nurse.user)
    lot = cabinet.stock_receive(
        actor=Actor.for_membership(officer),
        cabinet=cab,
        medicine=medicine,
        batch_number=f"{atc}-1",
        expires_on=timezone.localdate() + dt.timedelta(days=200),
        quantity=Decimal("10"),
        unit=unit,
        supplier="Apoteket",
        delivery_reference=f"D-{atc}",
    ).lot
    cabinet.stock_transfer(
        actor=Actor.for_membership(nurse),
        lot=lot,
        source=cab,
        destination=bag,
        quantity=Decimal(quantity),
        unit=unit,
    )
    return medicine, bag, lot


def _phone_order_on_page(client, visit, **what):
    response = client.post(
        f"/nurse/visits/{visit.pk}/order/",
        {
            "ordered_by_name": "Læge Hansen",
            "ordered_by_authorisation_id": "ABC12",
            "ordered_by_organisation_name": "Lægevagten",
            "route": "intravenøst",
            "indication": "Lungeødem",
            "read_back": "on",
            "read_back_confirmed": "on",
            **what,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    from acute.clinical.models import MedicationOrder

    return MedicationOrder.objects.filter(visit=visit).latest("pk")


def _allowance_block(html: str, order) -> str:
    found = re.search(
        rf'<dl class="facts order-allowance" id="allowance-{order.pk}">(.*?)</dl>', html, re.S
    )
    assert found, "the dose form shows no allowance for the order"
    return found.group(1)


def _give_on_page(client, visit, order, medicine, quantity, *, headers=None, **extra):
    return client.post(
        f"/nurse/visits/{visit.pk}/give/",
        {
            "order_id": order.pk,
            "medicine_id": medicine.pk,
            "quantity": quantity,
            "unit": medicine.unit,
            **extra,
        },
        **(headers or {}),
    )


def test_r8_the_dose_form_shows_what_remains_and_a_second_furosemide_dose_is_refused():
    """The issue's case on the nurse's page: 1 ampoule ordered by phone, given;
    the form then shows nothing left, and 3 more ampoules are refused."""
    _nurse, _shift, visit, client = _on_site()
    furosemide, bag, lot = _stocked(
        _nurse,
        atc="C03CA01",
        name="Furosemid",
        strength="10 mg/mL, 4 mL",
        form="solution for injection",
        unit="ampoule",
    )
    order = _phone_order_on_page(
        client,
        visit,
        medicine_atc="C03CA01",
        medicine_name="Furosemid",
        dose="1",
        dose_unit="ampoule",
        frequency="én gang",
        duration="engangsdosis",
    )
    assert order.total_quantity == 1
    before = _allowance_block(client.get(f"/nurse/visits/{visit.pk}/").content.decode(), order)
    assert "Tilbage at give nu" in before
    assert '<strong class="remaining">1 ampoule</strong>' in before

    assert _give_on_page(client, visit, order, furosemide, "1").status_code == 302
    page = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert '<strong class="remaining">0 ampoule</strong>' in _allowance_block(page, order)
    assert "Alt, hvad ordinationen tillader, er givet" in page

    refused = _give_on_page(client, visit, order, furosemide, "3")
    assert refused.status_code == 409
    html = refused.content.decode()
    assert 'data-code="order.limit_exceeded"' in html
    assert f"Ordinationen på Furosemid (nr. {order.pk}) tillader kun 0 amp. mere" in html
    assert Administration.objects.filter(order=order).count() == 1
    from medicine_cabinet.models import Balance

    assert Balance.objects.get(location=bag, lot=lot).quantity == 4


def test_r8_a_500_mg_tablet_against_1000_mg_is_warned_on_the_page_and_given_when_confirmed():
    _nurse, _shift, visit, client = _on_site()
    paracetamol, _bag, _lot = _stocked(
        _nurse, atc="N02BE01", name="Paracetamol", strength="500 mg", form="tablet", unit="tablet"
    )
    order = _phone_order_on_page(
        client,
        visit,
        medicine_atc="N02BE01",
        medicine_name="Paracetamol",
        dose="1000",
        dose_unit="mg",
        route="oral",
        frequency="4 gange dagligt",
        duration="3 dage",
        indication="Smerter",
    )
    before = _allowance_block(client.get(f"/nurse/visits/{visit.pk}/").content.decode(), order)
    assert "én dosis er 2 tabl." in before and "højst 4000 mg pr. døgn" in before

    warned = _give_on_page(client, visit, order, paracetamol, "1")
    assert warned.status_code == 412
    html = warned.content.decode()
    assert 'data-code="administration.dose_mismatch"' in html
    assert "1 tabl. er 500 mg, men ordinationen på Paracetamol" in html
    assert f'id="confirm-{order.pk}"' in html and 'name="confirm_mismatch"' in html
    assert 'name="confirmed_dose" value="500"' in html
    assert not Administration.objects.exists()

    # Not ticked: still only the warning.
    unticked = _give_on_page(client, visit, order, paracetamol, "1", confirmed_dose="500")
    assert unticked.status_code == 412 and not Administration.objects.exists()

    confirmed = _give_on_page(
        client, visit, order, paracetamol, "1", confirmed_dose="500", confirm_mismatch="on"
    )
    assert confirmed.status_code == 302, confirmed.content.decode()[:2000]
    given = Administration.objects.get(order=order)
    assert given.dose_mismatch == "amount" and given.mismatch_confirmed
    assert given.order_amount == 500
    page = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    left = _allowance_block(page, order)  # 4000 mg a day, 500 mg of it given
    assert '<strong class="remaining">3500 mg</strong> (7 tabl.) · inden for døgnet' in left


def test_r8_a_dose_that_cannot_be_converted_asks_her_for_the_amount_she_gives():
    """Metoclopramide 5 mg/mL without the ampoule's volume: an ampoule cannot be
    turned into mg, so she states the mg she gives, and that is counted."""
    _nurse, _shift, visit, client = _on_site()
    medicine, _bag, _lot = _stocked(
        _nurse,
        atc="A03FA01",
        name="Metoclopramid",
        strength="5 mg/mL",
        form="solution for injection",
        unit="ampoule",
    )
    order = _phone_order_on_page(
        client,
        visit,
        medicine_atc="A03FA01",
        medicine_name="Metoclopramid",
        dose="10",
        dose_unit="mg",
        frequency="once",
        duration="single dose",
        indication="Kvalme",
    )
    page = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert "En dosis i amp. kan ikke omregnes til mg" in page

    warned = _give_on_page(client, visit, order, medicine, "1")
    assert warned.status_code == 412
    html = warned.content.decode()
    assert "kan ikke sammenlignes med ordinationen på Metoclopramid" in html
    assert f'id="give-c-{order.pk}" name="confirmed_dose"' in html
    given = _give_on_page(
        client, visit, order, medicine, "1", confirmed_dose="10", confirm_mismatch="on"
    )
    assert given.status_code == 302, given.content.decode()[:2000]
    administration = Administration.objects.get(order=order)
    assert administration.dose_mismatch == "unit" and administration.order_amount == 10


# --- her position for the coordinator's map ------------------------------------


def _stale(shift: NurseShift) -> None:
    NurseShift.objects.filter(pk=shift.pk).update(
        position_at=timezone.now() - dt.timedelta(minutes=5)
    )


def _marker(board: str, name: str) -> tuple[str, str]:
    """The (cx, cy) of the nurse's circle on the board's map."""
    found = re.search(
        r'<circle class="nurse[^"]*" cx="([^"]+)" cy="([^"]+)" r="12"><title>'
        + re.escape(name)
        + "</title>",
        board,
    )
    assert found, "the nurse is not on the map"
    return found.group(1), found.group(2)


def test_tablet_reports_position_throttled_and_the_board_map_shows_it():
    nurse, shift = factories.acute_nurse_on_shift()
    _stale(shift)
    coordinator = _login(factories.staff(Role.COORDINATOR, factories.acute_function()))
    before = _marker(coordinator.get("/coordinator/").content.decode(), nurse.user.display_name)

    client = _login(nurse)
    first = client.post("/nurse/shift/position/", {"latitude": "55.8201", "longitude": "12.4702"})
    assert first.status_code == 200 and first.json()["stored"] is True
    shift.refresh_from_db()
    assert (shift.latitude, shift.longitude) == (55.8201, 12.4702)
    after = _marker(coordinator.get("/coordinator/").content.decode(), nurse.user.display_name)
    assert after != before

    # A second report seconds later is acknowledged but not stored.
    again = client.post("/nurse/shift/position/", {"latitude": "55.7000", "longitude": "12.4000"})
    assert again.status_code == 200 and again.json()["stored"] is False
    shift.refresh_from_db()
    assert shift.latitude == 55.8201


def test_position_by_hand_at_the_base_or_a_visit_address_is_stored_at_once():
    nurse, shift, visit = _assigned()
    client = _login(nurse)
    page = client.get("/nurse/shift/").content.decode()
    assert 'value="base"' in page and f'value="visit-{visit.pk}"' in page
    assert client.post("/nurse/shift/position/", {"place": "base"}).status_code == 302
    shift.refresh_from_db()
    assert (shift.latitude, shift.longitude) == (shift.base_latitude, shift.base_longitude)
    assert client.post("/nurse/shift/position/", {"place": f"visit-{visit.pk}"}).status_code == 302
    shift.refresh_from_db()
    assert shift.latitude == float(visit.citizen.latitude)


def test_bad_positions_are_4xx_with_a_code_and_other_roles_are_refused():
    nurse, shift = factories.acute_nurse_on_shift()
    _stale(shift)
    client = _login(nurse)
    for data in (
        {"latitude": "north", "longitude": "12.5"},
        {"latitude": "91", "longitude": "12.5"},
        {"latitude": "nan", "longitude": "12.5"},
        # Numbers to float() but no plain decimal: refused on their field.
        {"latitude": "55.7", "longitude": "1e1"},
        {"latitude": "55.7", "longitude": "inf"},
        {"latitude": "55.7", "longitude": "-infinity"},
        {"latitude": "55.7", "longitude": "1_2.5"},
    ):
        response = client.post("/nurse/shift/position/", data)
        assert response.status_code == 400
        assert response.json()["code"] == "shift.position_invalid"
        if data["latitude"] == "91":
            continue  # a number, but off the globe
        assert response.json()["message"] == "Bredde- og længdegrad som tal."
        assert response.json()["field"] == next(
            name for name, value in data.items() if value not in ("55.7", "12.5")
        )
    other = factories.acute_nurse_on_shift()[0]
    _n, _s, others_visit = _assigned((other, factories.acute_nurse_on_shift()[1]))
    foreign = client.post("/nurse/shift/position/", {"place": f"visit-{others_visit.pk}"})
    assert foreign.status_code == 403
    shift.refresh_from_db()
    assert shift.position_at < timezone.now() - dt.timedelta(minutes=4)
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    assert (
        _login(coordinator)
        .post("/nurse/shift/position/", {"latitude": "55.7", "longitude": "12.5"})
        .status_code
        == 403
    )


# --- warnings about her own visits ---------------------------------------------


def test_nurse_sees_warnings_for_her_own_visits_only():
    from integrations.models import OutboundMessage

    nurse, _shift, visit = _assigned()
    _other_nurse, _other_shift, other_visit = _assigned()
    partner = factories.integration_partner("gp", factories.gp_practice())
    for source_visit in (visit, other_visit):
        OutboundMessage.objects.create(
            partner=partner,
            event="home-care-observation",
            citizen=source_visit.citizen,
            source_type="acute.visit",
            source_id=str(source_visit.pk),
            bundle={},
            status=OutboundMessage.Status.FAILED,
            failed_at=timezone.now(),
        )
    DeadlineWarning.objects.create(referral=visit.referral, kind=DeadlineWarning.Kind.AT_RISK)
    client = _login(nurse)
    listing = client.get("/nurse/visits/").content.decode()
    assert 'data-warning="message_failed"' in listing
    assert 'data-warning="deadline_at_risk"' in listing
    assert listing.count('data-warning="message_failed"') == 1
    page = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert 'data-warning="message_failed"' in page
    assert partner.organisation.name in page
    # The coordinator's board names the failed state in Danish too.
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    assert "Fejlet: kræver en person" in _login(coordinator).get("/coordinator/").content.decode()


def test_nurse_sees_a_critical_result_warning_until_the_physician_acknowledges_it():
    _nurse, _shift, visit, client = _on_site()
    response = client.post(f"/nurse/visits/{visit.pk}/lab/", {"code": "NPU19748", "value": "400"})
    assert response.status_code == 302
    alert = PhysicianAlert.objects.get(visit=visit, kind=PhysicianAlert.Kind.CRITICAL_RESULT)
    page = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert 'data-warning="critical_result"' in page
    PhysicianAlert.objects.filter(pk=alert.pk).update(
        acknowledged_at=timezone.now(), acknowledged_by=alert.recipient
    )
    page = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert 'data-warning="critical_result"' not in page


# --- re-sent forms are received once --------------------------------------------

REF = "3f0c9a52-7d1e-4b8a-9c55-2a0e6b1d9e01"


def test_a_resent_note_with_the_same_client_ref_is_saved_once():
    _nurse, _shift, visit, client = _on_site()
    data = {"kind": "note", "text": "Borger klar", "client_ref": REF}
    first = client.post(f"/nurse/visits/{visit.pk}/note/", data)
    again = client.post(f"/nurse/visits/{visit.pk}/note/", data)
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert VisitNote.objects.filter(visit=visit).count() == 1
    submission = VisitSubmission.objects.get(visit=visit)
    assert submission.result_type == "VisitNote"
    assert submission.result_id == str(VisitNote.objects.get(visit=visit).pk)
    # A new reference is a new note.
    client.post(f"/nurse/visits/{visit.pk}/note/", {**data, "client_ref": REF[::-1]})
    assert VisitNote.objects.filter(visit=visit).count() == 2


def test_resent_vitals_procedure_and_phone_order_are_saved_once():
    from acute.clinical.models import MedicationOrder
    from acute.models import VitalSign
    from tests.acute.clinical.test_pages import ORDER

    _nurse, _shift, visit, client = _on_site()
    for path, data in (
        ("vitals", {"vital_8867-4": "88", "client_ref": "vitals-ref-1"}),
        ("procedure", {"code": "urinary-catheter", "client_ref": "proc-ref-1"}),
        (
            "order",
            {**ORDER, "ordered_by_authorisation_id": "ABC12", "client_ref": "order-ref-1"},
        ),
    ):
        for _ in range(2):
            assert client.post(f"/nurse/visits/{visit.pk}/{path}/", data).status_code == 302
    assert VitalSign.objects.filter(visit=visit).count() == 1
    assert ProcedureRecord.objects.filter(visit=visit).count() == 1
    assert MedicationOrder.objects.filter(visit=visit).count() == 1
    assert VisitSubmission.objects.filter(visit=visit).count() == 3


def test_a_refused_send_releases_its_reference_so_the_corrected_form_goes_through():
    _nurse, _shift, visit, client = _on_site()
    empty = client.post(
        f"/nurse/visits/{visit.pk}/note/", {"kind": "note", "text": "", "client_ref": REF}
    )
    assert empty.status_code == 400
    assert not VisitSubmission.objects.exists()
    fixed = client.post(
        f"/nurse/visits/{visit.pk}/note/", {"kind": "note", "text": "Nu", "client_ref": REF}
    )
    assert fixed.status_code == 302
    assert VisitNote.objects.get(visit=visit).text == "Nu"


def test_a_malformed_client_ref_is_a_400_and_writes_nothing():
    _nurse, _shift, visit, client = _on_site()
    response = client.post(
        f"/nurse/visits/{visit.pk}/note/",
        {"kind": "note", "text": "x", "client_ref": "<script>"},
    )
    assert response.status_code == 400
    assert 'data-code="submission.client_ref_invalid"' in response.content.decode()
    assert not VisitNote.objects.exists()


def test_the_database_refuses_a_second_submission_with_the_same_reference():
    nurse, _shift, visit, _client = _on_site()
    VisitSubmission.objects.create(visit=visit, user=nurse.user, client_ref=REF, form="note")
    with pytest.raises(IntegrityError), transaction.atomic():
        VisitSubmission.objects.create(visit=visit, user=nurse.user, client_ref=REF, form="vitals")


def test_same_reference_from_another_user_is_another_submission():
    nurse, _shift, visit, _client = _on_site()
    colleague = factories.staff(Role.ACUTE_NURSE, nurse.organisation)
    VisitSubmission.objects.create(visit=visit, user=nurse.user, client_ref=REF, form="note")
    VisitSubmission.objects.create(visit=visit, user=colleague.user, client_ref=REF, form="note")
    assert VisitSubmission.objects.filter(client_ref=REF).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sends_racing_with_the_same_reference_write_one_note():
    """Two sends of one queued note at the same moment (the tablet's flush and
    a reload): the second waits on the unique index and gets the first result."""
    from tests.acute.test_concurrency import race

    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL")
    _nurse, _shift, visit, client = _on_site()

    def send() -> int:
        other = Client()
        other.cookies = client.cookies
        return other.post(
            f"/nurse/visits/{visit.pk}/note/",
            {"kind": "note", "text": "Samtidig", "client_ref": REF},
        ).status_code

    assert race(send, send) == [302, 302]
    assert VisitNote.objects.filter(visit=visit).count() == 1
    assert VisitSubmission.objects.filter(visit=visit).count() == 1
    assert Visit.objects.get(pk=visit.pk).status == Visit.Status.ON_SITE


# --- status labels in the user's language ------------------------------------------


def test_status_labels_on_the_pages_are_danish_by_default_and_english_on_request():
    _nurse, _shift, visit, client = _on_site()
    html = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert '<span class="badge badge-info" id="visit-status">På stedet</span>' in html
    assert "Inden for 2 timer" in html  # the referral's urgency
    assert "Anlæggelse af urinkateter" in html  # a catalogue procedure
    shift_page = client.get("/nurse/shift/").content.decode()
    assert "Dag ·" in shift_page and 'id="shift-status">På besøg<' in shift_page

    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert '<span class="badge badge-info" id="visit-status">On site</span>' in html
    assert "Within 2 hours" in html and "Urinary catheter placement" in html


def test_labels_exchanged_as_fhir_code_displays_stay_english():
    """The urgency and the vital signs' LOINC displays go out in FHIR: only the
    pages translate them."""
    from django.utils import translation

    from acute.models import Urgency, VitalSign

    with translation.override("da"):
        assert Urgency.WITHIN_2_HOURS.label == "Within 2 hours"
        assert VitalSign.Code.HEART_RATE.label == "Heart rate"
        assert str(Visit.Status.ON_SITE.label) == "På stedet"


def test_r8_a_phone_order_with_a_mistyped_atc_code_is_refused_on_that_field():
    """A typing error in the ATC code is named under the code's field in
    Danish; the phone order is not recorded."""
    from acute.clinical.models import MedicationOrder

    _nurse, _shift, visit, client = _on_site()
    response = client.post(
        f"/nurse/visits/{visit.pk}/order/",
        {
            "ordered_by_name": "Læge Hansen",
            "ordered_by_authorisation_id": "ABC12",
            "ordered_by_organisation_name": "Lægevagten",
            "medicine_atc": "C03C01",
            "medicine_name": "Furosemid",
            "dose": "40",
            "dose_unit": "mg",
            "route": "intravenøst",
            "frequency": "engangsdosis",
            "duration": "1 dag",
            "indication": "Lungeødem",
            "read_back": "on",
            "read_back_confirmed": "on",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'data-field="medicine_atc"' in html
    assert "<strong>Ikke udført:</strong> Angiv lægemidlets ATC-kode" in html
    assert not MedicationOrder.objects.filter(visit=visit).exists()


def test_a_critical_result_warning_reads_as_the_results_table_danish_name_decimal_comma_unit():
    _nurse, _shift, visit, client = _on_site()
    for code, value in (("NPU03230", "7,2"), ("NPU18016", "700")):
        response = client.post(f"/nurse/visits/{visit.pk}/lab/", {"code": code, "value": value})
        assert response.status_code == 302
    page = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    warnings = re.findall(r'data-warning="critical_result"><span>(.*?)</span>', page)
    # Potassium, creatinine and the eGFR derived from it are all critical.
    assert len(warnings) == 3
    assert any("Kalium; plasma: 7,2 mmol/L" in w for w in warnings), warnings
    assert any("700 µmol/L" in w for w in warnings), warnings
    assert any("5 mL/min/1,73 m²" in w for w in warnings), warnings
    assert not any("7.2" in w or "umol" in w for w in warnings), warnings
    # The results table and the reference shown while typing read alike.
    assert "7,2 mmol/L" in page and "7,20" not in page
    preview = client.get(
        f"/nurse/visits/{visit.pk}/interpret/", {"code": "NPU03230", "value": "4,1"}
    ).content.decode()
    assert "3,5–4,4 mmol/L" in preview, preview  # noqa: RUF001 - a range's en dash


@pytest.mark.parametrize(
    ("code", "typed", "stored", "shown"),
    [
        # CRP is reported in whole mg/L, potassium with one decimal; the
        # critical limits are > 300 mg/L and > 6.5 mmol/L.
        ("NPU19748", "300,4", Decimal("300"), "H"),
        ("NPU19748", "300,5", Decimal("301"), "HH"),
        ("NPU03230", "6,54", Decimal("6.5"), "H"),
        ("NPU03230", "6,45", Decimal("6.5"), "H"),
    ],
)
def test_the_interpretation_shown_while_typing_is_the_one_stored_with_its_alert(
    code, typed, stored, shown
):
    _nurse, _shift, visit, client = _on_site()
    preview = client.get(f"/nurse/visits/{visit.pk}/interpret/", {"code": code, "value": typed})
    assert f'data-interpretation="{shown}"' in preview.content.decode()
    response = client.post(f"/nurse/visits/{visit.pk}/lab/", {"code": code, "value": typed})
    assert response.status_code == 302
    result = visit.lab_results.get(test__code=code)
    assert (result.value, result.interpretation) == (stored, shown)
    critical_alerts = PhysicianAlert.objects.filter(
        visit=visit, kind=PhysicianAlert.Kind.CRITICAL_RESULT
    )
    assert critical_alerts.exists() is (shown == "HH")
