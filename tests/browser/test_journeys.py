"""Each role's main journey in headless Chromium, against the live server and a
real Celery worker: the nurse completes a visit with a test, a phone order and
a dose (and loses nothing when the connection drops); the physician confirms;
the coordinator takes a phone referral and assigns it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from acute.clinical.models import LabResult, MedicationOrder
from acute.models import Referral, Visit, VisitNote
from acute.services import visit_assign
from core.actors import Actor
from core.models import Role
from medicine_cabinet import services as cabinet
from medicine_cabinet.models import Administration, Lot, Medicine, Movement
from tests import factories
from tests.browser.conftest import DESKTOP, TABLET_LANDSCAPE, TABLET_PORTRAIT, log_in, screenshot

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _stock_bag(nurse) -> tuple[Lot, Lot]:
    """Pivmecillinam in the nurse's bag, two lots: the one expiring first is suggested."""
    organisation = nurse.organisation
    officer = factories.staff(Role.MEDICINE_OFFICER, organisation)
    medicine = cabinet.medicine_upsert(
        atc_code="J01CA08",
        name="Pivmecillinam",
        strength="400 mg",
        form="tablet",
        unit="tablet",
        package_size=Decimal("20"),
        dispensing=Medicine.Dispensing.PRESCRIPTION,
        dependence_forming=False,
        minimum_stock=Decimal("10"),
    )
    cab = cabinet.cabinet_create(organisation=organisation, name="Skab 1")
    bag = cabinet.bag_for_nurse(organisation=organisation, nurse=nurse.user)
    lots = []
    for batch, days in (("LATE-1", 300), ("SOON-1", 40)):
        lot = cabinet.stock_receive(
            actor=Actor.for_membership(officer),
            cabinet=cab,
            medicine=medicine,
            batch_number=batch,
            expires_on=timezone.localdate() + dt.timedelta(days=days),
            quantity=Decimal("20"),
            unit="tablet",
            supplier="Apoteket",
            delivery_reference=f"D-{batch}",
        ).lot
        cabinet.stock_transfer(
            actor=Actor.for_membership(nurse),
            lot=lot,
            source=cab,
            destination=bag,
            quantity=Decimal("5"),
            unit="tablet",
        )
        lots.append(lot)
    return lots[1], lots[0]  # (suggested, later)


