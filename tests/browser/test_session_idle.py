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
