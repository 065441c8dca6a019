"""R10: the coordinator phones the citizen back and finds her better or worse:
she changes an accepted referral's urgency, up or down, with the reason. The
deadline is the new urgency's counted from the change (a more urgent class
never moves it later, a less urgent one never sooner), the referrer's urgency
stays in the history (the audit entry), warnings about the old deadline leave
the board, and every refusal is a precise 4xx that writes nothing and is
audited as a denied attempt (R9). Doors: the API and the referral page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from acute import services
from acute.deadlines import deadline_for
from acute.models import DeadlineWarning, Referral
from consent.audit.models import AuditEntry
from core.models import Role
from tests import factories as f
from tests.acute.test_pages import _login

pytestmark = pytest.mark.django_db


def _url(referral: Referral) -> str:
    return f"/api/acute/referrals/{referral.pk}/urgency"


def _changes(referral: Referral) -> list[dict]:
    return [
        e.detail
        for e in AuditEntry.objects.filter(
            resource_type="ServiceRequest", resource_id=str(referral.pk), outcome="permitted"
        ).order_by("pk")
        if (e.detail or {}).get("step") == "urgency_changed"
    ]


def _denied(referral: Referral) -> list[str]:
    return list(
        AuditEntry.objects.filter(
            resource_type="ServiceRequest",
            citizen_id=referral.citizen_id,
            outcome="denied",
        ).values_list("reason_code", flat=True)
    )


def test_worse_on_the_phone_raises_the_urgency_and_the_deadline_counts_from_now():
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(urgency="next_day", by=coordinator)
    before = referral.deadline_at
    t0 = timezone.now()

    answer = f.client_for(coordinator).post(
        _url(referral),
        {"urgency": "within_2_hours", "reason": "Borgeren er blevet mere forvirret"},
        format="json",
    )
    t1 = timezone.now()

    assert answer.status_code == 200, answer.content
    referral.refresh_from_db()
    assert referral.urgency == "within_2_hours"
    assert deadline_for("within_2_hours", t0) <= referral.deadline_at
    assert referral.deadline_at <= deadline_for("within_2_hours", t1)
    assert answer.json()["urgency"] == "within_2_hours"
    # The referrer's urgency is kept in the history, with the reason and who.
    [change] = _changes(referral)
    assert change["urgency_before"] == "next_day"
    assert change["deadline_before"] == before.isoformat()
    assert change["urgency"] == "within_2_hours"
    assert change["reason"] == "Borgeren er blevet mere forvirret"


def test_better_on_the_phone_lowers_it_and_old_warnings_leave_the_board():
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    client = f.client_for(coordinator)
    referral = f.acute_referral(urgency="within_2_hours", by=coordinator)
    old = referral.deadline_at
    # No nurse on shift: the watch warns of the two-hour deadline.
    services.deadline_watch()
    assert DeadlineWarning.objects.filter(referral=referral, kind="at_risk").exists()
    assert [w["referral"] for w in client.get("/api/acute/warnings").json()["results"]] == [
        referral.pk
    ]

    answer = client.post(
        _url(referral),
        {"urgency": "next_day", "reason": "Feberen er faldet, hun drikker igen"},
        format="json",
    )

    assert answer.status_code == 200, answer.content
    referral.refresh_from_db()
    assert referral.urgency == "next_day"
    assert referral.deadline_at >= deadline_for(
        "next_day", timezone.now() - dt.timedelta(seconds=5)
    )
    assert referral.deadline_at > old
    # The warning about the two-hour deadline is withdrawn from the board ...
    assert client.get("/api/acute/warnings").json()["results"] == []
    # ... and the watch judges the new deadline: raised again, for it.
    services.deadline_watch()
    warning = DeadlineWarning.objects.get(referral=referral, kind="at_risk")
    assert warning.detail["deadline_at"] == referral.deadline_at.isoformat()
    assert warning.acknowledged_at is None


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"urgency": "within_2_hours", "reason": "Samme"}, 409, "referral.urgency_unchanged"),
        ({"urgency": "asap", "reason": "Værre"}, 400, "referral.urgency_unknown"),
        ({"reason": "Værre"}, 400, "referral.urgency_required"),
        ({"urgency": "next_day"}, 400, "referral.retriage_reason_required"),
        ({"urgency": "next_day", "reason": "   "}, 400, "referral.retriage_reason_required"),
        (
            {"urgency": "next_day", "reason": "x" * 4001},
            400,
            "referral.retriage_reason_too_long",
        ),
    ],
)
def test_a_refused_change_writes_nothing_and_is_audited(body, status, code):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(urgency="within_2_hours", by=coordinator)
    kept = (referral.urgency, referral.deadline_at)

    answer = f.client_for(coordinator).post(_url(referral), body, format="json")

    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
    referral.refresh_from_db()
    assert (referral.urgency, referral.deadline_at) == kept
    assert _changes(referral) == []
    assert _denied(referral) == [code]


def test_only_an_accepted_referral_not_yet_reached_is_retriaged():
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    client = f.client_for(coordinator)
    received = f.acute_referral(accepted=False, by=coordinator)
    answer = client.post(_url(received), {"urgency": "next_day", "reason": "Bedre"}, format="json")
    assert (answer.status_code, answer.json()["error"]["code"]) == (
        409,
        "referral.retriage_not_accepted",
    )
    assert _denied(received) == ["referral.retriage_not_accepted"]

    reached = f.acute_referral(by=coordinator)
    Referral.objects.filter(pk=reached.pk).update(reached_at=timezone.now())
    answer = client.post(_url(reached), {"urgency": "next_day", "reason": "Bedre"}, format="json")
    assert (answer.status_code, answer.json()["error"]["code"]) == (
        409,
        "referral.retriage_reached",
    )
    reached.refresh_from_db()
    assert reached.urgency == "within_2_hours"


def test_not_a_coordinator_is_refused_and_audited():
    referral = f.acute_referral()
    nurse, _shift = f.acute_nurse_on_shift()
    answer = f.client_for(nurse).post(
        _url(referral), {"urgency": "next_day", "reason": "Bedre"}, format="json"
    )
    assert answer.status_code == 403
    referral.refresh_from_db()
    assert referral.urgency == "within_2_hours"
    assert AuditEntry.objects.filter(
        citizen_id=referral.citizen_id, outcome="denied", actor_user_id=nurse.user_id
    ).exists()


def test_the_referral_page_changes_the_urgency_in_danish():
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(urgency="within_2_hours", by=coordinator)
    client = _login(coordinator)
    page = client.get(f"/coordinator/referrals/{referral.pk}/").content.decode()
    assert f'action="/coordinator/referrals/{referral.pk}/urgency/"' in page
    assert "Skift hastegrad" in page

    refused = client.post(
        f"/coordinator/referrals/{referral.pk}/urgency/", {"urgency": "next_day", "reason": ""}
    )
    assert refused.status_code == 400
    assert "Angiv hvorfor hastegraden ændres." in refused.content.decode()
    referral.refresh_from_db()
    assert referral.urgency == "within_2_hours"

    changed = client.post(
        f"/coordinator/referrals/{referral.pk}/urgency/",
        {"urgency": "next_day", "reason": "Hun har det bedre"},
    )
    assert changed.status_code == 302
    referral.refresh_from_db()
    assert referral.urgency == "next_day"
    assert _changes(referral)[0]["reason"] == "Hun har det bedre"