def test_nurse_completes_a_visit_and_the_physician_confirms(new_page, celery_worker):
    physician = factories.staff(Role.PHYSICIAN, factories.gp_practice(), username="laege")
    physician.user.authorisation_id = "ABC12"
    physician.user.save(update_fields=["authorisation_id"])
    nurse, shift = factories.acute_nurse_on_shift()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    referral = factories.acute_referral(by=coordinator)
    visit = visit_assign(referral=referral, shift=shift, actor=Actor.for_membership(coordinator))
    suggested, _later = _stock_bag(nurse)

    page = new_page(TABLET_PORTRAIT)
    log_in(page, nurse.user.username, factories.PASSWORD)
    page.get_by_role("link", name="Mine besøg").first.click()
    assert page.locator(f'a[href="/nurse/visits/{visit.pk}/"]').count() >= 1
    assert page.locator("a[data-maps]").get_attribute("href").startswith("geo:")
    screenshot(page, "nurse-visits")
    page.get_by_role("link", name="Åbn besøg").click()
    steps = page.locator("form.steps button[name=step]")
    for step, status in (("Acceptér", "Accepteret"), ("Kør", "På vej"), ("Ankommet", "På stedet")):
        # Only the step that is due is offered: she cannot arrive before she accepts.
        expect(steps.locator("visible=true")).to_have_text([step])
        page.get_by_role("button", name=step).click()
        expect(page.locator("#visit-status")).to_have_text(status)

    # The page the last step reloaded has run its scripts (the status shows as
    # soon as its HTML is read, before the offline queue listens for a submit).
    page.wait_for_load_state("load")
    # The connection drops mid-visit: the note waits on the tablet, nothing is lost.
    page.context.set_offline(True)
    page.get_by_label("Notat", exact=True).fill("Borger klar, afebril efter paracetamol")
    page.get_by_role("button", name="Gem notat").click()
    outbox = page.locator("#outbox")
    outbox.wait_for(state="visible")
    assert "Notat" in page.locator("#outbox-items").inner_text()
    assert "is-offline" in (page.locator("body").get_attribute("class") or "")
    screenshot(page, "nurse-offline-outbox")
    assert not VisitNote.objects.filter(visit=visit).exists()
    queued = page.evaluate("window.tvaerakutOutbox.items()")
    assert len(queued) == 1 and queued[0]["ref"]
    page.context.set_offline(False)
    outbox.wait_for(state="hidden")
    assert VisitNote.objects.get(visit=visit).text == "Borger klar, afebril efter paracetamol"
    # The same entry sent again (the answer was lost on the way back): received once.
    page.evaluate(
        """item => window.tvaerakutOutbox.put({...item, state: "waiting"})
            .then(() => window.tvaerakutOutbox.flush())""",
        queued[0],
    )
    assert page.evaluate("window.tvaerakutOutbox.items().then(items => items.length)") == 0
    assert VisitNote.objects.filter(visit=visit).count() == 1

    # A predefined test (R7) with instant interpretation.
    page.reload()
    page.get_by_label("Prøve", exact=True).select_option("NPU19748")
    page.get_by_label("Værdi", exact=True).fill("180")
    page.locator("#lab-interpretation [data-interpretation]").wait_for()
    assert page.locator("#lab-interpretation [data-interpretation]").get_attribute(
        "data-interpretation"
    ) in ("H", "HH")
    with page.expect_navigation():
        page.get_by_role("button", name="Gem resultat").click()
    page.wait_for_load_state("domcontentloaded")
    assert LabResult.objects.filter(visit=visit, test__code="NPU19748").exists()

    # The phone order, only with its read-back (R8).
    form = page.locator('form[action$="/order/"]')
    for label, value in (
        ("Autorisations-ID", "ABC12"),
        ("Organisation", "Lægehuset"),
        ("ATC-kode", "J01CA08"),
        ("Lægemiddel", "Pivmecillinam"),
        ("Dosis", "400"),
        ("Enhed", "mg"),
        ("Hyppighed", "3 gange dagligt"),
        ("Varighed", "5 dage"),
        ("Indikation", "Urinvejsinfektion"),
    ):
        form.get_by_label(label, exact=True).fill(value)
    form.get_by_role("button", name="Registrér telefonordination").click()
    page.get_by_role("alert").wait_for()
    # R8, said as a nurse reads it: no rule number, what to do.
    assert "læst den op for lægen" in page.get_by_role("alert").inner_text()
    assert not MedicationOrder.objects.filter(visit=visit).exists()
    form = page.locator('form[action$="/order/"]')
    form.get_by_label("Jeg har læst ordinationen op for lægen").check()
    form.get_by_label("Lægen har bekræftet genlæsningen").check()
    form.get_by_role("button", name="Registrér telefonordination").click()
    page.locator('form[action$="/give/"]').wait_for()
    order = MedicationOrder.objects.get(visit=visit)

    # The dose from the bag, from the lot that expires first.
    give = page.locator('form[action$="/give/"]')
    assert give.locator(".lot").inner_text() == suggested.batch_number
    give.get_by_label("Mængde", exact=False).fill("1")
    screenshot(page, "nurse-visit")
    with page.expect_navigation():
        give.get_by_role("button", name="Giv dosis").click()
    page.wait_for_load_state("domcontentloaded")
    administration = Administration.objects.get(order_id=order.pk)
    assert administration.lot_id == suggested.pk

    page.get_by_role("tab", name="Afslut").click()
    page.get_by_label("Udfald", exact=True).select_option("treated_at_home")
    page.get_by_label("Vurdering", exact=False).last.fill("UVI, pivmecillinam startet")
    page.get_by_role("button", name="Afslut besøg").click()
    page.wait_for_url("**/nurse/visits/")
    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED

    # The physician confirms the order and marks the prescription sent.
    doctor = new_page(DESKTOP)
    log_in(doctor, physician.user.username, factories.PASSWORD)
    doctor.get_by_role("link", name="Ordinationer til bekræftelse").first.click()
    screenshot(doctor, "physician-orders")
    doctor.get_by_role("button", name="Bekræft ordination").click()
    doctor.get_by_role("button", name="Recept sendt til apotek").click()
    doctor.wait_for_load_state("domcontentloaded")
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.CONFIRMED
    assert order.prescription_status == MedicationOrder.PrescriptionStatus.SENT


