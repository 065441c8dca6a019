"""The coordinator's "Tildel" sent twice — a double click, or back and send
again — leaves the nurse with the visit she has: not cancelled and replaced by
a copy, and not refused once she is on her way."""

from __future__ import annotations

import pytest

from acute.models import Referral, Visit
from core.models import Role
from tests import factories
from tests.acute.test_pages import PHONE_REFERRAL, _login

pytestmark = pytest.mark.django_db


def test_the_same_nurse_assigned_twice_keeps_her_one_visit() -> None:
    person = factories.citizen()
    nurse, shift = factories.acute_nurse_on_shift()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    client = _login(coordinator)
    created = client.post("/coordinator/referrals/new/", {**PHONE_REFERRAL, "cpr": person.cpr})
    referral = Referral.objects.get(citizen=person)
    assert created.status_code == 302
    assign = f"/coordinator/referrals/{referral.pk}/assign/"

    assert client.post(assign, {"shift_id": str(shift.pk)}).status_code == 302
    first = Visit.objects.get(referral=referral)
    # A double click: the second send finds her already assigned.
    assert client.post(assign, {"shift_id": str(shift.pk)}).status_code == 302
    assert list(Visit.objects.filter(referral=referral).values_list("pk", "status")) == [
        (first.pk, Visit.Status.ASSIGNED)
    ]
    # She accepts and sets off; the coordinator's form arrives again.
    nurse_client = _login(nurse)
    for step in ("accept", "set_off"):
        stepped = nurse_client.post(f"/nurse/visits/{first.pk}/step/", {"step": step})
        assert stepped.status_code == 302
    again = client.post(assign, {"shift_id": str(shift.pk)})

    assert again.status_code == 302
    assert list(Visit.objects.filter(referral=referral).values_list("pk", "status")) == [
        (first.pk, Visit.Status.EN_ROUTE)
    ]
