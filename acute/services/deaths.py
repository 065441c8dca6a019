"""What a citizen's registered death (*dødsfald*) means for the acute
function, whichever door reports it: the hospital's HospitalNotification
(R12, :func:`citizen_death_register`) or her Patient updated over FHIR
(``consent``, which tells us through :data:`core.deaths.citizen_died`).
Both end in :func:`citizen_death_follow`, so a death closes the same things
whoever reports it: her visits not yet at the door are withdrawn, her
referrals no nurse has reached are closed (:func:`referrals_close_on_death`)
and her open episode ends with the outcome died.

A death withdrawn as reported in error, by the hospital's correction
(:func:`citizen_death_withdraw`, which lifts the registration here) or on her
Patient (``consent`` lifts it and tells us through
:data:`core.deaths.citizen_death_withdrawn`), warns the coordinator of every
episode that ended on it (:func:`death_withdrawn_warn`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from acute.models import DeadlineWarning, Episode, Outcome, Referral, Visit
from acute.services._common import audit, referral_audit
from acute.services.admissions import (
    admitted_warning,
    unreached_locked,
    visits_withdrawn_detail,
)
from acute.services.episodes import episode_complete
from acute.services.visits import visit_withdraw
from consent.audit.services import Action
from core.actors import Actor
from core.deaths import DECEASED_MESSAGE, death_day_kept
from core.models import Citizen
from core.validation import full_clean_changed

DEATH_NOTE = DECEASED_MESSAGE
# Visits not yet at the door: a nurse on site finishes hers, documenting up
# to the time of death, and completes it.
WITHDRAWN_ON_DEATH = (Visit.Status.ASSIGNED, Visit.Status.ACCEPTED, Visit.Status.EN_ROUTE)


def citizen_death_follow(
    *,
    citizen_id: int,
    died_at: dt.datetime,
    reported: dict[str, Any],
    actor: Actor,
    died_on: dt.date | None = None,
) -> dict[str, list[int]]:
    """The citizen is registered dead: the visits not yet at her door are
    withdrawn (no nurse drives out), and her referrals no nurse has reached
    are closed with a warning on the board. Runs inside the transaction that
    registers the death; ``reported`` says by what (kept on the warning),
    ``died_on`` the day where the death was given as a day."""
    # The note is kept with the visit for staff to read: written in the
    # platform's language, whatever language the door that reported it speaks.
    with translation.override(settings.LANGUAGE_CODE):
        note = translation.gettext(DEATH_NOTE)
    with transaction.atomic(savepoint=False):
        withdrawn = []
        for visit in Visit.objects.filter(
            citizen_id=citizen_id, status__in=WITHDRAWN_ON_DEATH
        ).order_by("pk"):
            withdrawn.append(
                visit_withdraw(
                    visit=visit, note=note, actor=actor, reason=Visit.CancelReason.DECEASED
                )
            )
        closed = referrals_close_on_death(
            citizen_id=citizen_id,
            died_at=died_at,
            died_on=died_on,
            reported=reported,
            actor=actor,
            withdrawn=withdrawn,
        )
        ended = _episode_end_on_death(citizen_id=citizen_id, actor=actor)
    return {
        "visits_withdrawn": [visit.pk for visit in withdrawn],
        "referrals_closed": closed,
        "episodes_ended": ended,
    }


def _episode_end_on_death(*, citizen_id: int, actor: Actor) -> list[int]:
    """Her open episode ends with the outcome died, as any episode ends
    (R11): its referrals close, the referrer is told the outcome and her own
    home nursing gets the hand-back saying so (nobody is asked to take over
    her care; a partner nobody speaks for is raised on the board). While a
    nurse is at her door the episode stays open: she completes her visit,
    and only the outcome died is taken from her."""
    episode = Episode.objects.filter(citizen_id=citizen_id, status=Episode.Status.OPEN).first()
    if episode is None or episode.visits.filter(status=Visit.Status.ON_SITE).exists():
        return []
    episode_complete(episode=episode, outcome=Outcome.DIED, actor=actor)
    return [episode.pk]


def referrals_close_on_death(
    *,
    citizen_id: int,
    died_at: dt.datetime,
    reported: dict[str, object],
    actor: Actor,
    withdrawn: Sequence[Visit] = (),
    died_on: dt.date | None = None,
) -> list[int]:
    """The citizen is registered dead: her referrals still open (received or
    accepted, no nurse reached her) are closed — no nurse is sent — with the
    board's ``deceased`` warning saying so (``reported``: by what, such as the
    hospital stay). Withdraw the visits first
    (:func:`citizen_death_follow` does both): a referral's warning names the
    visit withdrawn from it and its nurse (``withdrawn``). A death given as
    a day says so on the warning (``deceased_on``, beside its first moment
    in ``deceased_at``), for the board and ``/api/`` to give the day, not a
    time of day. Returns the closed referrals' ids."""
    extra = visits_withdrawn_detail(withdrawn)
    died = {"deceased_at": died_at.isoformat()}
    day = death_day_kept(died_at, died_on)
    if day is not None:
        died["deceased_on"] = day.isoformat()
    with transaction.atomic(savepoint=False):
        referrals = list(unreached_locked(citizen_id))
        # A nurse at her door finishes and documents her visit (not withdrawn,
        # its referral not closed under her): she and the coordinator are told.
        under_way = list(
            Visit.objects.filter(
                citizen_id=citizen_id, status=Visit.Status.ON_SITE, referral__isnull=False
            )
            .select_related("referral")
            .order_by("pk")
        )
        for visit in under_way:
            assert visit.referral is not None
            admitted_warning(
                visit.referral,
                raised_at=timezone.now(),
                detail={
                    **reported,
                    **died,
                    "visit_under_way": visit.pk,
                },
                kind=DeadlineWarning.Kind.DECEASED,
            )
            referral_audit(visit.referral, actor, {"step": "deceased_warning", "visit": visit.pk})
        for referral in referrals:
            referral.status = Referral.Status.CLOSED
            referral.on_hold_since = None
            referral.on_hold_reason = ""
            full_clean_changed(referral, fields=["status", "on_hold_since", "on_hold_reason"])
            referral.save(update_fields=["status", "on_hold_since", "on_hold_reason"])
            admitted_warning(
                referral,
                raised_at=timezone.now(),
                detail={
                    **reported,
                    **died,
                    **extra.get(referral.pk, {}),
                },
                kind=DeadlineWarning.Kind.DECEASED,
            )
            referral_audit(referral, actor, {"step": "closed", "reason": "deceased"})
    return [r.pk for r in referrals]


