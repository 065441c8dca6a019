"""R1: a visit opens the nurse's access to the citizen, so only a nurse whose
role as acute nurse of the shift's function is in force is sent: a role past
its end (``valid_until``), switched off, or a user deactivated after her
shift was put on the rota leaves the shift standing, but she is no cover —
not on the board, not suggested, not picked automatically, not assignable
on any door, and a refusal is a denied attempt on the citizen's record (R9).
The rota takes only a nurse whose role is in force for the whole shift."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from acute import services
from acute.models import NurseShift, Visit
from consent.audit.models import AuditEntry
from consent.models import CareRelationship
from core.actors import Actor
from core.errors import PreconditionFailed
from core.models import Membership, Role, User
from tests import factories as f
from tests.acute.test_pages import _login
from tests.acute.test_shift_kind import _at, _body, _post

pytestmark = pytest.mark.django_db

ENDINGS = ("past_its_end", "switched_off", "user_deactivated")


def _end(nurse: Membership, how: str) -> None:
    """Her role ends by one of its doors (a bulk update, as the admin's list does)."""
    if how == "past_its_end":
        Membership.objects.filter(pk=nurse.pk).update(
            valid_until=timezone.now() - dt.timedelta(minutes=1)
        )
    elif how == "switched_off":
        Membership.objects.filter(pk=nurse.pk).update(is_active=False)
    else:
        User.objects.filter(pk=nurse.user_id).update(is_active=False)


@pytest.mark.parametrize("how", ENDINGS)
def test_a_nurse_whose_role_ended_is_never_sent(how: str) -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    _end(nurse, how)
    client = f.client_for(coordinator)

    suggestions = client.get(f"/api/acute/referrals/{referral.pk}/suggestions")
    assert shift.pk not in [s["shift"] for s in suggestions.json()["results"]]
    on_now = client.get("/api/acute/shifts")
    assert shift.pk not in [s["id"] for s in on_now.json()["results"]]
    board = _login(coordinator).get("/coordinator/")
    assert f'id="shift-{shift.pk}"' not in board.content.decode()
    assert services.dispatch_auto_assign(referral=referral, actor=Actor.system("t")) is None

    api = client.post(
        f"/api/acute/referrals/{referral.pk}/assign", {"shift": shift.pk}, format="json"
    )
    assert api.status_code == 412
    assert api.json()["error"]["code"] == "dispatch.nurse_not_in_force"
    assert "akutsygeplejerske" in api.json()["error"]["message"]

    page = _login(coordinator).post(
        f"/coordinator/referrals/{referral.pk}/assign/", {"shift_id": str(shift.pk)}
    )
    assert "er ophørt eller slået fra" in page.content.decode()

    assert not Visit.objects.filter(referral=referral).exists()
    assert not CareRelationship.objects.filter(user=nurse.user).exists()
    denied = AuditEntry.objects.filter(
        citizen_id=referral.citizen_id,
        outcome="denied",
        reason_code="dispatch.nurse_not_in_force",
    )
    assert denied.count() == 2


def test_a_follow_up_is_not_planned_for_a_nurse_whose_role_ends_before_it() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    nurse, shift = f.acute_nurse_on_shift(hours_after=6)
    referral = f.acute_referral(by=coordinator)
    planned_for = timezone.now() + dt.timedelta(hours=3)
    Membership.objects.filter(pk=nurse.pk).update(valid_until=planned_for - dt.timedelta(hours=1))

    with pytest.raises(PreconditionFailed) as raised:
        services.visit_plan_follow_up(
            episode=referral.episode,
            shift=shift,
            planned_for=planned_for,
            actor=Actor.for_membership(coordinator),
        )
    assert raised.value.code == "dispatch.nurse_not_in_force"
    assert not Visit.objects.filter(shift=shift).exists()
    assert AuditEntry.objects.filter(
        citizen_id=referral.citizen_id, outcome="denied", reason_code="dispatch.nurse_not_in_force"
    ).exists()


def test_the_deadline_watch_does_not_count_a_nurse_whose_role_ended() -> None:
    """R10: she cannot be sent, so the referral is at risk."""
    nurse, _shift = f.acute_nurse_on_shift()
    with override_settings(ACUTE_AUTO_ASSIGN=False):
        f.acute_referral()
    assert services.deadline_watch() == {"at_risk": 0, "overdue": 0}
    _end(nurse, "switched_off")
    assert services.deadline_watch() == {"at_risk": 1, "overdue": 0}


@pytest.mark.parametrize("how", ENDINGS)
def test_the_rota_refuses_a_nurse_whose_role_is_not_in_force(how: str) -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function())
    _end(nurse, how)
    day = timezone.localdate() + dt.timedelta(days=2)

    answer = _post(coordinator, _body(nurse, "day", _at(day, 7), _at(day, 15)))

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "shift.not_an_acute_nurse"
    assert not NurseShift.objects.filter(nurse=nurse.user).exists()


def test_the_rota_refuses_a_shift_past_the_end_of_her_role() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function())
    day = timezone.localdate() + dt.timedelta(days=2)
    Membership.objects.filter(pk=nurse.pk).update(valid_until=_at(day, 12))

    answer = _post(coordinator, _body(nurse, "day", _at(day, 7), _at(day, 15)))
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "code": "shift.role_ends_first",
        "message": "Hendes rolle som akutsygeplejerske ophører, før vagten slutter.",
        "field": "ends_at",
    }
    assert not NurseShift.objects.filter(nurse=nurse.user).exists()

    # A shift that ends when her role does is hers.
    earlier = _post(coordinator, _body(nurse, "day", _at(day, 7), _at(day, 12)))
    assert earlier.status_code == 201