def test_coordinator_takes_a_phone_referral_and_assigns_it(new_page, celery_worker):
    person = factories.citizen()
    nurse, shift = factories.acute_nurse_on_shift()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    page = new_page(DESKTOP)
    log_in(page, coordinator.user.username, factories.PASSWORD)
    page.get_by_role("link", name="Telefonhenvisning").first.click()
    page.get_by_label("CPR-nummer").fill(f"{str(person.cpr)[:6]}-{str(person.cpr)[6:]}")
    page.get_by_label("Hastegrad").select_option("within_2_hours")
    page.get_by_label("Hvem henviser").select_option("gp")
    page.get_by_label("Henviserens navn").fill("Læge Jensen")
    page.get_by_label("Tilbagekaldsnummer").fill("+4539111111")
    page.get_by_label("Årsag", exact=True).fill("Dehydrering")
    page.get_by_label("Klinisk billede").fill("Tør, svimmel")
    page.get_by_label("Ønsket").fill("Væsketal, væske sc")
    page.get_by_label("Behandlingsansvarlig læge").fill("Læge Jensen")
    page.get_by_label("Lægens telefon").fill("+4539111111")
    screenshot(page, "coordinator-phone-referral")
    page.get_by_role("button", name="Gem henvisning").click()
    page.wait_for_url("**/coordinator/referrals/*/")
    referral = Referral.objects.get(citizen=person)
    assert person.cpr not in page.url
    page.get_by_role("button", name=f"Tildel {nurse.user.display_name}").click()
    page.wait_for_url("**/coordinator/")
    assert Visit.objects.get(referral=referral).shift_id == shift.pk
    page.locator("svg.map").wait_for()
    assert nurse.user.display_name in page.locator("#board").inner_text()
    screenshot(page, "coordinator-board")


def test_auditor_finds_the_nurses_access_and_exports_it(new_page, celery_worker):
    """R9: the nurse's read of the visit is in the log; the auditor finds it and exports it."""
    from django.test import Client

    nurse, shift = factories.acute_nurse_on_shift()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    referral = factories.acute_referral(by=coordinator)
    visit = visit_assign(referral=referral, shift=shift, actor=Actor.for_membership(coordinator))
    nurse_client = Client()
    factories.log_in(nurse_client, nurse)
    assert nurse_client.get(f"/nurse/visits/{visit.pk}/").status_code == 200

    auditor = factories.staff(Role.AUDITOR, factories.acute_function())
    page = new_page(DESKTOP)
    log_in(page, auditor.user.username, factories.PASSWORD)
    page.get_by_role("link", name="Adgangslog").first.click()
    page.get_by_label("CPR-nummer").fill(visit.citizen.cpr)
    page.get_by_role("button", name="Søg", exact=True).click()
    page.wait_for_load_state("domcontentloaded")
    rows = page.locator("tbody tr", has_text=nurse.user.username)
    assert rows.count() >= 1
    screenshot(page, "auditor-search")
    export = page.locator('a[href*="export"]').first.get_attribute("href")
    assert export is not None
    response = page.context.request.get(export)
    assert response.status == 200
    assert nurse.user.username in response.text()
    assert visit.citizen.cpr not in response.text()
    # The not-allowed page for a nurse who tries the auditor's page.
    other = new_page(TABLET_PORTRAIT)
    log_in(other, nurse.user.username, factories.PASSWORD)
    assert other.goto("/audit/").status == 403


