"""Triage is decided once. A second decision on an accepted referral — a
coordinator declining what a colleague has just accepted, or accepting it
again — is a 409 ``referral.already_triaged`` that changes nothing, and the
attempt is a denied entry on the citizen's record (R9), as every refused
write is. A referral declined as the only one of its episode ends the acute
function's access (R1): a second decision on it is "not found", recorded by
the gate alike."""

from __future__ import annotations

import pytest

from acute.models import Referral
from consent.audit.models import AuditEntry
from core.models import Role
from tests import factories as f

pytestmark = pytest.mark.django_db


def _denied(referral: Referral) -> list[tuple[int | None, int | None, str]]:
    return [
        (e.citizen_id, e.actor_user_id, e.reason_code)
        for e in AuditEntry.objects.filter(outcome="denied", resource_type="ServiceRequest")
    ]


@pytest.mark.parametrize(
    ("first", "second", "status", "code"),
    [
        ("accept", "decline", 409, "referral.already_triaged"),
        ("accept", "accept", 409, "referral.already_triaged"),
        ("decline", "accept", 404, "not_found"),
        ("decline", "decline", 404, "not_found"),
    ],
)
def test_a_second_triage_is_refused_unchanged_and_audited(first, second, status, code):
    acute_function = f.acute_function()
    one = f.staff(Role.COORDINATOR, acute_function)
    other = f.staff(Role.COORDINATOR, acute_function)
    referral = f.acute_referral(accepted=False, by=one)
    url = "/api/acute/referrals/{}/{}".format
    # A decline takes a reason; an accept takes no body.
    body = {"decline": {"reason": "Borgeren er indlagt"}, "accept": {}}

    first_answer = f.client_for(one).post(url(referral.pk, first), body[first], format="json")
    assert first_answer.status_code == 200
    referral.refresh_from_db()
    decided = (referral.status, referral.triaged_by_id, referral.decline_reason)

    again = f.client_for(other).post(url(referral.pk, second), body[second], format="json")

    assert (again.status_code, again.json()["error"]["code"]) == (status, code)
    referral.refresh_from_db()
    assert (referral.status, referral.triaged_by_id, referral.decline_reason) == decided
    denied = _denied(referral)
    assert [(citizen, user) for citizen, user, _reason in denied] == [
        (referral.citizen_id, other.user_id)
    ]
    if status == 409:
        assert denied[0][2] == "referral.already_triaged"
