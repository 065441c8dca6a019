"""R10 on the coordinator's referral page: the urgency changed, or the
referral withdrawn, by one form sent twice (a double click, back and send
again) is changed once, and the second send is told in Danish that nothing
was done twice — not refused as if a colleague had changed the referral
meanwhile (``core.form_once``)."""

from __future__ import annotations

import pytest

from acute.models import Referral
from consent.audit.models import AuditEntry
from core.models import Role
from tests import factories
from tests.acute.test_pages_referral_as_shown import _login, _shown
from tests.sent_twice import ref_for, sent_twice

pytestmark = pytest.mark.django_db


def _coordinator():
    membership = factories.staff(Role.COORDINATOR, factories.acute_function())
    return membership, _login(membership)


def _denied(referral: Referral) -> int:
    return AuditEntry.objects.filter(citizen_id=referral.citizen_id, outcome="denied").count()


def test_r10_an_urgency_change_sent_twice_is_one_change_and_one_entry() -> None:
    me, client = _coordinator()
    referral = factories.acute_referral(urgency="within_shift", by=me)
    page = f"/coordinator/referrals/{referral.pk}/"
    urgency = f"{page}urgency/"
    form = {
        "urgency": "within_2_hours",
        "reason": "Nu febril og forvirret",
        "shown": _shown(client, referral),
        "form_ref": ref_for(client, page, urgency),
    }

    sent_twice(client, urgency, form)

    referral.refresh_from_db()
    assert referral.urgency == "within_2_hours"
    assert _denied(referral) == 0


def test_r10_a_withdrawal_sent_twice_is_one_withdrawal() -> None:
    me, client = _coordinator()
    referral = factories.acute_referral(by=me)
    page = f"/coordinator/referrals/{referral.pk}/"
    withdraw = f"{page}withdraw/"
    form = {
        "reason": "called_off",
        "shown": _shown(client, referral),
        "form_ref": ref_for(client, page, withdraw),
    }

    first = sent_twice(client, withdraw, form)

    assert first["Location"] == "/coordinator/"
    referral.refresh_from_db()
    assert referral.status == Referral.Status.WITHDRAWN
    assert _denied(referral) == 0
