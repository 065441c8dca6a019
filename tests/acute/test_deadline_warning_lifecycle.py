"""R10: a deadline warning follows the referral it is about. The coordinator
is warned again when the nurse she sent after acknowledging a warning does
not go (declines, does not answer, is withdrawn), and a nurse who declined
the referral is not counted as one who could still make it; a warning
leaves the board once there is nothing left to warn of (a nurse at the door,
the referral declined, the citizen in hospital, the deadline moved); another
acute function's warnings and nurses are not on her board; and a deadline on the night summer
time ends says which 02:30 it is on the referral's and the visit's pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from acute import services
from acute.deadlines import deadline_for
from acute.models import DeadlineWarning, NurseShift, Referral
from core.actors import Actor
from core.models import Organisation, Role
from tests import factories as f

pytestmark = pytest.mark.django_db

HOSPITAL = Actor.system("tests.hospital_notification")


def _page(membership) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def _open_warnings(coordinator) -> list[tuple[str, int]]:
    response = f.client_for(coordinator).get("/api/acute/warnings")
    assert response.status_code == 200
    return [(w["kind"], w["referral"]) for w in response.json()["results"]]


def _board_row(html: str, referral: Referral) -> str:
    at = html.index(f"/coordinator/referrals/{referral.pk}/")
    return html[html.rindex("<tr", 0, at) : html.index("</tr>", at)]


def _warned(coordinator) -> tuple[Referral, DeadlineWarning]:
    """An accepted two-hour referral, nobody on shift: the watch warns."""
    referral = f.acute_referral(by=coordinator)
    assert services.deadline_watch() == {"at_risk": 1, "overdue": 0}
    return referral, DeadlineWarning.objects.get(referral=referral)


def test_r10_the_coordinator_is_warned_again_when_the_nurse_she_sent_declines() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    api = f.client_for(coordinator)
    referral, warning = _warned(coordinator)
    assert api.post(f"/api/acute/warnings/{warning.pk}/acknowledge").status_code == 200
    # A nurse comes on shift and is sent; she can make it, so all is quiet.
    nurse, shift = f.acute_nurse_on_shift(latitude=55.751, longitude=12.546)
    assigned = api.post(
        f"/api/acute/referrals/{referral.pk}/assign", {"shift": shift.pk}, format="json"
    )
    assert assigned.status_code == 201, assigned.content
    assert services.deadline_watch() == {"at_risk": 0, "overdue": 0}
    # She declines; nobody else is on shift. The coordinator hears of it now,
    # not when the deadline has passed.
    declined = f.client_for(nurse).post(
        f"/api/acute/visits/{assigned.json()['id']}/decline", {"reason": ""}, format="json"
    )
    assert declined.status_code == 200, declined.content
    assert services.deadline_watch() == {"at_risk": 1, "overdue": 0}
    assert _open_warnings(coordinator) == [("at_risk", referral.pk)]
    board = _page(coordinator).get("/coordinator/live/").content.decode()
    assert 'class="risk-at_risk"' in _board_row(board, referral)
    # Once: the watch running again, or twice, raises nothing more.
    assert services.deadline_watch() == {"at_risk": 0, "overdue": 0}
    assert services.deadline_watch() == {"at_risk": 0, "overdue": 0}
    assert DeadlineWarning.objects.filter(referral=referral).count() == 1
    # Acknowledged again, it stays acknowledged while nobody else is sent.
    assert api.post(f"/api/acute/warnings/{warning.pk}/acknowledge").status_code == 200
    assert services.deadline_watch() == {"at_risk": 0, "overdue": 0}
    assert _open_warnings(coordinator) == []


def test_r10_an_acknowledged_warning_stays_acknowledged_while_nothing_changes() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral, warning = _warned(coordinator)
    services.warning_acknowledge(warning=warning, actor=Actor.for_membership(coordinator))
    assert services.deadline_watch() == {"at_risk": 0, "overdue": 0}
    # Escalation still comes when the deadline passes.
    late = referral.deadline_at + dt.timedelta(minutes=1)
    assert services.deadline_watch(now=late) == {"at_risk": 0, "overdue": 1}


def test_r10_a_warning_leaves_the_board_once_a_nurse_is_at_the_door() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral, warning = _warned(coordinator)
    nurse, shift = f.acute_nurse_on_shift(latitude=55.751, longitude=12.546)
    visit = services.visit_assign(
        referral=referral, shift=shift, actor=Actor.for_membership(coordinator)
    )
    assert _open_warnings(coordinator) == [("at_risk", referral.pk)]
    nurse_api = f.client_for(nurse)
    for step in ("accept", "en-route", "on-site"):
        response = nurse_api.post(f"/api/acute/visits/{visit.pk}/{step}", {}, format="json")
        assert response.status_code == 200, response.content
    assert _open_warnings(coordinator) == []
    board = _page(coordinator).get("/coordinator/live/").content.decode()
    assert f"/coordinator/warnings/{warning.pk}/acknowledge/" not in board


def test_r10_a_warning_leaves_the_board_when_the_referral_is_declined() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(by=coordinator, accepted=False)
    # Untriaged past its deadline: escalated.
    late = referral.deadline_at + dt.timedelta(minutes=1)
    assert services.deadline_watch(now=late) == {"at_risk": 0, "overdue": 1}
    assert _open_warnings(coordinator) == [("overdue", referral.pk)]
    declined = f.client_for(coordinator).post(
        f"/api/acute/referrals/{referral.pk}/decline",
        {"reason": "Henvist til egen læge"},
        format="json",
    )
    assert declined.status_code == 200, declined.content
    assert _open_warnings(coordinator) == []


def test_r10_a_held_referral_shows_the_hold_not_a_risk_and_its_old_deadline_is_not_warned_of() -> (
    None
):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral, _warning = _warned(coordinator)
    services.referrals_hold_for_admission(
        citizen_id=referral.citizen_id, admission="E-1", actor=HOSPITAL
    )
    assert _open_warnings(coordinator) == [("admitted", referral.pk)]
    # Back home two hours later: the deadline has moved on by the stay, and
    # the warning about the old one is not shown as if it were about the new.
    Referral.objects.filter(pk=referral.pk).update(
        on_hold_since=timezone.now() - dt.timedelta(hours=2)
    )
    services.referrals_resume_after_discharge(citizen_id=referral.citizen_id, actor=HOSPITAL)
    assert ("at_risk", referral.pk) not in _open_warnings(coordinator)
    # Once the coordinator has seen she is home, the row is not held at risk
    # by the old warning either (a nurse is on shift meanwhile).
    admitted = DeadlineWarning.objects.get(referral=referral, kind="admitted")
    services.warning_acknowledge(warning=admitted, actor=Actor.for_membership(coordinator))
    f.acute_nurse_on_shift(latitude=55.751, longitude=12.546)
    board = _page(coordinator).get("/coordinator/live/").content.decode()
    assert 'class="risk-at_risk"' not in _board_row(board, referral)
    assert services.deadline_watch() == {"at_risk": 0, "overdue": 0}
    # She goes off: the watch judges the new deadline and warns of it.
    NurseShift.objects.update(status=NurseShift.Status.OFF)
    assert services.deadline_watch() == {"at_risk": 1, "overdue": 0}
    assert ("at_risk", referral.pk) in _open_warnings(coordinator)


def test_r10_another_acute_functions_warnings_and_nurses_are_not_on_the_board() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral, warning = _warned(coordinator)
    _nurse, shift = f.acute_nurse_on_shift()
    other = f.organisation(Organisation.Kind.ACUTE_FUNCTION, "Vestegnens Akutfunktion")
    other.serves.set([f.municipality("101")])
    other_coordinator = f.staff(Role.COORDINATOR, other)
    assert _open_warnings(other_coordinator) == []
    board = _page(other_coordinator).get("/coordinator/live/").content.decode()
    assert f"/coordinator/referrals/{referral.pk}/" not in board
    assert f'id="shift-{shift.pk}"' not in board
    assert f.client_for(other_coordinator).get("/api/acute/shifts").json()["results"] == []
    # Her own function's coordinator sees her nurse.
    own = _page(coordinator).get("/coordinator/live/").content.decode()
    assert f'id="shift-{shift.pk}"' in own
    listed = f.client_for(coordinator).get("/api/acute/shifts").json()["results"]
    assert [s["id"] for s in listed] == [shift.pk]
    refused = f.client_for(other_coordinator).post(f"/api/acute/warnings/{warning.pk}/acknowledge")
    assert refused.status_code == 404
    page = _page(other_coordinator).post(f"/coordinator/warnings/{warning.pk}/acknowledge/")
    assert page.status_code == 403
    warning.refresh_from_db()
    assert warning.acknowledged_at is None
    assert _open_warnings(coordinator) == [("at_risk", referral.pk)]


@pytest.mark.parametrize(
    ("received", "urgency", "shown"),
    [
        # 01:30 summer time the night summer time ends: two hours later is
        # 02:30 winter time, the second 02:30 of that night.
        ("2026-10-25T01:30:00+02:00", "within_2_hours", "25. okt 02:30 (vintertid)"),
        # 00:45 summer time: two hours later is the first 02:45 (summer time).
        ("2026-10-25T00:45:00+02:00", "within_2_hours", "25. okt 02:45 (sommertid)"),
        # 01:30 the night summer time starts: 02:00-02:59 does not exist.
        ("2026-03-29T01:30:00+01:00", "within_2_hours", "29. mar 04:30"),
    ],
)
def test_r10_a_deadline_in_the_hour_the_clocks_repeat_says_which_it_is(
    received: str, urgency: str, shown: str
) -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(urgency=urgency, by=coordinator)
    visit = services.visit_assign(
        referral=referral, shift=shift, actor=Actor.for_membership(coordinator)
    )
    at = dt.datetime.fromisoformat(received)
    Referral.objects.filter(pk=referral.pk).update(
        received_at=at, deadline_at=deadline_for(urgency, at)
    )
    page = _page(coordinator).get(f"/coordinator/referrals/{referral.pk}/").content.decode()
    assert f"Tidsfrist {shown}" in page
    tablet = _page(nurse).get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert shown in tablet
