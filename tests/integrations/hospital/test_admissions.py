"""R12: the hospital's admission notification, over real HTTP from the hospital
simulator, pauses what the acute function had not yet started for the citizen
— visits are withdrawn, referrals no nurse is on are put on hold with a warning
on the coordinator's board — and the discharge resumes them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from acute import services as acute
from acute.models import DeadlineWarning, Referral, Visit
from consent.audit.models import Action, AuditEntry
from core.actors import Actor
from core.models import Role
from tests import factories as f
from tests.integrations.helpers import ack_of, notify_hospital, visit_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _notify(sim, citizen, *, admitted: bool) -> None:
    assert (
        ack_of(notify_hospital(sim, citizen, encounter_id="E-hold", admitted=admitted))[0] == "ok"
    )


def test_r12_an_admission_holds_the_citizens_open_referrals_and_a_discharge_resumes_them(
    live_network,
) -> None:
    citizen = f.citizen()
    coordinator = f.staff(Role.COORDINATOR, live_network.acute)
    untriaged = f.acute_referral(person=citizen, accepted=False, by=coordinator)
    visit = visit_for(citizen, live_network.acute)  # accepted, a nurse assigned
    other_citizen = f.acute_referral(accepted=False, by=coordinator)

    _notify(live_network.sims["hospital"], citizen, admitted=True)

    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED
    # Kept for staff to read, so in Danish.
    assert visit.cancel_note == "Borgeren blev indlagt på hospitalet."
    held = Referral.objects.filter(on_hold_since__isnull=False)
    # The untriaged referral and the one whose visit was just withdrawn; not
    # another citizen's.
    assert set(held.values_list("pk", flat=True)) == {untriaged.pk, visit.referral_id}
    assert set(held.values_list("on_hold_reason", flat=True)) == {"hospital_admission"}

    # The coordinator's board shows the hold the way it shows deadline warnings.
    client = f.client_for(coordinator)
    board = {r["id"]: r for r in client.get("/api/acute/referrals").json()["results"]}
    row = board[untriaged.pk]
    assert row["on_hold"]["reason"] == "hospital_admission"
    [warning] = row["warnings"]
    assert warning["kind"] == "admitted"
    assert board[other_citizen.pk]["on_hold"] is None
    assert board[other_citizen.pk]["warnings"] == []

    # While in hospital no deadline warning is raised for it, and nobody is sent.
    assert acute.deadline_watch(now=untriaged.deadline_at + dt.timedelta(minutes=1))
    assert not DeadlineWarning.objects.filter(
        referral=untriaged, kind=DeadlineWarning.Kind.OVERDUE
    ).exists()
    assert (
        acute.dispatch_auto_assign(
            referral=Referral.objects.get(pk=untriaged.pk),
            actor=Actor.for_membership(coordinator),
        )
        is None
    )

    # Audited, on behalf of the hospital's message.
    holds = AuditEntry.objects.filter(
        citizen_id=citizen.pk, action=Action.UPDATE, detail__step="on_hold"
    )
    assert set(holds.values_list("resource_id", flat=True)) == {
        str(untriaged.pk),
        str(visit.referral_id),
    }
    assert set(holds.values_list("task", flat=True)) == {"integrations.process_message"}

    # Discharged: the referrals resume and the warning says when she came home.
    _notify(live_network.sims["hospital"], citizen, admitted=False)
    assert not Referral.objects.filter(on_hold_since__isnull=False).exists()
    warning_row = DeadlineWarning.objects.get(
        referral=untriaged, kind=DeadlineWarning.Kind.ADMITTED
    )
    assert "discharged_at" in warning_row.detail
    resumed = AuditEntry.objects.filter(
        citizen_id=citizen.pk, action=Action.UPDATE, detail__step="resumed"
    )
    assert resumed.count() == 2
    # Deadline watch takes it again.
    later = timezone.now() + dt.timedelta(days=2)
    acute.deadline_watch(now=later)
    assert DeadlineWarning.objects.filter(
        referral=untriaged, kind=DeadlineWarning.Kind.OVERDUE
    ).exists()


def test_r12_an_admission_while_a_nurse_is_with_her_warns_the_coordinator(live_network) -> None:
    """The hospital's own door, as MedCom's: a referral a nurse is already
    with the citizen on is not held (she is there), but the coordinator is
    told on her board that the citizen is reported admitted."""
    citizen = f.citizen()
    visit = visit_for(citizen, live_network.acute)
    assert visit.referral_id is not None
    now = timezone.now()
    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.ON_SITE, on_site_at=now)
    Referral.objects.filter(pk=visit.referral_id).update(reached_at=now)

    _notify(live_network.sims["hospital"], citizen, admitted=True)

    visit.refresh_from_db()
    assert visit.status == Visit.Status.ON_SITE
    referral = Referral.objects.get(pk=visit.referral_id)
    assert referral.on_hold_since is None
    warning = DeadlineWarning.objects.get(referral=referral, kind=DeadlineWarning.Kind.ADMITTED)
    assert warning.detail == {"admission": warning.detail["admission"], "on_hold": False}
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, resource_id=str(referral.pk), detail__step="admitted_warning"
    ).exists()
