"""Each desk role's main task in headless Chromium, without a dead end: the
coordinator takes a phone referral for a citizen not registered here and
registers the citizen from the same form, typing nothing twice; the
physician, on a phone (390 by 844 px), corrects and rejects phone orders and
writes a written order without the page scrolling sideways; the medicine
officer reads the expiry list and the medicines below minimum, and enters
the whole count on one sheet; the acute nurse fills her bag with a §4
medicine and its witness on a 768 px tablet."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from acute.clinical.models import MedicationOrder
from acute.models import Referral
from core.actors import Actor
from core.models import Citizen, Role
from medicine_cabinet import services as cabinet
from medicine_cabinet.models import Balance, CountLine, Medicine, StockCount
from tests import factories
from tests.acute.clinical.conftest import visit_scene
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import DESKTOP, TABLET_LANDSCAPE, log_in, screenshot

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _sideways(page: Any) -> list[str]:
    """What reaches past the viewport's right edge (the page would scroll
    sideways): each element named, so a failure says what to fix. Measured
    once the page and its stylesheet have loaded."""
    page.wait_for_load_state("load")
    beyond: list[str] = page.evaluate(
        """() => [...document.querySelectorAll("body *")]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
            .map(e => `${e.tagName}.${e.className} ${(e.textContent || "").slice(0, 40)}`)"""
    )
    if page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth"):
        beyond.append("the document is wider than the viewport")
    return beyond


def _unnamed(page: Any) -> list[str]:
    """The plainest accessibility faults, checked on every page of these
    journeys: a field without a label, a link or button without a name, an
    id used twice (which breaks ``label for`` and ``aria-describedby``)."""
    found: list[str] = page.evaluate(
        """() => {
            const out = [];
            const seen = {};
            for (const e of document.querySelectorAll("[id]")) {
                seen[e.id] = (seen[e.id] || 0) + 1;
            }
            for (const [id, n] of Object.entries(seen)) {
                if (n > 1) out.push(`id ${id} used ${n} times`);
            }
            const fields = "input:not([type=hidden]), select, textarea";
            for (const e of document.querySelectorAll(fields)) {
                const named = (e.labels && e.labels.length) || e.getAttribute("aria-label")
                    || e.getAttribute("aria-labelledby");
                if (!named) out.push(`field ${e.name || e.id} has no label`);
            }
            for (const e of document.querySelectorAll("a[href], button")) {
                const name = e.textContent.trim() || e.getAttribute("aria-label")
                    || e.getAttribute("title");
                if (!name) out.push(`${e.tagName} without a name`);
            }
            return out;
        }"""
    )
    return found


def test_coordinator_registers_an_unknown_citizen_from_the_phone_referral(new_page, celery_worker):
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    cpr = factories.cpr_number(born=dt.date(1938, 5, 17), female=True)
    page = new_page(DESKTOP)
    log_in(page, coordinator.user.username, factories.PASSWORD)
    page.get_by_role("link", name="Telefonhenvisning").first.click()
    # The referral first, as the caller tells it; then the CPR number.
    page.get_by_label("Hastegrad").select_option("within_2_hours")
    page.get_by_label("Hvem henviser").select_option("gp")
    page.get_by_label("Henviserens navn").fill("Læge Jensen")
    page.get_by_label("Tilbagekaldsnummer").fill("+4539111111")
    page.get_by_label("Årsag", exact=True).fill("Dehydrering")
    page.get_by_label("Klinisk billede").fill("Tør, svimmel")
    page.get_by_label("Ønsket").fill("Væsketal, væske sc")
    page.get_by_label("Behandlingsansvarlig læge").fill("Læge Jensen")
    page.get_by_label("Lægens telefon").fill("+4539111111")
    page.get_by_label("CPR-nummer").fill(f"{cpr[:6]}-{cpr[6:]}")
    # Looked up as typed (by POST): not registered here, so the form offers it.
    page.locator('[data-lookup="unknown"]').wait_for()
    assert cpr not in page.url
    page.get_by_label("Fornavn(e)").fill("Karen")
    page.get_by_label("Efternavn").fill("Fiktivsen")
    page.get_by_label("Vej og husnummer").fill("Bagsværd Hovedgade 9")
    page.get_by_label("Postnummer").fill("2880")
    page.get_by_label("By", exact=True).fill("Bagsværd")
    page.locator("#f-muni").select_option("159")
    page.get_by_label("Breddegrad").fill("55,7610")
    page.get_by_label("Længdegrad").fill("12,4550")
    # Everything typed is still there after the look-up swapped the citizen box.
    assert page.get_by_label("Klinisk billede").input_value() == "Tør, svimmel"
    screenshot(page, "coordinator-phone-referral-register")
    assert _sideways(page) == [] and _unnamed(page) == []
    assert_accessible(page)
    page.get_by_role("button", name="Gem henvisning").click()
    page.wait_for_url("**/coordinator/referrals/*/")
    citizen = Citizen.objects.get(cpr=cpr)
    assert (citizen.given_name, citizen.family_name) == ("Karen", "Fiktivsen")
    referral = Referral.objects.get(citizen=citizen)
    assert referral.reason == "Dehydrering" and referral.status == "accepted"
    assert cpr not in page.url and cpr not in page.content()

    # The same CPR number typed again names the citizen, to confirm on the phone.
    page.goto("/coordinator/referrals/new/")
    page.get_by_label("CPR-nummer").fill(cpr)
    page.locator('[data-lookup="found"]').wait_for()
    assert "Karen Fiktivsen" in page.locator("#lookup-name").inner_text()
    assert "Bagsværd Hovedgade 9" in page.locator("#lookup-address").inner_text()

    # The board: the pin carries the referral's number and links to its row.
    page.goto("/coordinator/")
    pin = page.locator(f'svg.map a[href="#referral-{referral.pk}"]')
    assert pin.count() == 1
    assert page.locator(f"#referral-{referral.pk}").count() == 1
    assert _sideways(page) == [] and _unnamed(page) == []
    assert_accessible(page)
    # At a tablet's or a small laptop's width the referral table stays inside
    # its card, a referral with its nurse among them: its last column
    # ("Sygeplejerske") was cut off at 1280 px.
    from tests.acute.test_pages import _assigned

    _assigned()
    page.reload()
    for width in (1280, 1024):
        page.set_viewport_size({"width": width, "height": 900})
        assert _table_overflow(page, "#open-title") == [], width


def _table_overflow(page: Any, heading: str) -> list[str]:
    """What of the table in the card headed ``heading`` does not show: a
    table wider than its frame, a frame or a header cell past the card's edge."""
    found: list[str] = page.evaluate(
        """(heading) => {
            const card = document.querySelector(heading).closest(".card");
            const wrap = card.querySelector(".table-wrap");
            const right = card.getBoundingClientRect().right + 0.5;
            const frame = wrap.getBoundingClientRect().right + 0.5;
            const out = [];
            if (wrap.scrollWidth > wrap.clientWidth) {
                out.push(`table ${wrap.scrollWidth} > ${wrap.clientWidth}`);
            }
            if (frame > right) out.push("frame past the card");
            for (const th of wrap.querySelectorAll("th")) {
                const edge = th.getBoundingClientRect().right;
                if (edge > Math.min(right, frame)) out.push(`${th.textContent} cut off`);
            }
            return out;
        }""",
        heading,
    )
    return found


