"""axe-core on the pages added lately, in the states a user meets them in: the
nurse's bag page before she has taken anything; closing an episode from the
coordinator's referral page (with a partner's care thread and its reply
form) and from the nurse's visit page, with the form as drawn and as
redrawn with the refusal; the phone referral form refused
with its requested time (*ønsket tidspunkt*) marked; the physician's alerts
on her page; the board's withdrawal form asking which 02:30 on the night
summer time ends."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.conf import settings
from django.utils import timezone

from acute.clinical.models import MedicationOrder, PhysicianAlert
from acute.clinical.services import medication_orders_watch
from core.models import Role
from integrations.models import CareMessage, CareThread, Partner
from tests import factories
from tests.acute.clinical.conftest import visit_scene
from tests.acute.clinical.test_order_received_by_another_route import UNKNOWN_PHYSICIAN
from tests.acute.clinical.test_order_received_by_another_route import (
    _phone_order as api_phone_order,
)
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import DESKTOP, TABLET_PORTRAIT, log_in
from tests.browser.test_role_tasks import _phone_order

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _without_browser_checks(page, form: str) -> None:
    """The server's refusal is what is checked: the browser's own (required,
    maxlength) would stop the form before it is sent."""
    page.locator(form).evaluate("f => { f.noValidate = true; }")


def test_nurse_bag_page_before_anything_is_taken(new_page):
    nurse, _shift = factories.acute_nurse_on_shift()
    page = new_page(TABLET_PORTRAIT)
    log_in(page, nurse.user.username, factories.PASSWORD)
    page.goto("/nurse/bag/")
    assert page.locator("main h1").count() == 1
    assert_accessible(page)


def _care_thread(scene) -> None:
    """Home nursing wrote about the citizen: the thread and its reply form."""
    home = factories.home_nursing("157")
    partner = factories.integration_partner(Partner.Kind.HOME_NURSING, home)
    thread = CareThread.objects.create(
        identifier=f"urn:uuid:{uuid.uuid4()}",
        partner=partner,
        citizen=scene.citizen,
        referral=scene.referral,
        category="carecoordination",
        topic="Borgerens medicin",
    )
    CareMessage.objects.create(
        thread=thread,
        identifier=f"urn:uuid:{uuid.uuid4()}",
        header_id=str(uuid.uuid4()),
        direction=CareMessage.Direction.IN,
        activity="new-message",
        text="Hvornår kommer I? <b>Borgeren</b> er utryg.",
        author="Mette Hansen, Sygeplejerske",
        written_at=timezone.now(),
    )


def test_coordinator_closes_an_episode_from_the_referral_page(new_page):
    scene = visit_scene(on_site=True)
    _care_thread(scene)
    page = new_page(DESKTOP)
    log_in(page, scene.coordinator.user.username, factories.PASSWORD)
    page.goto(f"/coordinator/referrals/{scene.referral.pk}/")
    assert page.locator("#episode-complete").is_visible()
    assert "<b>Borgeren</b>" in page.locator("main").inner_text()  # text, not markup
    assert_accessible(page)
    # The nurse is with the citizen: refused, the form drawn again with why.
    page.get_by_label("Udfald").select_option(index=1)
    page.get_by_role("button", name="Afslut forløbet").click()
    page.wait_for_load_state("domcontentloaded")
    assert page.locator(".alert-error, [role=alert]").count() >= 1
    assert_accessible(page)


def test_nurse_closes_an_episode_from_her_visit_page(new_page):
    scene = visit_scene(on_site=False)
    page = new_page(TABLET_PORTRAIT)
    log_in(page, scene.nurse.user.username, factories.PASSWORD)
    page.goto(f"/nurse/visits/{scene.visit.pk}/")
    page.locator("#tab-complete-label").click()
    assert page.locator("#episode-complete").is_visible()
    assert_accessible(page)
    _without_browser_checks(page, "#episode-complete form")
    page.locator("#episode-complete").get_by_role("button", name="Afslut forløbet").click()
    page.wait_for_load_state("domcontentloaded")
    assert page.locator('#episode-outcome[aria-invalid="true"]').count() == 1
    page.locator("#tab-complete-label").click()
    assert_accessible(page)


def test_phone_referral_refused_with_its_requested_time_marked(new_page):
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    page = new_page(DESKTOP)
    log_in(page, coordinator.user.username, factories.PASSWORD)
    page.goto("/coordinator/referrals/new/")
    page.locator("#f-req-from").fill("14:00")
    page.locator("#f-req-to").fill("10:00")
    _without_browser_checks(page, "form:has(#f-req-from)")
    page.get_by_role("button", name="Gem henvisning").click()
    page.wait_for_load_state("domcontentloaded")
    assert page.locator('[aria-invalid="true"]').count() >= 1
    assert_accessible(page)


def test_physician_reads_her_alerts(new_page):
    scene = visit_scene()
    order = _phone_order(scene, "Pivmecillinam 400 mg tablet")
    for kind in (
        PhysicianAlert.Kind.CONFIRMATION_REMINDER,
        PhysicianAlert.Kind.PRESCRIPTION_OVERDUE,
    ):
        PhysicianAlert.objects.create(
            kind=kind,
            citizen=scene.citizen,
            recipient=scene.physician.user,
            visit=scene.visit,
            medication_order=order,
            message="Telefonordination afventer bekræftelse",
        )
    page = new_page({"width": 390, "height": 844})
    log_in(page, scene.physician.user.username, factories.PASSWORD)
    page.goto("/physician/orders/")
    assert page.locator(".physician-alerts li").count() == 2
    assert_accessible(page)


def test_a_refused_break_the_glass_comes_back_open_at_its_field(new_page):
    """Her reason refused (too short), the dialog she wrote it in is open
    again with the field focused and linked to its message; not hidden
    behind its button with only the alert at the top to say why."""
    scene = visit_scene(on_site=False)
    page = new_page(TABLET_PORTRAIT)
    log_in(page, scene.nurse.user.username, factories.PASSWORD)
    page.goto(f"/nurse/visits/{scene.visit.pk}/")
    # Offered where the shared record is refused; the refusal is what is checked.
    page.locator("#btg").evaluate("dialog => dialog.showModal()")
    page.locator("#btg").get_by_text("Borgeren kan ikke spørges").click()
    page.locator("#btg-reason").fill("kort")
    _without_browser_checks(page, "#btg form")
    page.locator("#btg").get_by_role("button", name="Åbn adgang").click()
    page.wait_for_load_state("domcontentloaded")
    page.locator("#btg[open]").wait_for()
    reason = page.locator("#btg-reason")
    assert reason.input_value() == "kort"
    assert reason.get_attribute("aria-describedby") == "err-reason"
    assert reason.evaluate("field => field === document.activeElement")
    assert page.locator("#err-reason").is_visible()
    assert_accessible(page)


def test_the_board_asks_which_0230_the_physician_phoned_and_records_the_one_chosen(new_page):
    """The night summer time ends, 02:30 comes twice: the withdrawal form
    comes back as filled in with a required choice of the two (axe-checked),
    and the one chosen is what is recorded."""
    scene = visit_scene()
    order = api_phone_order(scene, **UNKNOWN_PHYSICIAN)
    overdue = timezone.now() + dt.timedelta(
        minutes=settings.CLINICAL_PHONE_ORDER_CONFIRM_WITHIN_MINUTES + 1
    )
    medication_orders_watch(now=overdue)
    MedicationOrder.objects.filter(pk=order.pk).update(
        ordered_at=dt.datetime(2026, 10, 24, 20, 0, tzinfo=dt.UTC)
    )
    page = new_page(DESKTOP)
    log_in(page, scene.coordinator.user.username, factories.PASSWORD)
    page.goto("/coordinator/")
    # (Each open alert about the order offers the form; the first is used.)
    form = page.locator(f"details[data-order-withdrawal-phoned='{order.pk}']").first
    form.locator("summary").click()
    form.locator("input[name=phoned_at]").fill("2026-10-25T02:30")
    form.locator("input[name=reason]").fill("Forkert patient")
    form.locator("input[name=reason]").press("Enter")
    page.wait_for_load_state("domcontentloaded")

    assert page.locator('[data-code="time.local_ambiguous"]').count() == 1
    form = page.locator(f"#order-withdrawal-phoned-{order.pk}")
    assert form.locator("input[name=phoned_at]").input_value() == "2026-10-25T02:30"
    assert form.locator("input[name=reason]").input_value() == "Forkert patient"
    assert_accessible(page)
    page.get_by_label("02:30 anden gang (vintertid)").check()
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/coordinator/")

    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.CANCELLED
    assert order.cancel_phoned_at == dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)