def citizen_death_register(
    *,
    citizen_id: int,
    died_at: dt.datetime,
    admission: str,
    actor: Actor,
    died_on: dt.date | None = None,
) -> dict[str, list[int]]:
    """The hospital reports the citizen dead (HospitalNotification): she is
    registered deceased, unless she already is, and the death is followed
    as every door's is. A death given as a day alone keeps that day
    (``died_on``; ``died_at`` is its first moment)."""
    with transaction.atomic(savepoint=False):
        citizen = Citizen.objects.select_for_update().get(pk=citizen_id)
        if citizen.deceased_at is None:
            citizen.deceased_at = died_at
            citizen.deceased_on = death_day_kept(died_at, died_on)
            citizen.save(update_fields=["deceased_at", "deceased_on"])
        return citizen_death_follow(
            citizen_id=citizen_id,
            died_at=citizen.deceased_at,
            died_on=citizen.deceased_on,
            reported={"admission": admission},
            actor=actor,
        )


def _deceased_at_set(
    citizen: Citizen,
    deceased_at: dt.datetime | None,
    actor: Actor,
    reason_code: str,
    detail: dict[str, object],
    deceased_on: dt.date | None = None,
) -> None:
    """A hospital's report changes the time of death registered for the
    (locked) citizen, or withdraws it: audited as a Patient update. The day
    of death is kept only where the time is that day's first moment
    (``deceased_on``, a death given as a day); a time of day, or none,
    clears it."""
    citizen.deceased_at = deceased_at
    citizen.deceased_on = death_day_kept(deceased_at, deceased_on)
    citizen.save(update_fields=["deceased_at", "deceased_on"])
    audit(
        actor=actor,
        action=Action.UPDATE,
        citizen_id=citizen.pk,
        resource_type="Patient",
        resource_id=citizen.pk,
        detail=detail,
        reason_code=reason_code,
    )


