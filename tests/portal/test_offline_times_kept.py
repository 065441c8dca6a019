"""The tablet's queue keeps the time the nurse did it (docs/decisions/0013).

A status step she took in a cellar and her tablet sent forty minutes later is
recorded when she took it: her arrival is the referral's reached time, so a
deadline she met is met (R10), a warning raised while the step waited stays
in the history but warns of nothing, and vital signs measured after she
arrived stand after her arrival. A time the server cannot take as it is (not
readable, ahead of its clock, more than a day back, before the visit's
previous step) is never moved to the time it arrived: the entry is refused
with its reason, the tablet keeps it, and the attempt is on the citizen's
record (R9)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django.utils.translation import override

from acute import services
from acute.models import DeadlineWarning, Episode, Referral, Visit, VitalSign
from acute.selectors.board import warning_settled
from acute.selectors.figures import deadline_met
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.errors import InvalidInput
from medicine_cabinet.models import Administration, Notification
from tests.acute.test_pages import _assigned, _login
from tests.acute.test_pages_nurse import _on_site
from tests.portal.test_offline_sends import REPLAY, _dose, _furosemide_order

pytestmark = pytest.mark.django_db


def _sent_an_hour_ago(visit: Visit) -> None:
    Visit.objects.filter(pk=visit.pk).update(assigned_at=timezone.now() - dt.timedelta(hours=1))


def _queued(client, visit: Visit, step: str, at: dt.datetime, ref: str):
    return client.post(
        f"/nurse/visits/{visit.pk}/step/",
        {"step": step, "client_ref": ref, "given_offline_at": at.isoformat()},
        **REPLAY,
    )


def test_an_arrival_sent_after_the_deadline_meets_it_when_she_was_there_in_time():
    """R10: she arrived ten minutes before the deadline; the tablet found a
    connection half an hour after it."""
    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    _sent_an_hour_ago(visit)
    now = timezone.now()
    Referral.objects.filter(pk=visit.referral_id).update(
        received_at=now - dt.timedelta(minutes=70), deadline_at=now - dt.timedelta(minutes=30)
    )
    # Meanwhile the watch saw nobody at the door by the deadline and escalated.
    assert services.deadline_watch(now=now)["overdue"] == 1
    accepted = now - dt.timedelta(minutes=55)
    set_off = now - dt.timedelta(minutes=50)
    arrived = now - dt.timedelta(minutes=40)
    for step, at in (("accept", accepted), ("set_off", set_off), ("arrive", arrived)):
        response = _queued(client, visit, step, at, f"step-{step}-cellar")
        assert response.status_code == 200, response.content.decode()[:2000]
    visit.refresh_from_db()
    referral = Referral.objects.get(pk=visit.referral_id)
    assert (visit.accepted_at, visit.en_route_at, visit.on_site_at) == (accepted, set_off, arrived)
    assert referral.reached_at == arrived
    assert deadline_met(
        deadline_at=referral.deadline_at,
        reached_at=referral.reached_at,
        open_=True,
        on_hold=False,
        closed_at=None,
        now=timezone.now(),
    )
    # The escalation stays in the history; there is nothing left to warn of.
    warning = DeadlineWarning.objects.get(referral=referral, kind=DeadlineWarning.Kind.OVERDUE)
    assert DeadlineWarning.objects.filter(warning_settled(), pk=warning.pk).exists()
    # Her step's audit entry says when she took it.
    entry = AuditEntry.objects.filter(
        citizen_id=visit.citizen_id, outcome="permitted", detail__step="on_site"
    ).get()
    assert entry.detail["at"] == arrived.isoformat()
    # Vital signs measured five minutes after she arrived stand after her arrival.
    measured = arrived + dt.timedelta(minutes=5)
    response = client.post(
        f"/nurse/visits/{visit.pk}/vitals/",
        {
            "vital_8867-4": "88",
            "client_ref": "vitals-cellar",
            "given_offline_at": measured.isoformat(),
        },
        **REPLAY,
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    assert VitalSign.objects.get(visit=visit).measured_at >= visit.on_site_at


def test_a_completion_sent_later_ends_the_visit_and_the_episode_when_she_finished():
    _nurse, _shift, visit, client = _on_site()
    hour_ago = timezone.now() - dt.timedelta(hours=1)
    Episode.objects.filter(pk=visit.episode_id).update(opened_at=hour_ago)
    Visit.objects.filter(pk=visit.pk).update(
        assigned_at=hour_ago, on_site_at=timezone.now() - dt.timedelta(minutes=50)
    )
    finished = timezone.now() - dt.timedelta(minutes=15)
    response = client.post(
        f"/nurse/visits/{visit.pk}/complete/",
        {
            "outcome": "treated_at_home",
            "assessment": "Klar",
            "client_ref": "complete-cellar",
            "given_offline_at": finished.isoformat(),
        },
        **REPLAY,
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED
    assert visit.completed_at == finished
    assert Episode.objects.get(pk=visit.episode_id).closed_at == finished


def test_a_step_whose_time_lies_before_the_previous_step_is_refused_and_audited():
    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    _sent_an_hour_ago(visit)
    now = timezone.now()
    assert _queued(
        client, visit, "accept", now - dt.timedelta(minutes=20), "step-order-accept"
    ).status_code
    assert _queued(
        client, visit, "set_off", now - dt.timedelta(minutes=15), "step-order-set-off"
    ).status_code
    response = _queued(client, visit, "arrive", now - dt.timedelta(minutes=45), "step-order-arrive")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "visit.step_out_of_order"
    visit.refresh_from_db()
    assert visit.status == Visit.Status.EN_ROUTE and visit.on_site_at is None
    assert AuditEntry.objects.filter(
        citizen_id=visit.citizen_id, outcome="denied", reason_code="visit.step_out_of_order"
    ).exists()


def _bad_times() -> list[tuple[str, str]]:
    now = timezone.now()
    return [
        ("i går", "offline.time_unreadable"),
        ("2026-12-07T10:00:00", "offline.time_unreadable"),  # no offset
        ((now - dt.timedelta(hours=26)).isoformat(), "offline.time_too_old"),
        ((now + dt.timedelta(hours=3)).isoformat(), "offline.time_in_future"),
    ]


@pytest.mark.parametrize("case", range(4))
def test_vital_signs_with_a_time_the_server_cannot_take_are_refused_never_moved(case):
    """26 hours late is not "now": she is told, in Danish, and the attempt is recorded."""
    _nurse, _shift, visit, client = _on_site()
    sent_at, code = _bad_times()[case]
    response = client.post(
        f"/nurse/visits/{visit.pk}/vitals/",
        {"vital_8867-4": "88", "client_ref": f"vitals-bad-{case}", "given_offline_at": sent_at},
        HTTP_ACCEPT_LANGUAGE="da",
        **REPLAY,
    )
    assert response.status_code == 400, response.content.decode()[:2000]
    error = response.json()["error"]
    assert error["code"] == code
    assert "registrér den igen" in error["message"]
    assert not VitalSign.objects.filter(visit=visit).exists()
    assert AuditEntry.objects.filter(
        citizen_id=visit.citizen_id, outcome="denied", reason_code=code
    ).exists()


@pytest.mark.parametrize("case", range(4))
def test_a_queued_step_with_a_time_the_server_cannot_take_is_refused(case):
    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    sent_at, code = _bad_times()[case]
    response = client.post(
        f"/nurse/visits/{visit.pk}/step/",
        {"step": "accept", "client_ref": f"step-bad-{case}", "given_offline_at": sent_at},
        **REPLAY,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ASSIGNED and visit.accepted_at is None
    assert AuditEntry.objects.filter(
        citizen_id=visit.citizen_id, outcome="denied", reason_code=code
    ).exists()


@pytest.mark.parametrize("case", range(4))
def test_a_dose_with_a_time_the_server_cannot_take_is_refused_and_flagged(case):
    """R8: the medicine has left her bag; the officer reconciles it."""
    nurse, _shift, visit, client = _on_site()
    furosemide, order = _furosemide_order(nurse, visit, client)
    sent_at, code = _bad_times()[case]
    response = client.post(
        f"/nurse/visits/{visit.pk}/give/",
        _dose(order, furosemide, f"dose-time-{case}", given_offline_at=sent_at),
        **REPLAY,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not Administration.objects.filter(order_id=order.pk).exists()
    assert Notification.objects.filter(kind=Notification.Kind.OFFLINE_DOSE_REFUSED).exists()


def test_the_step_rule_is_the_services_for_every_door():
    """The API's and the page's steps take one rule: a time ahead of the
    server's clock is refused in the service, not only on the page."""
    nurse, _shift, visit = _assigned()
    with override("da"), pytest.raises(InvalidInput) as refused:
        services.visit_accept(
            visit=visit,
            actor=Actor.for_membership(nurse),
            at=timezone.now() + dt.timedelta(hours=1),
        )
    assert refused.value.code == "offline.time_in_future"
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ASSIGNED
