"""R6: the follow-up figures an analyst gets cannot be differenced over time.

Cell suppression hides a small count inside one answer, but two answers of
the same month given a day apart differ by what happened in between: asked
while the month is under way, or again after a referral was decided late (a
citizen home from hospital), the difference is one citizen's referral — her
municipality, urgency, referrer and whether the nurse came in time. So an
analyst gets only months that have ended, and a month's first release is
kept and given again to every later request of it (docs/decisions/0035)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from acute.models import FiguresMonthRelease, Referral
from consent.audit.models import AuditEntry
from consent.services import consent_create
from core.actors import Actor
from core.models import Role
from tests import factories as f
from tests.acute.test_api import into_last_month
from tests.consent import bodies

pytestmark = pytest.mark.django_db


def _missed(coordinator, *, in_hospital: bool = False) -> Referral:
    """A referral from a Gentofte citizen whose deadline passed with nobody at
    the door; ``in_hospital``: on hold, so not yet decided."""
    referral = f.acute_referral(by=coordinator, person=f.citizen(municipality_code="157"))
    now = timezone.now()
    Referral.objects.filter(pk=referral.pk).update(
        received_at=now - dt.timedelta(minutes=2), deadline_at=now - dt.timedelta(minutes=1)
    )
    if in_hospital:
        Referral.objects.filter(pk=referral.pk).update(
            on_hold_since=now - dt.timedelta(minutes=1), on_hold_reason="admitted"
        )
    return referral


def _gentofte(response) -> int | None:
    assert response.status_code == 200, response.content
    [row] = [
        r
        for r in response.json()["results"]
        if r["figure"] == "reached_within_deadline" and r["value"] == "Gentofte Kommune"
    ]
    return row["count"]


def test_r6_a_month_released_to_analysts_is_given_again_as_first_released() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    for _ in range(6):
        _missed(coordinator)
    late = _missed(coordinator, in_hospital=True)
    first, last = into_last_month()
    query = f"/api/acute/figures?start={first}&end={last}&period=month"
    analyst = f.client_for(f.staff(Role.ANALYST, f.acute_function()))
    assert _gentofte(analyst.get(query)) == 6

    # The citizen comes home: her referral is decided (missed) after the release.
    Referral.objects.filter(pk=late.pk).update(on_hold_since=None, on_hold_reason="")
    exact = f.client_for(coordinator).get(f"/api/acute/figures?start={first}&end={last}")
    assert [
        r["count"]
        for r in exact.json()["results"]
        if r["figure"] == "reached_within_deadline" and r["value"] == "Gentofte Kommune"
    ] == [7]

    # Asked again, by her or another analyst: 6 again, never 7 - 6 = her referral.
    assert _gentofte(analyst.get(query)) == 6
    other = f.client_for(f.staff(Role.ANALYST, f.acute_function()))
    assert _gentofte(other.get(query)) == 6
    [kept] = FiguresMonthRelease.objects.all()
    assert kept.month == first and kept.min_cell == 5
    released = AuditEntry.objects.filter(
        resource_type="Figures", purpose="analysis", outcome="permitted"
    ).order_by("id")
    assert [e.detail["months_first_released"] for e in released] == [1, 0, 0]


def test_r6_an_analyst_does_not_get_the_month_under_way_and_the_refusal_is_audited() -> None:
    analyst = f.staff(Role.ANALYST, f.acute_function())
    first = timezone.localdate().replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    previous = first - dt.timedelta(days=1)

    for start, end in ((first, last), (previous.replace(day=1), last)):
        response = f.client_for(analyst).get(
            f"/api/acute/figures?start={start}&end={end}&period=month"
        )
        assert response.status_code == 400
        assert response.json()["error"] == {
            "code": "figures.month_not_ended",
            "message": "Analytikere får tallene for måneder, der er slut.",
            "field": "end",
        }
    refused = AuditEntry.objects.filter(actor_user_id=analyst.user_id, resource_type="Figures")
    assert [(e.outcome, e.reason_code) for e in refused] == [
        ("denied", "figures.month_not_ended")
    ] * 2
    assert not FiguresMonthRelease.objects.exists()
    # The coordinator runs the function on the month under way, exactly.
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    assert (
        f.client_for(coordinator)
        .get(f"/api/acute/figures?start={first}&end={last}&period=month")
        .status_code
        == 200
    )


def test_r6_a_released_month_is_never_changed_nor_removed() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    for _ in range(6):
        _missed(coordinator)
    first, last = into_last_month()
    analyst = f.client_for(f.staff(Role.ANALYST, f.acute_function()))
    assert _gentofte(analyst.get(f"/api/acute/figures?start={first}&end={last}&period=month"))
    if connection.vendor != "postgresql":
        pytest.skip("the database refuses it on PostgreSQL")
    for change in (
        lambda: FiguresMonthRelease.objects.update(rows=[]),
        lambda: FiguresMonthRelease.objects.all().delete(),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            change()
    assert FiguresMonthRelease.objects.get().rows


def test_r6_the_arrivals_do_not_give_away_how_few_nobody_reached() -> None:
    """Every referral a nurse reached is a decided one: beside the month's
    decided total, the number of arrivals is the number nobody reached (and,
    beside those met, the number reached late). Ten decided, eight reached,
    two not: the eight would tell the two, so it is hidden; the mean of eight
    arrivals tells no one's and stays."""
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    now = timezone.now()
    for reached in [dt.timedelta(minutes=10)] * 7 + [dt.timedelta(minutes=40)] + [None] * 2:
        referral = f.acute_referral(by=coordinator)
        Referral.objects.filter(pk=referral.pk).update(
            received_at=now - dt.timedelta(minutes=60),
            deadline_at=now - dt.timedelta(minutes=30),
            reached_at=now - dt.timedelta(minutes=60) + reached if reached else None,
        )
    first, last = into_last_month()
    analyst = f.client_for(f.staff(Role.ANALYST, f.acute_function()))
    response = analyst.get(f"/api/acute/figures?start={first}&end={last}&period=month")
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    overall = next(
        r for r in rows if r["figure"] == "reached_within_deadline" and r["dimension"] == "all"
    )
    assert (overall["count"], overall["met"]) == (10, None)  # three not met: hidden
    arrival = next(r for r in rows if r["figure"] == "minutes_referral_to_arrival")
    assert arrival["count"] is None
    assert arrival["mean_minutes"] == 13.8  # (7 x 10 + 40) / 8


