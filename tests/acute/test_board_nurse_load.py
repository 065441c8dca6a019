"""The coordinator's board says how many visits each nurse has in hand: every
open visit of hers, not only those on referrals still waiting on the board.
A visit she is on site for has left the list of referrals not yet reached,
yet she is busy with it; the board and the API count what dispatch counts
against her load."""

from __future__ import annotations

import pytest

from acute.models import Visit
from acute.services import visit_accept, visit_arrive, visit_assign, visit_set_off
from core.actors import Actor
from core.models import Role
from tests import factories
from tests.acute.test_pages import _login

pytestmark = pytest.mark.django_db


def _nurse_with_one_visit_on_site_and_one_assigned():
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    nurse, shift = factories.acute_nurse_on_shift(max_load=3)
    by = Actor.for_membership(coordinator)
    first = visit_assign(referral=factories.acute_referral(by=coordinator), shift=shift, actor=by)
    her = Actor.for_membership(nurse)
    for step in (visit_accept, visit_set_off, visit_arrive):
        first = step(visit=first, actor=her)
    second = visit_assign(referral=factories.acute_referral(by=coordinator), shift=shift, actor=by)
    assert first.status == Visit.Status.ON_SITE and second.status == Visit.Status.ASSIGNED
    return coordinator, shift


def test_board_counts_the_visit_she_is_on_site_for_as_in_hand() -> None:
    coordinator, shift = _nurse_with_one_visit_on_site_and_one_assigned()

    live = _login(coordinator).get("/coordinator/live/").content.decode()

    row = live[live.index(f'id="shift-{shift.pk}"') :]
    row = row[: row.index("</li>")]
    assert 'data-visits-in-hand="2"' in row and "2 besøg i gang" in row


def test_api_shift_load_counts_every_open_visit_of_hers() -> None:
    coordinator, shift = _nurse_with_one_visit_on_site_and_one_assigned()

    listed = factories.client_for(coordinator).get("/api/acute/shifts")

    assert listed.status_code == 200
    (mine,) = [s for s in listed.json()["results"] if s["id"] == shift.pk]
    assert mine["load"] == 2