def test_medicine_officer_counts_the_cabinet(new_page, celery_worker):
    from medicine_cabinet.models import StockCount

    officer = factories.staff(Role.MEDICINE_OFFICER, factories.acute_function())
    medicine = cabinet.medicine_upsert(
        atc_code="N02BE01",
        name="Paracetamol",
        strength="500 mg",
        form="tablet",
        unit="tablet",
        package_size=Decimal("20"),
        dispensing=Medicine.Dispensing.OVER_THE_COUNTER,
        dependence_forming=False,
        minimum_stock=Decimal("10"),
    )
    cab = cabinet.cabinet_create(organisation=officer.organisation, name="Skab 1")
    lot = cabinet.stock_receive(
        actor=Actor.for_membership(officer),
        cabinet=cab,
        medicine=medicine,
        batch_number="P-77",
        expires_on=timezone.localdate() + dt.timedelta(days=30),
        quantity=Decimal("40"),
        unit="tablet",
        supplier="Apoteket",
        delivery_reference="D-1",
    ).lot
    page = new_page(TABLET_LANDSCAPE)
    log_in(page, officer.user.username, factories.PASSWORD)
    page.get_by_role("link", name="Beholdning").first.click()
    assert "P-77" in page.locator("#stock-table").inner_text()
    screenshot(page, "officer-stock")
    page.get_by_role("link", name="Optællinger").first.click()
    start = page.locator("form.row", has=page.locator('select[name="location"]'))
    start.locator("select").select_option(label="Skab 1")
    start.get_by_role("button", name="Start optælling").click()
    page.get_by_label("Optalt P-77").fill("40")
    page.get_by_role("button", name="Gem og indsend optælling").click()
    page.get_by_role("button", name="Godkend optælling").click()
    page.wait_for_load_state("domcontentloaded")
    screenshot(page, "officer-count")
    count = StockCount.objects.get(location=cab)
    assert count.status == StockCount.Status.APPROVED and not count.has_discrepancy
    assert count.lines.get().lot_id == lot.pk