def _phone_order(scene: Any, medicine: str) -> MedicationOrder:
    return factories.phone_order(scene.nurse, scene.visit, medicine_name=medicine)


def test_physician_on_a_phone_corrects_rejects_and_writes_orders(new_page, celery_worker):
    scene = visit_scene()
    to_correct = _phone_order(scene, "Pivmecillinam 400 mg tablet")
    to_reject = _phone_order(scene, "Pivmecillinam (fejlnoteret)")
    page = new_page(PHONE)
    log_in(page, scene.physician.user.username, factories.PASSWORD)
    page.goto("/physician/orders/")
    assert _sideways(page) == [] and _unnamed(page) == []
    assert_accessible(page)
    screenshot(page, "physician-orders-phone")

    # Correct: the form starts from the order as taken down.
    page.locator(f'#order-{to_correct.pk} a:has-text("Ret")').click()
    page.wait_for_url(f"**/physician/orders/{to_correct.pk}/correct/")
    assert page.locator("#w-dose").input_value() == "400"
    assert _sideways(page) == [] and _unnamed(page) == []
    assert_accessible(page)
    page.locator("#w-dose").fill("200")
    page.locator("#w-med").fill("Pivmecillinam 200 mg tablet")
    page.get_by_label("Hvad var forkert").fill("Dosis hørt forkert")
    page.get_by_role("button", name="Gem den rettede ordination").click()
    page.wait_for_url("**/physician/orders/")
    to_correct.refresh_from_db()
    assert to_correct.status == MedicationOrder.Status.CANCELLED
    corrected = MedicationOrder.objects.get(kind=MedicationOrder.Kind.WRITTEN)
    assert corrected.dose == Decimal("200") and corrected.visit_id == scene.visit.pk

    # Reject, with the reason.
    card = page.locator(f"#order-{to_reject.pk}")
    card.locator("summary").click()
    card.get_by_label("Hvorfor afvises ordinationen?").fill("Ikke min ordination")
    with page.expect_navigation():
        card.get_by_role("button", name="Afvis ordination").click()
    page.get_by_text("Ordinationen er afvist").wait_for()
    to_reject.refresh_from_db()
    assert to_reject.status == MedicationOrder.Status.CANCELLED
    assert to_reject.cancel_reason == "Ikke min ordination"
    assert _sideways(page) == [] and _unnamed(page) == []
    assert_accessible(page)

    # A written order for a §4 medicine: refused first (no dose), then saved.
    page.get_by_role("link", name="Ny skriftlig ordination").click()
    page.wait_for_url("**/physician/orders/new/")
    assert _sideways(page) == [] and _unnamed(page) == []
    assert_accessible(page)
    page.get_by_label("Besøg").select_option(str(scene.visit.pk))
    page.locator("#w-atc").fill("N02AA01")
    page.locator("#w-med").fill("Morfin 10 mg/ml injektionsvæske")
    page.locator("#w-route").fill("subkutant")
    page.locator("#w-freq").fill("engangsdosis")
    page.locator("#w-dur").fill("1 dag")
    page.locator("#w-ind").fill("Smerter")
    page.get_by_role("button", name="Gem skriftlig ordination").click()
    page.locator('#w-dose[aria-invalid="true"]').wait_for()
    assert page.locator("#w-ind").input_value() == "Smerter"
    assert _sideways(page) == [] and _unnamed(page) == []
    assert_accessible(page)
    page.locator("#w-dose").fill("2,5")
    page.get_by_role("button", name="Gem skriftlig ordination").click()
    page.wait_for_url("**/physician/orders/")
    morphine = MedicationOrder.objects.get(medicine_atc="N02AA01")
    assert morphine.dependence_forming and morphine.status == MedicationOrder.Status.CONFIRMED
    screenshot(page, "physician-orders-after")


