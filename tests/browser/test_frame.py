"""First journey in headless Chromium: log in, see the start page, log out;
a refused role sees the "not available" page, which reveals nothing."""

from __future__ import annotations

import pytest

from core.models import Role
from tests import factories
from tests.browser.conftest import DESKTOP, TABLET_PORTRAIT, log_in, screenshot

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_nurse_logs_in_sees_her_start_page_and_logs_out(new_page, celery_worker):
    nurse = factories.staff(Role.ACUTE_NURSE, factories.acute_function(), username="sygeplejerske")
    page = new_page(TABLET_PORTRAIT)
    page.goto("/")
    assert "/login/" in page.url
    screenshot(page, "login")

    log_in(page, nurse.user.username, factories.PASSWORD)
    assert page.get_by_role("heading", level=1).inner_text().startswith("Velkommen")
    assert page.locator(".topbar .who").inner_text().count("Akutsygeplejerske") == 1
    # Landmarks and the skip link are there for keyboard and screen-reader users.
    assert page.locator("header").count() == 1
    assert page.locator("main#main").count() == 1
    assert page.get_by_role("navigation", name="Hovedmenu").count() == 1
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    # Touch targets: every button and link in the frame is at least 48 px tall.
    heights = page.eval_on_selector_all(
        ".btn, .mainnav a, .tile", "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert heights and min(heights) >= 48
    screenshot(page, "start-nurse")

    page.get_by_role("button", name="Log ud").click()
    page.wait_for_url("**/login/")
    page.goto("/")
    assert "/login/" in page.url


def test_language_switch_turns_the_pages_english_and_back(new_page, celery_worker):
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    page = new_page(DESKTOP)
    log_in(page, coordinator.user.username, factories.PASSWORD)
    page.get_by_role("button", name="English").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Welcome")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("button", name="Dansk").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Velkommen")


def test_refused_role_sees_not_available_and_nothing_about_what_was_asked(new_page, celery_worker):
    physician = factories.staff(Role.PHYSICIAN, factories.gp_practice())
    page = new_page(DESKTOP)
    log_in(page, physician.user.username, factories.PASSWORD)
    from tests.core.test_pages import _role_pages

    refused = [path for path, allowed in _role_pages() if Role.PHYSICIAN not in allowed]
    for path in [*refused, "/no-such-page/"]:
        response = page.goto(path)
        assert response is not None and response.status in (403, 404), path
        assert page.get_by_role("heading", level=1).inner_text() == "Ikke tilgængelig"
        assert path.strip("/") not in page.locator("main").inner_text()
    screenshot(page, "not-available")


def test_wrong_password_is_explained_on_the_page(new_page, celery_worker):
    nurse = factories.staff(Role.ACUTE_NURSE, factories.acute_function())
    page = new_page(TABLET_PORTRAIT)
    log_in(page, nurse.user.username, "wrong password")
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("Brugernavn").get_attribute("aria-invalid") == "true"
