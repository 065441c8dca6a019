"""The acute nurse's tablet at 768 px in Danish, as she meets it: her visit
list and the visit's tabs read in Danish with Copenhagen times (also in the
nights summer time begins and ends), axe finds nothing serious on them, a
double tap records one entry, and entries refused when the queue is sent
(R7, R2) say why in Danish and keep what she typed."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from acute import services as acute_services
from acute.clinical.models import LabResult
from acute.models import Visit, VisitNote
from acute.services import visit_assign
from core.actors import Actor
from core.models import Role
from tests import factories
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import log_in, screenshot

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TABLET_768 = {"width": 768, "height": 1024}
ISO_OR_UTC = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d|\bUTC\b|[+-]\d\d:\d\d\b")
CODE_LIKE = re.compile(r"\b[a-z]+_[a-z_]+\b")


def _visit(shift, coordinator, *, arrival: dt.datetime | None = None) -> Visit:
    referral = factories.acute_referral(by=coordinator)
    visit = visit_assign(referral=referral, shift=shift, actor=Actor.for_membership(coordinator))
    if arrival is not None:
        Visit.objects.filter(pk=visit.pk).update(estimated_arrival_at=arrival)
    return visit


def _on_site(visit: Visit, nurse) -> Visit:
    for step in (
        acute_services.visit_accept,
        acute_services.visit_set_off,
        acute_services.visit_arrive,
    ):
        visit = step(visit=visit, actor=Actor.for_membership(nurse))
    return visit


def _reads_as_danish(page) -> str:
    text = page.locator("body").inner_text()
    assert not ISO_OR_UTC.search(text), ISO_OR_UTC.search(text)
    assert not CODE_LIKE.search(text), CODE_LIKE.search(text)
    return text


def test_her_pages_at_768_px_read_in_danish_with_copenhagen_times_across_summer_time(
    new_page, celery_worker
):
    nurse, shift = factories.acute_nurse_on_shift()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    # The nights the clocks change: 01:30 UTC is 03:30 summer time on
    # 28 March 2027; on 31 October 2027 the hour 02:00-02:59 comes twice.
    spring = _visit(shift, coordinator, arrival=dt.datetime(2027, 3, 28, 1, 30, tzinfo=dt.UTC))
    first = _visit(shift, coordinator, arrival=dt.datetime(2027, 10, 31, 0, 30, tzinfo=dt.UTC))
    second = _visit(shift, coordinator, arrival=dt.datetime(2027, 10, 31, 1, 30, tzinfo=dt.UTC))

    page = new_page(TABLET_768)
    log_in(page, nurse.user.username, factories.PASSWORD)
    page.goto("/nurse/visits/")
    cards = {
        v.pk: page.locator(f'article[aria-labelledby="v{v.pk}"]') for v in (spring, first, second)
    }
    expect(cards[spring.pk]).to_contain_text("28. mar 03:30")
    expect(cards[first.pk]).to_contain_text("31. okt 02:30 (sommertid)")
    expect(cards[second.pk]).to_contain_text("31. okt 02:30 (vintertid)")
    _reads_as_danish(page)
    assert_accessible(page)
    screenshot(page, "nurse-visits-768")

    response = page.goto(f"/nurse/visits/{spring.pk}/")
    # A page with a citizen on it is never kept by the browser's HTTP cache.
    assert "no-store" in response.headers["cache-control"]
    for tab in ("Henvisning", "Journal", "Dokumentér", "Afslut"):
        page.get_by_role("tab", name=tab).click()
        _reads_as_danish(page)
        assert_accessible(page)
    # Nothing reaches past the tablet's width.
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET_768["width"]


def test_a_double_tap_records_one_entry(new_page, celery_worker):
    nurse, shift = factories.acute_nurse_on_shift()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    visit = _on_site(_visit(shift, coordinator), nurse)

    page = new_page(TABLET_768)
    log_in(page, nurse.user.username, factories.PASSWORD)
    page.goto(f"/nurse/visits/{visit.pk}/")
    page.get_by_role("tab", name="Dokumentér").click()
    page.get_by_label("Notat", exact=True).fill("Borger afebril")
    page.get_by_role("button", name="Gem notat").dblclick()
    expect(page.locator("main [role=status]").first).to_contain_text("Notatet er gemt")
    page.wait_for_load_state("networkidle")
    assert VisitNote.objects.filter(visit=visit, text="Borger afebril").count() == 1


def test_entries_refused_when_the_queue_is_sent_say_why_in_danish_and_keep_her_text(
    new_page, celery_worker
):
    """Written offline: a haemoglobin (not predefined, R7) and a completion
    whose assessment names a psychiatric diagnosis code (R2). Sent when the
    connection returns, each is refused with its reason in Danish, the test
    named as the page lists it, and what she typed stays there to copy."""
    nurse, shift = factories.acute_nurse_on_shift()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    visit = _on_site(_visit(shift, coordinator), nurse)

    page = new_page(TABLET_768)
    log_in(page, nurse.user.username, factories.PASSWORD)
    page.goto(f"/nurse/visits/{visit.pk}/")
    page.get_by_role("tab", name="Dokumentér").click()
    page.context.set_offline(True)
    page.get_by_label("Prøve", exact=True).select_option("NPU02319")
    page.get_by_label("Værdi", exact=True).fill("7,4")
    page.get_by_role("button", name="Gem resultat").click()
    page.get_by_role("tab", name="Afslut").click()
    page.locator("#outcome").select_option(index=1)
    page.locator("#assessment").fill("Kendt med F32.1, nu stabil")
    page.get_by_role("button", name="Afslut besøg").click()
    expect(page.locator("#outbox-items li")).to_have_count(2)

    page.context.set_offline(False)
    page.evaluate("window.tvaerakutOutbox.flush()")
    refused = page.locator('#outbox-items li[data-state="refused"]')
    expect(refused).to_have_count(2)
    expect(refused.nth(0)).to_contain_text("Hæmoglobin(Fe); blod er ikke en af de foruddefinerede")
    expect(refused.nth(0).locator("textarea")).to_have_value(re.compile("7,4"))
    expect(refused.nth(1)).to_contain_text("R2")
    expect(refused.nth(1).locator("textarea")).to_have_value(
        re.compile("Kendt med F32.1, nu stabil")
    )
    assert "Haemoglobin" not in page.locator("#outbox").inner_text()
    assert_accessible(page)
    screenshot(page, "nurse-refused-on-replay-768")
    assert not LabResult.objects.filter(visit=visit).exists()
    assert Visit.objects.get(pk=visit.pk).status == Visit.Status.ON_SITE