def test_medicine_officer_reads_expiry_and_minimum_and_counts_on_one_sheet(new_page, celery_worker):
    officer = factories.staff(Role.MEDICINE_OFFICER, factories.acute_function())
    actor = Actor.for_membership(officer)
    paracetamol = cabinet.medicine_upsert(
        atc_code="N02BE01",
        name="Paracetamol",
        strength="500 mg",
        form="tablet",
        unit="tablet",
        package_size=Decimal("20"),
        dispensing=Medicine.Dispensing.OVER_THE_COUNTER,
        dependence_forming=False,
        minimum_stock=Decimal("100"),
    )
    cab = cabinet.cabinet_create(organisation=officer.organisation, name="Skab 1")
    lots = [
        cabinet.stock_receive(
            actor=actor,
            cabinet=cab,
            medicine=paracetamol,
            batch_number=batch,
            expires_on=timezone.localdate() + dt.timedelta(days=days),
            quantity=Decimal("20"),
            unit="tablet",
            supplier="Apoteket",
            delivery_reference=f"D-{batch}",
        ).lot
        for batch, days in (("P-LATE", 60), ("P-SOON", 12), ("P-FAR", 500))
    ]
    page = new_page(TABLET_LANDSCAPE)
    log_in(page, officer.user.username, factories.PASSWORD)
    page.get_by_role("link", name="Beholdning").first.click()
    expiry = page.locator("#expiry-table tbody").inner_text()
    assert expiry.index("P-SOON") < expiry.index("P-LATE") and "P-FAR" not in expiry
    below = page.locator("#below-minimum").inner_text()
    assert "Paracetamol" in below and "40" in below  # 60 usable of 100
    assert "P-FAR" in page.locator("#stock-table").inner_text()
    screenshot(page, "officer-stock")
    assert_accessible(page)

    page.get_by_role("link", name="Optællinger").first.click()
    start = page.locator("form.row", has=page.locator('select[name="location"]'))
    start.locator("select").select_option(label="Skab 1")
    start.get_by_role("button", name="Start optælling").click()
    # The whole sheet at once; one line refused keeps every count typed.
    for lot, counted in zip(lots, ("20", "-1", "20"), strict=True):
        page.get_by_label(f"Optalt {lot.batch_number}").fill(counted)
    page.get_by_role("button", name="Gem og indsend optælling").click()
    page.locator(f'#lot-{lots[1].pk}[aria-invalid="true"]').wait_for()
    assert page.get_by_label("Optalt P-LATE").input_value() == "20"
    assert_accessible(page)
    assert not CountLine.objects.exists()
    page.get_by_label("Optalt P-SOON").fill("20")
    page.get_by_role("button", name="Gem og indsend optælling").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Godkend optælling").click()
    screenshot(page, "officer-count")
    count = StockCount.objects.get(location=cab)
    assert count.status == StockCount.Status.APPROVED and not count.has_discrepancy
    assert count.lines.count() == 3


