"""An accept that loses the race to the expiry job is told it came too late
(``visit.answer_too_late``), as an accept sent after the time ran out is, at
every door: the job took the row first and withdrew the assignment, so
"a visit that is cancelled cannot be accepted" would leave the nurse
guessing why."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from acute import selectors, services
from acute.clinical import selectors as clinical_selectors
from acute.models import Visit
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.errors import Conflict
from core.models import Role
from tests import factories as f
from tests.acute.test_pages import _assigned, _login

pytestmark = pytest.mark.django_db


def _expire(visit: Visit) -> None:
    """The expiry job, run as if its time had come: it cancels the visit."""
    assert services.visits_expire_unanswered(now=visit.respond_by + dt.timedelta(seconds=1)) == 1


def _too_late_refusals(visit: Visit) -> int:
    return AuditEntry.objects.filter(
        citizen_id=visit.citizen_id,
        outcome="denied",
        reason_code="visit.answer_too_late",
        resource_id=f"visit-{visit.pk}",
    ).count()


def test_an_accept_after_the_time_ran_out_is_too_late():
    nurse, _, visit = _assigned()
    Visit.objects.filter(pk=visit.pk).update(respond_by=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(Conflict) as refused:
        services.visit_accept(visit=visit, actor=Actor.for_membership(nurse))
    assert refused.value.code == "visit.answer_too_late"


def test_an_accept_that_the_expiry_job_beat_to_the_row_is_too_late_and_audited():
    nurse, _, visit = _assigned()
    # She read the visit (through the gate) while it was still assigned; the
    # job cancelled it before her accept locked the row.
    seen = Visit.objects.get(pk=visit.pk)
    _expire(visit)
    with pytest.raises(Conflict) as refused:
        services.visit_accept(visit=seen, actor=Actor.for_membership(nurse))
    assert refused.value.code == "visit.answer_too_late"
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED
    assert visit.cancel_reason == Visit.CancelReason.NO_ANSWER
    assert visit.accepted_at is None
    assert _too_late_refusals(visit) == 1


def test_a_cancelled_visit_withdrawn_otherwise_is_still_not_accepted_as_a_transition():
    nurse, _, visit = _assigned()
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    seen = Visit.objects.get(pk=visit.pk)
    services.visit_withdraw(visit=visit, note="", actor=Actor.for_membership(coordinator))
    with pytest.raises(Conflict) as refused:
        services.visit_accept(visit=seen, actor=Actor.for_membership(nurse))
    assert refused.value.code == "visit.transition_not_allowed"


def _job_runs_after_the_gate(monkeypatch: pytest.MonkeyPatch, module, visit: Visit) -> None:
    """The door's gate lets the accept through, then the job commits its
    cancellation before the service locks the row."""
    real = module.visit_get if module is selectors else module.visit_access

    def gate_then_job(**kwargs):
        found = real(**kwargs)
        _expire(visit)
        return found

    monkeypatch.setattr(module, real.__name__, gate_then_job)


def test_the_api_accept_that_loses_the_race_is_a_409_too_late(monkeypatch):
    nurse, _, visit = _assigned()
    _job_runs_after_the_gate(monkeypatch, selectors, visit)
    response = f.client_for(nurse).post(f"/api/acute/visits/{visit.pk}/accept", format="json")
    assert response.status_code == 409, response.json()
    assert response.json()["error"]["code"] == "visit.answer_too_late"
    assert _too_late_refusals(visit) == 1


def test_the_tablet_accept_that_loses_the_race_shows_too_late(monkeypatch):
    nurse, _, visit = _assigned()
    client = _login(nurse)
    _job_runs_after_the_gate(monkeypatch, clinical_selectors, visit)
    response = client.post(f"/nurse/visits/{visit.pk}/step/", {"step": "accept"})
    assert _too_late_refusals(visit) == 1
    # Her access ended with the visit (R1): the page says only why it went.
    assert response.status_code == 403
    assert "Intet svar i tide" in response.content.decode()
