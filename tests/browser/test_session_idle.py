"""The coordinator's board left alone in headless Chromium: its refresh every
ten seconds does not keep the session alive, and when the session ends the
whole page goes to the login page — no citizen left on screen, no login form
inside the board."""

from __future__ import annotations

import pytest

import core.middleware
from consent.audit.models import AuditEntry
from core.models import Role
from tests import factories
from tests.browser.conftest import DESKTOP, log_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_board_left_alone_lands_on_the_login_page(new_page, settings, monkeypatch):
    # Longer than one refresh (10 s), so a refresh that counted as use would
    # keep the session alive; every use of hers is recorded at once.
    settings.SESSION_IDLE_SECONDS = 15
    monkeypatch.setattr(core.middleware, "SESSION_SEEN_PRECISION_SECONDS", 0)
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    page = new_page(DESKTOP)
    log_in(page, coordinator.user.username, factories.PASSWORD)
    page.goto("/coordinator/")
    assert page.locator("#board").is_visible()

    page.wait_for_url("**/login/?next=/coordinator/", timeout=45_000)
    assert page.locator("#board").count() == 0
    assert page.get_by_label("Brugernavn").is_visible()
    ended = AuditEntry.objects.filter(reason_code="signout.idle", actor_user_id=coordinator.user_id)
    assert ended.count() == 1


def test_a_citizens_page_left_untouched_hides_her_and_goes_to_the_login_page(
    new_page, settings, monkeypatch
):
    # The referral page asks for nothing by itself: without the idle check it
    # would show her name and reason until someone touched the tablet.
    settings.SESSION_IDLE_SECONDS = 8
    monkeypatch.setattr(core.middleware, "SESSION_SEEN_PRECISION_SECONDS", 0)
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    referral = factories.acute_referral(by=coordinator)
    page = new_page(DESKTOP)
    log_in(page, coordinator.user.username, factories.PASSWORD)
    address = f"/coordinator/referrals/{referral.pk}/"
    page.goto(address)
    name = referral.citizen.family_name
    assert page.get_by_text(name).first.is_visible()

    page.wait_for_url(f"**/login/?next={address}", timeout=45_000)
    assert page.get_by_text(name).count() == 0
    assert page.get_by_label("Brugernavn").is_visible()
    ended = AuditEntry.objects.filter(reason_code="signout.idle", actor_user_id=coordinator.user_id)
    assert ended.count() == 1


def test_a_page_in_use_elsewhere_stays_while_the_session_holds(new_page, settings, monkeypatch):
    settings.SESSION_IDLE_SECONDS = 8
    monkeypatch.setattr(core.middleware, "SESSION_SEEN_PRECISION_SECONDS", 0)
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    page = new_page(DESKTOP)
    log_in(page, coordinator.user.username, factories.PASSWORD)
    page.goto("/help/")
    other = page.context.new_page()
    # Her use in another tab keeps the session; this page is not hidden.
    for _ in range(4):
        other.goto(page.url)
        page.wait_for_timeout(4_000)
    assert page.locator("#main").is_visible()
    assert "/login/" not in page.url


def test_the_session_state_answers_a_held_session_and_refuses_an_ended_one(client):
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    assert factories.log_in(client, coordinator).status_code == 302
    assert client.get("/session/", headers={"X-Background": "1"}).status_code == 204
    client.post("/logout/")
    ended = client.get(
        "/session/", headers={"X-Background": "1", "Referer": "http://testserver/help/"}
    )
    assert ended.status_code == 401
    assert ended.json()["error"]["location"] == "/login/?next=/help/"