def test_nurse_fills_her_bag_at_the_base_on_a_tablet(new_page, celery_worker):
    """R8 at the start of her shift, on a tablet held upright (768 px): from
    her shift page to her bag, morphine taken with a witness — a wrong
    password refused with what she typed kept, the right one lets it
    through — without the page scrolling sideways."""
    nurse, _shift = factories.acute_nurse_on_shift()
    acute = nurse.organisation
    officer = factories.staff(Role.MEDICINE_OFFICER, acute)
    cupboard = cabinet.cabinet_create(organisation=acute, name="Skab 1")
    morphine = cabinet.medicine_upsert(
        atc_code="N02AA01",
        name="Morfin",
        strength="10 mg/mL",
        form="solution for injection",
        unit="ampoule",
        package_size=Decimal("10"),
        dispensing=Medicine.Dispensing.PRESCRIPTION,
        dependence_forming=True,
        minimum_stock=Decimal("5"),
    )
    cabinet.stock_receive(
        actor=Actor.for_membership(officer),
        cabinet=cupboard,
        medicine=morphine,
        batch_number="M-77",
        expires_on=timezone.localdate() + dt.timedelta(days=200),
        quantity=Decimal("10"),
        unit="ampoule",
        supplier="Apoteket",
        delivery_reference="D-77",
        witness=nurse.user,
    )
    page = new_page({"width": 768, "height": 1024})
    log_in(page, nurse.user.username, factories.PASSWORD)
    page.goto("/nurse/shift/")
    page.get_by_role("link", name="Min taske").first.click()
    page.wait_for_url("**/nurse/bag/")
    assert "M-77" in page.locator("#cabinet-lots").inner_text()
    take = page.locator("#take")
    take.get_by_label("Mængde").fill("2")
    take.get_by_label("Vidnets brugernavn").fill(officer.user.username)
    take.get_by_label("Vidnets adgangskode").fill("forkert")
    with page.expect_navigation():
        take.get_by_role("button", name="Tag i min taske").click()
    take = page.locator("#take")
    assert take.locator(".field-error").count() == 1
    assert take.get_by_label("Mængde").input_value() == "2"
    assert take.get_by_label("Vidnets brugernavn").input_value() == officer.user.username
    assert _sideways(page) == [] and _unnamed(page) == []
    take.get_by_label("Vidnets adgangskode").fill(factories.PASSWORD)
    with page.expect_navigation():
        take.get_by_role("button", name="Tag i min taske").click()
    bag = cabinet.bag_for_nurse(organisation=acute, nurse=nurse.user)
    assert Balance.objects.get(location=bag).quantity == Decimal("2")
    assert "M-77" in page.locator("#bag-stock").inner_text()
    screenshot(page, "nurse-bag")
    assert _sideways(page) == [] and _unnamed(page) == []
    assert_accessible(page)
