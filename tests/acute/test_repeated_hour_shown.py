"""Times on the nurse's, the coordinator's and the physician's pages in the
hour that comes twice: the night summer time ends in Copenhagen, 02:00 to
02:59 happens twice, and a shift start, a status change or an order given at
"02:30" read as the same time though they were an hour apart. Every page now
says which, "(sommertid)" or "(vintertid)", through the one helper."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import translation

from acute.clinical.models import MedicationOrder
from acute.models import NurseShift
from core.models import Role
from core.times import shown
from tests import factories as f
from tests.acute.clinical.test_pages import _phone_order, _physician

pytestmark = pytest.mark.django_db

SUMMER = dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)
WINTER = dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)


def _login(membership) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def test_the_one_helper_says_which_0230_and_nothing_in_any_other_hour() -> None:
    with translation.override("da"):
        assert shown(SUMMER, "H:i") == "02:30 (sommertid)"
        assert shown(WINTER, "H:i") == "02:30 (vintertid)"
        assert shown(WINTER + dt.timedelta(hours=1), "H:i") == "03:30"
        assert shown(SUMMER - dt.timedelta(hours=1), "d-m-Y H:i") == "25-10-2026 01:30"
        # A date alone has no hour to tell apart.
        assert shown(SUMMER, "d-m-Y") == "25-10-2026"
        assert shown(None) == ""


def test_the_nurses_shift_page_says_which_0230_her_shift_began_and_her_status_changed() -> None:
    nurse, shift = f.acute_nurse_on_shift()
    NurseShift.objects.filter(pk=shift.pk).update(
        starts_at=SUMMER, status_changed_at=WINTER, position_at=SUMMER
    )
    html = _login(nurse).get("/nurse/shift/", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert "· 02:30 (sommertid)\u2013" in html
    assert "<dd>02:30 (vintertid)</dd>" in html
    assert "Senest meldt kl. 02:30 (sommertid)." in html


def test_the_coordinators_board_says_which_0230_a_shift_began() -> None:
    nurse, shift = f.acute_nurse_on_shift()
    NurseShift.objects.filter(pk=shift.pk).update(starts_at=WINTER)
    coordinator = f.staff(Role.COORDINATOR, nurse.organisation)
    board = _login(coordinator).get("/coordinator/live/", HTTP_ACCEPT_LANGUAGE="da")
    html = board.content.decode()
    line = html[html.index(f'id="shift-{shift.pk}"') :]
    assert "02:30 (vintertid)\u2013" in line[: line.index("</li>")]


@pytest.mark.parametrize(("at", "said"), [(SUMMER, "(sommertid)"), (WINTER, "(vintertid)")])
def test_the_physicians_page_says_which_0230_an_order_was_given(at: dt.datetime, said: str):
    physician = _physician("PH001")
    order = _phone_order(physician)
    MedicationOrder.objects.filter(pk=order.pk).update(ordered_at=at)
    html = _login(physician).get("/physician/orders/", HTTP_ACCEPT_LANGUAGE="da")
    card = html.content.decode()
    card = card[card.index(f'id="order-{order.pk}"') :]
    assert f"25. okt 02:30 {said}" in card[: card.index("</article>")]