def _refuse_analysis(by, citizen_id: int, **scope: object) -> None:
    """The citizen refuses disclosure for analysis (HRESCH), as told to staff (R4)."""
    consent_create(
        actor=Actor.for_membership(by),
        data=bodies.refusal(citizen_id, purposes=["HRESCH"], **scope),
        purpose="treatment",
    )


def test_r4_a_citizen_who_refused_analysis_is_not_in_the_analysts_figures() -> None:
    """Her referral is counted for the coordinator, who runs the function,
    and left out of every month first released to analysts after her
    refusal — for every analyst, also where her refusal names one analyst's
    organisation only: kept apart per analyst, two exact releases of one
    month would differ by exactly her referral."""
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referrals = [_missed(coordinator) for _ in range(7)]
    gentofte = f.municipality("157")
    named = f.staff(Role.ANALYST, gentofte)
    other = f.staff(Role.ANALYST, f.acute_function())
    _refuse_analysis(coordinator, referrals[0].citizen_id, organisations=[gentofte.pk])
    first, last = into_last_month()
    query = f"/api/acute/figures?start={first}&end={last}&period=month"

    assert _gentofte(f.client_for(other).get(query)) == 6
    assert _gentofte(f.client_for(named).get(query)) == 6
    exact = f.client_for(coordinator).get(f"/api/acute/figures?start={first}&end={last}")
    assert [
        r["count"]
        for r in exact.json()["results"]
        if r["figure"] == "reached_within_deadline" and r["value"] == "Gentofte Kommune"
    ] == [7]


def test_r4_a_refusal_after_a_month_was_released_leaves_it_as_given() -> None:
    """What was released before her refusal was disclosed then; given again
    unchanged it discloses nothing more, and a release without her beside it
    would be her referral itself."""
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referrals = [_missed(coordinator) for _ in range(7)]
    first, last = into_last_month()
    analyst = f.client_for(f.staff(Role.ANALYST, f.acute_function()))
    query = f"/api/acute/figures?start={first}&end={last}&period=month"
    assert _gentofte(analyst.get(query)) == 7

    _refuse_analysis(coordinator, referrals[0].citizen_id)

    assert _gentofte(analyst.get(query)) == 7