def citizen_death_withdraw(*, citizen_id: int, admission: str, actor: Actor) -> dt.datetime | None:
    """The hospital corrects a death it reported in error (MedCom: the
    Patient's ``deceasedBoolean`` false, a change from deceased to living):
    she is no longer registered deceased, so referrals, visits and admissions
    are taken again. Referrals closed on the death stay closed: the
    coordinator takes in a new one if she is still to be seen. Returns the
    time of death withdrawn (``None`` when none was registered)."""
    with transaction.atomic(savepoint=False):
        citizen = Citizen.objects.select_for_update().get(pk=citizen_id)
        withdrawn = citizen.deceased_at
        if withdrawn is not None:
            _deceased_at_set(
                citizen,
                None,
                actor,
                reason_code="death_withdrawn",
                detail={"admission": admission, "deceased_at_withdrawn": withdrawn.isoformat()},
            )
            death_withdrawn_warn(
                citizen_id=citizen_id,
                withdrawn=withdrawn,
                reported={"admission": admission},
                actor=actor,
            )
    return withdrawn


def death_withdrawn_warn(
    *, citizen_id: int, withdrawn: dt.datetime, reported: dict[str, object], actor: Actor
) -> list[int]:
    """The citizen's death is withdrawn as reported in error (by the
    hospital, or on her Patient): an episode that ended as died has told
    her referrer so, and her home nursing got a hand-back saying so (R11).
    Each of its referrals not declined gets the board's ``death_withdrawn``
    warning (raised again, unacknowledged, if it was there), for the
    coordinator to correct it with them; audited as a write on the
    referral. Runs inside the transaction that withdraws the death.
    Returns the warned referrals' ids."""
    with transaction.atomic(savepoint=False):
        referrals = list(
            # The referrals' own rows: the episode they are matched on is
            # joined in to be read, not locked.
            Referral.objects.select_for_update(of=("self",))
            .filter(
                citizen_id=citizen_id,
                episode__status=Episode.Status.COMPLETED,
                episode__outcome=Outcome.DIED,
            )
            .exclude(status=Referral.Status.DECLINED)
            .order_by("pk")
        )
        for referral in referrals:
            admitted_warning(
                referral,
                raised_at=timezone.now(),
                detail={
                    **reported,
                    "deceased_at_withdrawn": withdrawn.isoformat(),
                    "episode": referral.episode_id,
                },
                kind=DeadlineWarning.Kind.DEATH_WITHDRAWN,
            )
            referral_audit(referral, actor, {"step": "death_withdrawn_warning"})
    return [r.pk for r in referrals]


def on_citizen_death_withdrawn(
    sender: object, *, citizen_id: int, withdrawn: dt.datetime, actor: Actor, **kwargs: Any
) -> None:
    """Receiver of :data:`core.deaths.citizen_death_withdrawn` (the Patient's
    door): warned as the hospital's correction warns."""
    death_withdrawn_warn(
        citizen_id=citizen_id,
        withdrawn=withdrawn,
        reported={"source": "Patient"},
        actor=Actor.system("acute.death_follow", on_behalf_of=actor),
    )


def on_citizen_died(
    sender: object,
    *,
    citizen_id: int,
    died_at: dt.datetime,
    actor: Actor,
    died_on: dt.date | None = None,
    **kwargs: Any,
) -> None:
    """Receiver of :data:`core.deaths.citizen_died` (the Patient's door)."""
    citizen_death_follow(
        citizen_id=citizen_id,
        died_at=died_at,
        died_on=died_on,
        reported={"source": "Patient"},
        actor=Actor.system("acute.death_follow", on_behalf_of=actor),
    )


def citizen_death_restate(
    *,
    citizen_id: int,
    died_at: dt.datetime,
    admission: str,
    actor: Actor,
    died_on: dt.date | None = None,
) -> dt.datetime | None:
    """A hospital withdraws its own report of the citizen's death while
    another hospital's report of it stands (``died_at``, from its stay
    ``admission``): she stays registered dead, now at the time the standing
    report gives. Nothing her death closed is opened, and nobody is warned
    that the death is withdrawn: it is not. A change of the time is audited
    as a Patient update (reason ``death_restated``), and so is the same
    time now given as a day (``died_on``) or no longer. Returns the time of
    death that stood before."""
    with transaction.atomic(savepoint=False):
        citizen = Citizen.objects.select_for_update().get(pk=citizen_id)
        before = citizen.deceased_at
        day = death_day_kept(died_at, died_on)
        if before != died_at or citizen.deceased_on != day:
            _deceased_at_set(
                citizen,
                died_at,
                actor,
                deceased_on=day,
                reason_code="death_restated",
                detail={
                    "admission": admission,
                    "deceased_at": died_at.isoformat(),
                    "deceased_at_before": before.isoformat() if before else None,
                },
            )
    return before
