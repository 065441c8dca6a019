"""Two coordinators with the same referral open: a decision sent from a page
that no longer shows the referral as it is (a colleague sent a nurse or
changed the urgency meanwhile) is refused in Danish and the page shows the
referral as it is now; nothing of the colleague's decision is undone, and
the attempt is on the citizen's record (R9, R10)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from acute.models import Referral, Visit
from consent.audit.models import AuditEntry
from core.models import Role
from tests import factories

pytestmark = pytest.mark.django_db

SHOWN = re.compile(r'name="shown" value="([0-9a-f]+)"')
CHANGED = "En anden har ændret henvisningen, efter at din side viste den."


def _login(membership) -> Client:
    client = Client()
    assert factories.log_in(client, membership).status_code == 302
    return client


def _shown(client: Client, referral: Referral) -> str:
    """What the referral's page showed, as each of its forms carries it."""
    page = client.get(f"/coordinator/referrals/{referral.pk}/").content.decode()
    stamps = set(SHOWN.findall(page))
    assert len(stamps) == 1, stamps
    return stamps.pop()


def _two_coordinators():
    function = factories.acute_function()
    first = factories.staff(Role.COORDINATOR, function)
    second = factories.staff(Role.COORDINATOR, function)
    return _login(first), _login(second), first


def test_r10_a_nurse_sent_by_a_colleague_is_not_replaced_from_a_stale_page() -> None:
    sent_nurse, sent_shift = factories.acute_nurse_on_shift()
    _other_nurse, other_shift = factories.acute_nurse_on_shift(latitude=55.76)
    mine, colleagues, me = _two_coordinators()
    referral = factories.acute_referral(by=me)
    assign = f"/coordinator/referrals/{referral.pk}/assign/"
    stale = _shown(mine, referral)
    # Her colleague sends a nurse from his own page.
    sent = colleagues.post(
        assign, {"shift_id": str(sent_shift.pk), "shown": _shown(colleagues, referral)}
    )
    assert sent.status_code == 302
    visit = Visit.objects.get(referral=referral)

    refused = mine.post(assign, {"shift_id": str(other_shift.pk), "shown": stale})

    assert refused.status_code == 409
    html = refused.content.decode()
    assert CHANGED in html and 'data-code="referral.changed_since_shown"' in html
    assert sent_nurse.user.first_name in html  # the page shows who is on it now
    assert list(Visit.objects.filter(referral=referral).values_list("pk", "status")) == [
        (visit.pk, Visit.Status.ASSIGNED)
    ]
    entry = AuditEntry.objects.filter(
        citizen_id=referral.citizen_id, outcome="denied", reason_code="referral.changed_since_shown"
    ).get()
    assert entry.actor_user_id == me.user_id
    # Decided again on the page as it is now, the reassignment goes through.
    again = mine.post(assign, {"shift_id": str(other_shift.pk), "shown": _shown(mine, referral)})
    assert again.status_code == 302
    assert (
        Visit.objects.get(referral=referral, status=Visit.Status.ASSIGNED).shift_id
        == other_shift.pk
    )


def test_r10_an_urgency_changed_by_a_colleague_is_not_undone_from_a_stale_page() -> None:
    mine, colleagues, me = _two_coordinators()
    referral = factories.acute_referral(urgency="within_shift", by=me)
    urgency = f"/coordinator/referrals/{referral.pk}/urgency/"
    stale = _shown(mine, referral)
    raised = colleagues.post(
        urgency,
        {
            "urgency": "within_2_hours",
            "reason": "Nu febril og forvirret",
            "shown": _shown(colleagues, referral),
        },
    )
    assert raised.status_code == 302

    refused = mine.post(urgency, {"urgency": "next_day", "reason": "Har det bedre", "shown": stale})

    assert refused.status_code == 409 and CHANGED in refused.content.decode()
    referral.refresh_from_db()
    assert referral.urgency == "within_2_hours"


def test_her_own_assign_tapped_twice_is_not_told_someone_else_changed_it() -> None:
    _nurse, shift = factories.acute_nurse_on_shift()
    mine, _colleagues, me = _two_coordinators()
    referral = factories.acute_referral(by=me)
    form = {"shift_id": str(shift.pk), "shown": _shown(mine, referral)}
    assign = f"/coordinator/referrals/{referral.pk}/assign/"

    first = mine.post(assign, form)
    second = mine.post(assign, form)

    assert first.status_code == second.status_code == 302
    assert Visit.objects.filter(referral=referral).count() == 1
