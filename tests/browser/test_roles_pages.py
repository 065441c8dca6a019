"""The auditor's, the analyst's and every role's help pages in headless
Chromium, with axe-core on each (no serious or critical finding): the auditor
finds a citizen by CPR number — which no address the browser asks for ever
holds — reviews a flagged entry and goes on to the next; the analyst runs an
analysis and reads why counts are hidden; each role opens its help."""

from __future__ import annotations

import pytest

from consent.audit.services import Action, Outcome, Purpose, audit_record
from core.actors import Actor
from core.models import Citizen, Role
from tests import factories
from tests.browser.accessibility import assert_accessible, axe_findings
from tests.browser.conftest import DESKTOP, TABLET_PORTRAIT, log_in, screenshot
from tests.consent.audit.conftest import flags_scan_placed

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _denied_read(nurse, person) -> None:
    audit_record(
        actor=Actor.for_membership(nurse),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        outcome=Outcome.DENIED,
        reason_code="no_care_relationship",
    )


def test_auditor_searches_by_cpr_reviews_and_goes_to_the_next_flagged(new_page):
    team = factories.acute_function()
    nurse = factories.staff(Role.ACUTE_NURSE, team)
    User = type(nurse.user)
    User.objects.filter(pk=nurse.user_id).update(first_name="Sara", last_name="Sygeplejerske")
    first, second = factories.citizen(), factories.citizen()
    Citizen.objects.filter(pk=first.pk).update(given_name="Else", family_name="Fiktivsen")
    _denied_read(nurse, second)
    _denied_read(nurse, first)
    flags_scan_placed()
    auditor = factories.staff(Role.AUDITOR, team)
    page = new_page(DESKTOP)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    log_in(page, auditor.user.username, factories.PASSWORD)

    page.get_by_role("link", name="Adgangslog").first.click()
    page.get_by_label("CPR-nummer").fill(f"{str(first.cpr)[:6]}-{str(first.cpr)[6:]}")
    page.get_by_role("button", name="Søg", exact=True).click()
    page.wait_for_load_state("domcontentloaded")

    assert "Viser poster om" in page.locator("main").inner_text()
    assert page.get_by_text("Else Fiktivsen").first.is_visible()
    row = page.locator("tbody tr", has_text="Sara Sygeplejerske").first
    assert "ingen behandlingsrelation" in row.inner_text()
    assert not [u for u in asked if first.cpr in u or str(first.cpr)[:6] in u]
    assert first.cpr not in page.url
    assert_accessible(page)
    screenshot(page, "auditor-search-by-cpr")

    row.get_by_role("link").first.click()
    page.wait_for_load_state("domcontentloaded")
    reviewed_url = page.url
    assert "Afvist adgang" in page.locator("main").inner_text()
    assert_accessible(page)
    page.get_by_role("button", name="Markér som gennemgået og gå til den næste").click()
    page.wait_for_load_state("domcontentloaded")
    # A comment is required: the browser keeps her on the page until she writes one.
    assert page.url == reviewed_url
    page.get_by_label("Kommentar").fill("Sygeplejersken havde ingen henvisning; talt med leder.")
    page.get_by_role("button", name="Markér som gennemgået og gå til den næste").click()
    page.wait_for_load_state("domcontentloaded")
    assert page.url != reviewed_url and "/audit/entries/" in page.url
    assert "Her er den næste markerede post" in page.locator("main").inner_text()
    assert_accessible(page)
    page.get_by_label("Kommentar").fill("Samme hændelse, set.")
    page.get_by_role("button", name="Markér som gennemgået og gå til den næste").click()
    page.wait_for_load_state("domcontentloaded")
    assert page.url.endswith("/audit/flagged")
    assert "Ingen markerede poster venter" in page.locator("main").inner_text()
    assert_accessible(page)
    page.goto("/audit/verify")
    assert "Adgangsloggen er intakt" in page.locator("main").inner_text()
    assert_accessible(page)
    page.goto(f"/consent/insight/{first.pk}/")
    assert "Else Fiktivsen" in page.locator("main").inner_text()
    assert_accessible(page)
    assert not [u for u in asked if first.cpr in u or str(first.cpr)[:6] in u]


def test_analyst_runs_an_analysis_and_sees_why_counts_are_hidden(new_page):
    for code in ("157", "159", "173", "230"):
        factories.municipality(code)
    analyst = factories.staff(Role.ANALYST, factories.municipality("157"))
    page = new_page(DESKTOP)
    log_in(page, analyst.user.username, factories.PASSWORD)
    page.get_by_role("link", name="Analyser").first.click()
    page.wait_for_load_state("domcontentloaded")
    assert_accessible(page)

    page.get_by_label("Diagnose (ICD-10-kode eller starten af en, fx E11)", exact=True).fill("E11")
    page.get_by_label("Kommunal ydelse", exact=True).select_option("home-nursing")
    page.get_by_role("button", name="Kør analysen").first.click()
    page.wait_for_load_state("domcontentloaded")

    result = page.locator("#result")
    assert "gentofte kommune" in result.inner_text().lower()
    # Few citizens: every count is below the threshold, so every cell says so.
    assert result.locator("td.suppressed").count() > 0
    note = page.locator("#suppression-note")
    assert note.is_visible() and "Hvorfor nogle tal er skjult" in note.inner_text()
    # The run sends her to the answer's own page and says there what it cost.
    assert "/analyses/runs/" in page.url
    assert "Svaret kostede" in page.get_by_role("status").first.inner_text()
    assert_accessible(page)
    screenshot(page, "analyst-analysis")


@pytest.mark.parametrize(
    ("role", "task"),
    [
        (Role.ACUTE_NURSE, "Gennemfør et besøg"),
        (Role.COORDINATOR, "Modtag en henvisning pr. telefon"),
        (Role.PHYSICIAN, "Bekræft dine telefonordinationer"),
        (Role.HOME_NURSE, "Henvis en borger"),
        (Role.MEDICINE_OFFICER, "Optæl skabet"),
        (Role.AUDITOR, "Gennemgå markerede poster"),
        (Role.ANALYST, "Kør en analyse"),
    ],
)
def test_each_role_has_a_help_page_with_its_main_tasks(new_page, role, task):
    organisation = (
        factories.municipality("157")
        if role in (Role.HOME_NURSE, Role.ANALYST)
        else factories.acute_function()
    )
    member = factories.staff(role, organisation)
    page = new_page(TABLET_PORTRAIT if role == Role.ACUTE_NURSE else DESKTOP)
    log_in(page, member.user.username, factories.PASSWORD)
    page.get_by_role("link", name="Hjælp").first.click()
    page.wait_for_load_state("domcontentloaded")
    assert page.get_by_role("heading", name="Hjælp", exact=True).is_visible()
    assert page.get_by_role("heading", name=task).is_visible()
    # Each task leads to the page where it is done.
    assert page.locator(".help a.btn").count() >= 1
    assert_accessible(page)


def test_the_accessibility_check_can_fail(new_page):
    """The check itself: an image without a text alternative is a critical finding."""
    page = new_page(DESKTOP)
    page.goto("/login/")
    page.evaluate("() => document.querySelector('main').append(document.createElement('img'))")
    assert "image-alt" in [finding["rule"] for finding in axe_findings(page)]
