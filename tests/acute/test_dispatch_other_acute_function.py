"""R1: a visit opens the nurse's access to the citizen, so only a nurse of an
acute function that serves the citizen's municipality is sent there, and a
coordinator sends (and sets the status of) only her own function's nurses.
A second acute function joins by configuration; its nurses are not
suggested, not picked by automatic dispatch, and not assignable through any
door. A refusal writes nothing and is a denied attempt on the citizen's
record (R9)."""

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
from core.errors import NotFoundOrNotAllowed, PreconditionFailed
from core.models import Organisation, Role
from tests import factories
from tests.acute.test_pages import _login

pytestmark = pytest.mark.django_db


def _other_function_nurse(*, serves: tuple[str, ...] = ()):
    """A nurse on shift now for a second acute function, at the citizen's door
    (named to sort after the joint function the factories use)."""
    factories.acute_function()
    other = factories.organisation(Organisation.Kind.ACUTE_FUNCTION, "Vestegnens Akutfunktion")
    other.serves.set([factories.municipality(code) for code in serves])
    nurse = factories.staff(Role.ACUTE_NURSE, other)
    now = timezone.now()
    shift = NurseShift.objects.create(
        nurse=nurse.user,
        acute_function=other,
        kind=NurseShift.Kind.DAY,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=6),
        skills=["iv_treatment", "catheter", "blood_samples"],
        max_load=3,
        base_name="Base Nabo",
        base_latitude=55.74,
        base_longitude=12.53,
        latitude=55.74,
        longitude=12.53,
        position_at=now,
    )
    return other, nurse, shift


def _nothing_written(referral, nurse_user) -> None:
    assert not Visit.objects.filter(referral=referral).exists()
    assert not CareRelationship.objects.filter(citizen=referral.citizen, user=nurse_user).exists()


def test_a_nurse_of_another_acute_function_is_not_assigned_on_any_door() -> None:
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    referral = factories.acute_referral(by=coordinator)
    _other, nurse, shift = _other_function_nurse(serves=("157", "159", "173", "230"))

    with pytest.raises(NotFoundOrNotAllowed) as raised:
        services.visit_assign(
            referral=referral, shift=shift, actor=Actor.for_membership(coordinator)
        )
    assert raised.value.code == "shift.not_found"

    api = factories.client_for(coordinator).post(
        f"/api/acute/referrals/{referral.pk}/assign", {"shift": shift.pk}, format="json"
    )
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "shift.not_found"

    page = _login(coordinator).post(
        f"/coordinator/referrals/{referral.pk}/assign/", {"shift_id": str(shift.pk)}
    )
    # The pages' one "not available" answer to "not found or not allowed".
    assert page.status_code == 403

    _nothing_written(referral, nurse.user)
    denied = AuditEntry.objects.filter(
        citizen_id=referral.citizen_id, outcome="denied", reason_code="shift.not_found"
    )
    assert denied.count() == 3


def test_a_nurse_whose_function_does_not_serve_the_municipality_is_never_sent() -> None:
    """Neither suggested, nor picked automatically, nor sent on the system's
    behalf; her own function's coordinator would be refused with a precise code."""
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    referral = factories.acute_referral(by=coordinator)
    other, nurse, shift = _other_function_nurse(serves=())

    ranked = services.dispatch_rank(referral=referral)
    assert shift.pk not in [s.shift_id for s in ranked]
    suggestions = factories.client_for(coordinator).get(
        f"/api/acute/referrals/{referral.pk}/suggestions"
    )
    assert shift.pk not in [s["shift"] for s in suggestions.json()["results"]]

    assert services.dispatch_auto_assign(referral=referral, actor=Actor.system("t")) is None

    other_coordinator = factories.staff(Role.COORDINATOR, other)
    with pytest.raises(PreconditionFailed) as raised:
        services.visit_assign(
            referral=referral, shift=shift, actor=Actor.for_membership(other_coordinator)
        )
    assert raised.value.code == "dispatch.municipality_not_served"
    assert raised.value.rule == "R1"
    _nothing_written(referral, nurse.user)
    assert AuditEntry.objects.filter(
        citizen_id=referral.citizen_id,
        outcome="denied",
        reason_code="dispatch.municipality_not_served",
    ).exists()


@override_settings(ACUTE_AUTO_ASSIGN=True)
def test_automatic_dispatch_sends_the_serving_functions_nurse() -> None:
    _home_nurse, home_shift = factories.acute_nurse_on_shift(latitude=55.9, longitude=12.3)
    _other, _nurse, _near_shift = _other_function_nurse(serves=())

    referral = factories.acute_referral()

    assert Visit.objects.get(referral=referral).shift_id == home_shift.pk


def test_a_coordinator_does_not_set_another_functions_nurse_status() -> None:
    _own, _nurse, shift = _other_function_nurse(serves=("157",))
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())

    with pytest.raises(NotFoundOrNotAllowed):
        services.shift_status_set(
            shift=shift, status="on_break", actor=Actor.for_membership(coordinator)
        )
    api = factories.client_for(coordinator).post(
        f"/api/acute/shifts/{shift.pk}/status", {"status": "on_break"}, format="json"
    )
    assert api.status_code == 404
    shift.refresh_from_db()
    assert shift.status == NurseShift.Status.AVAILABLE


def test_the_deadline_watch_counts_only_nurses_who_may_be_sent_to_the_citizen() -> None:
    """R10: a nurse of an acute function not serving the citizen's municipality
    could not be sent, so she does not keep the referral from being at risk;
    once her function serves the municipality, she does."""
    referral = factories.acute_referral()  # nobody of the joint function on shift
    _other, _nurse, _shift = _other_function_nurse(serves=("159",))
    assert services.deadline_watch() == {"at_risk": 1, "overdue": 0}
    assert referral.warnings.get(kind="at_risk").detail["best_arrival_at"] is None

    served = factories.acute_referral(person=factories.citizen(municipality_code="159"))
    assert services.deadline_watch() == {"at_risk": 0, "overdue": 0}
    assert not served.warnings.exists()
