"""A hospital's admission (MedCom HospitalNotification, posted to
``/fhir/$process-message``) arriving at the moment a nurse sets off, completes
her visit, or the coordinator withdraws the referral (PostgreSQL, real
concurrent transactions). The message locks the citizen's row, then her
referrals and visits; the nurse's step locked her visit (or her referrals)
before her row, the withdrawal its referral before her row: PostgreSQL broke
the deadlock by failing one of them — the hospital answered a transient
error and sent again, the nurse's tablet or the coordinator got a 500. Now
every write takes her row first (``core.locks``): the message is answered
``ok`` and the other write is done or refused with a clear 409."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection

from acute import services
from acute.models import Referral, Visit
from core.actors import Actor
from core.errors import Conflict, PreconditionFailed
from core.models import Citizen, Role
from integrations.models import Partner
from tests import factories as f
from tests.acute.test_concurrency import race
from tests.integrations.medcom.test_hospital_notification import STIN, _ack, _example, _post

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = range(10)


def _admission(hospital: Partner) -> Callable[[], tuple[int, str]]:
    def post() -> tuple[int, str]:
        try:
            status, body = _post(hospital, _example(STIN))
            return status, _ack(body)[0]
        finally:
            connection.close()

    return post


def _sent(citizen: Citizen, *, steps: int) -> tuple[Actor, Actor, Referral, Visit]:
    coordinator = Actor.for_membership(f.staff(Role.COORDINATOR, f.acute_function()))
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(person=citizen, by=coordinator.membership)
    visit = services.visit_assign(referral=referral, shift=shift, actor=coordinator)
    as_nurse = Actor.for_membership(nurse)
    for step in (services.visit_accept, services.visit_set_off, services.visit_arrive)[:steps]:
        visit = step(visit=visit, actor=as_nurse)
    return coordinator, as_nurse, referral, visit


def _done_or_refused(result: object, done: type) -> None:
    assert isinstance(result, done | Conflict | PreconditionFailed), result


@pytest.mark.parametrize("_round", ROUNDS)
def test_r11_r12_an_admission_as_the_nurse_completes_her_visit_both_are_done(
    _round: int, hospital: Partner, citizen: Citizen
) -> None:
    _coordinator, nurse, referral, visit = _sent(citizen, steps=3)

    answered, completed = race(
        _admission(hospital),
        lambda: services.visit_complete(visit=visit, outcome="admitted", actor=nurse),
    )

    assert answered == (200, "ok")
    assert isinstance(completed, Visit), completed
    referral.refresh_from_db()
    assert referral.status == Referral.Status.CLOSED


@pytest.mark.parametrize("_round", ROUNDS)
def test_r12_an_admission_as_the_nurse_sets_off_is_answered_and_she_is_told(
    _round: int, hospital: Partner, citizen: Citizen
) -> None:
    _coordinator, nurse, _referral, visit = _sent(citizen, steps=1)

    answered, set_off = race(
        _admission(hospital),
        lambda: services.visit_set_off(visit=visit, actor=nurse),
    )

    assert answered == (200, "ok")
    _done_or_refused(set_off, Visit)


@pytest.mark.parametrize("_round", ROUNDS)
def test_r12_an_admission_as_the_referral_is_withdrawn_one_wins(
    _round: int, hospital: Partner, citizen: Citizen
) -> None:
    coordinator, _nurse, referral, _visit = _sent(citizen, steps=0)

    answered, withdrawn = race(
        _admission(hospital),
        lambda: services.referral_withdraw(
            referral=referral, reason="called_off", actor=coordinator
        ),
    )

    assert answered == (200, "ok")
    _done_or_refused(withdrawn, Referral)
    assert not Visit.objects.filter(referral=referral, status__in=Visit.ACTIVE_STATUSES).exists()