def test_nurse_gives_a_section_four_dose_with_a_witness_and_records_procedures(
    new_page, celery_worker
):
    """§4: a wrong witness password is refused on the page and nothing leaves
    the bag; the witness's own credentials let the dose through. A predefined
    procedure, then a delegation and the task done under it (R7)."""
    from acute import services as acute_services
    from acute.clinical.models import Delegation, ProcedureRecord
    from tests.acute.test_pages_nurse import _morphine_in_bag, _written_morphine_order

    nurse, shift = factories.acute_nurse_on_shift()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    referral = factories.acute_referral(by=coordinator)
    visit = visit_assign(referral=referral, shift=shift, actor=Actor.for_membership(coordinator))
    as_nurse = Actor.for_membership(nurse)
    for step in (acute_services.visit_accept, acute_services.visit_set_off):
        visit = step(visit=visit, actor=as_nurse)
    visit = acute_services.visit_arrive(visit=visit, actor=as_nurse)
    # A colleague on her shift signs for the §4 dose (docs/cabinet.md).
    witness, _witness_shift = factories.acute_nurse_on_shift()
    _morphine, lot = _morphine_in_bag(nurse, witness)
    order = _written_morphine_order(visit)

    page = new_page(TABLET_PORTRAIT)
    log_in(page, nurse.user.username, factories.PASSWORD)
    page.goto(f"/nurse/visits/{visit.pk}/")
    give = page.locator('form[action$="/give/"]')
    assert give.locator(".lot").inner_text() == lot.batch_number
    give.get_by_label("Mængde", exact=False).fill("1")
    give.get_by_label("Vidnets brugernavn").fill(witness.user.username)
    give.get_by_label("Vidnets adgangskode").fill("forkert-kode")
    give.get_by_role("button", name="Giv dosis").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.get_attribute("data-code") == "witness.invalid_credentials"
    assert "Vidnets brugernavn eller adgangskode er forkert" in alert.inner_text()
    screenshot(page, "nurse-witness-refused")
    assert not Administration.objects.filter(order_id=order.pk).exists()

    page.goto(f"/nurse/visits/{visit.pk}/")
    give = page.locator('form[action$="/give/"]')
    # Half a 10 mg ampoule: the written order is for 5 mg (R8).
    give.get_by_label("Mængde", exact=False).fill("0.5")
    give.get_by_label("Vidnets brugernavn").fill(witness.user.username)
    give.get_by_label("Vidnets adgangskode").fill(factories.PASSWORD)
    with page.expect_navigation():
        give.get_by_role("button", name="Giv dosis").click()
    page.wait_for_load_state("domcontentloaded")
    refusal = page.locator(".alert-error[data-code]")
    assert refusal.count() == 0, (
        refusal.first.get_attribute("data-code"),
        refusal.first.inner_text(),
    )
    confirmation = page.locator(".alert-ok").first
    confirmation.wait_for()
    administration = Administration.objects.get(order_id=order.pk)
    assert administration.witness_id == witness.user.pk
    # The opened ampoule's other half is discarded with the dose, witnessed the same.
    assert "Resten af den åbnede enhed (0,5 amp.) er kasseret" in confirmation.inner_text()
    rest = Movement.objects.get(kind=Movement.Kind.WASTED, lot_id=administration.lot_id)
    assert rest.reason_code == "partial_dose" and rest.quantity == Decimal("0.5")
    assert rest.witness_id == witness.user.pk

    # A predefined procedure (R7).
    page.get_by_label("Procedure", exact=True).select_option("urinary-catheter")
    page.get_by_label("Notat om proceduren").fill("KAD CH14, klar urin")
    with page.expect_navigation():
        page.get_by_role("button", name="Registrér procedure").click()
    page.locator("#procedures").wait_for(state="attached")
    assert ProcedureRecord.objects.get(visit=visit).test.code == "urinary-catheter"

    # A delegation from the physician, then the task under it.
    page.get_by_text("Registrér en delegation…").click()
    page.get_by_label("Delegeret opgave").select_option("urine-dipstick")
    page.get_by_label("Lægens autorisations-ID").fill("ABC12")
    page.get_by_label("Lægens organisation").fill("Lægehuset")
    with page.expect_navigation():
        page.get_by_role("button", name="Registrér delegation").click()
    page.locator('[data-delegation="urine-dipstick"]').wait_for(state="attached")
    delegation = Delegation.objects.get(visit=visit)
    page.get_by_label("Procedure", exact=True).select_option("urine-dipstick")
    with page.expect_navigation():
        page.get_by_role("button", name="Registrér procedure").click()
    page.locator("#procedures tr").nth(1).wait_for(state="attached")
    assert ProcedureRecord.objects.get(visit=visit, test__code="urine-dipstick").delegation_id == (
        delegation.pk
    )
    screenshot(page, "nurse-visit-procedures")


def test_nurse_tablet_reports_its_position_and_she_can_set_it_by_hand(new_page, celery_worker):
    """The tablet's location goes to her shift (and so to the coordinator's
    map) by itself; without one she picks where she is."""
    from acute.models import NurseShift

    nurse, shift = factories.acute_nurse_on_shift()
    NurseShift.objects.filter(pk=shift.pk).update(
        position_at=timezone.now() - dt.timedelta(minutes=5)
    )
    page = new_page(TABLET_PORTRAIT)
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 55.8123, "longitude": 12.4987})
    log_in(page, nurse.user.username, factories.PASSWORD)
    # The page's policy forbids eval, which wait_for_function would need: the
    # attribute is waited for as a selector instead.
    page.locator("body[data-position-reported='yes']").wait_for(state="attached")
    shift.refresh_from_db()
    assert (shift.latitude, shift.longitude) == (55.8123, 12.4987)

    page.goto("/nurse/shift/")
    page.get_by_label("Angiv den selv: Jeg er").select_option("base")
    page.get_by_role("button", name="Gem position").click()
    page.wait_for_load_state("domcontentloaded")
    shift.refresh_from_db()
    assert (shift.latitude, shift.longitude) == (shift.base_latitude, shift.base_longitude)
    screenshot(page, "nurse-shift-position")
