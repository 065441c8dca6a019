"""What every write of the acute function shares: its audit entry (R9), the
row locks on a citizen, a referral and a visit in the platform's one lock
order, and opening an episode.

For the use-case modules beside it only; nothing here is re-exported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager

from django.db import transaction
from django.utils import timezone

from acute.models import Episode, Referral, Visit
from consent.audit.services import Action, Purpose, audit_write
from consent.audit.services import Outcome as AuditOutcome
from consent.fhir import judge_free_text
from consent.models import CareRelationship
from consent.services import care_relationship_open
from core.actors import Actor
from core.deaths import CLOCK_SKEW
from core.errors import InvalidInput, PlatformError
from core.locks import citizen_lock
from core.models import Citizen, Organisation
from core.times import naive_refused
from core.validation import full_clean_or_raise, text_at_most

# The care relationships an episode (the acute function) and a visit (the
# nurse) open are found again by these sources when they end.
EPISODE_SOURCE = "acute.episode"
VISIT_SOURCE = "acute.visit"

# What staff write on a visit or an episode (a note, the assessment, the
# outcome's note, a reason): room for any clinical text, yet bounded on every
# door alike, since it travels on in the hand-back and the referrer's message.
VISIT_TEXT_LIMIT = 10000
# The referral's free text: a page and a half each, as much as any referrer
# writes, and no more than the board and the nurse's tablet show. A reason for
# declining one, sent back to the referrer, is bounded alike.
REFERRAL_TEXT_LIMIT = 4000

# A step or an entry her tablet sent later (from its queue, or as the API's
# ``at``) is recorded at the time she took it: within the last day, and a
# little ahead of the server's clock at most (tablets' clocks drift).
STEP_BOUND = dt.timedelta(days=1)
STEP_CLOCK_SKEW = CLOCK_SKEW
TABLET_TIME_IN_FUTURE = (
    "The tablet's time for this entry lies in the future, so it is not recorded;"
    " check the tablet's clock, enter it again and note when it was done."
)
TABLET_TIME_TOO_OLD = (
    "This entry was made more than a day before it reached the server and is not"
    " recorded; enter it again and note when it was done."
)
STEP_OUT_OF_ORDER = "The time of the step lies before the step before it."


def tablet_time_judged(moment: dt.datetime, *, field: str) -> dt.datetime:
    """``moment``, the time her tablet says she did something it sends later
    (an entry of its offline queue, a step's ``at`` on any door), if the
    server takes it as it is: at most :data:`STEP_CLOCK_SKEW` ahead of the
    server's clock (``offline.time_in_future``) and at most
    :data:`STEP_BOUND` back (``offline.time_too_old``). The one rule for
    every door and every clinical time her tablet gives (a step, a note,
    vital signs, a result, a procedure, a phone order, a dose; not a
    delegation's, which is the physician's time): refused on ``field``,
    never moved to the time it arrived. A time without its offset is
    refused as no moment (``time.naive``)."""
    if timezone.is_naive(moment):
        raise naive_refused(field)
    now = timezone.now()
    if moment > now + STEP_CLOCK_SKEW:
        raise InvalidInput("offline.time_in_future", TABLET_TIME_IN_FUTURE, field=field)
    if moment < now - STEP_BOUND:
        raise InvalidInput("offline.time_too_old", TABLET_TIME_TOO_OLD, field=field)
    # In UTC, as it is read back: her step's audit entry says the same instant
    # the same way whichever door and offset it came by.
    return moment.astimezone(dt.UTC)


def step_time(at: dt.datetime | None, *, after: dt.datetime) -> dt.datetime:
    """When a step was taken: now, or ``at``, the time her tablet says she
    took it (a step sent later, from a cellar, is recorded when she took it:
    the referral's deadline is judged at her arrival, not when the tablet
    found a connection). ``at`` is refused, never moved: as any time her
    tablet sends later (:func:`tablet_time_judged`), or before ``after``
    (the visit's previous step or its assignment; the opening of the
    episode it ends), ``visit.step_out_of_order``."""
    if at is None:
        return timezone.now()
    tablet_time_judged(at, field="at")
    if at < after - STEP_CLOCK_SKEW:
        raise InvalidInput("visit.step_out_of_order", STEP_OUT_OF_ORDER, field="at")
    return at


def text_within_limit(text: str, *, field: str) -> str:
    """``text`` if it is at most :data:`VISIT_TEXT_LIMIT` characters, else refused."""
    return text_at_most(
        text,
        VISIT_TEXT_LIMIT,
        code="visit.text_too_long",
        field=field,
        message=f"Write {field} in at most {VISIT_TEXT_LIMIT} characters.",
    )


def free_text_judged(
    *,
    texts: Mapping[str, str],
    actor: Actor,
    citizen_id: int | None,
    action: str,
    resource_type: str,
    resource_id: object = "",
) -> None:
    """R2 on what staff write that travels on beyond the acute function (the
    assessment and the outcome's note into the hand-back and the referrer's
    message): a psychiatric diagnosis written as a code is refused
    (:func:`consent.fhir.judge_free_text`), the attempt a denied one on the
    citizen's record (R9). ``texts`` maps each field to what was written."""
    with refusal_audited(
        actor=actor,
        citizen_id=citizen_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        codes=EVERY_REFUSAL,
    ):
        for field, text in texts.items():
            judge_free_text(text, element=field)


def audit(
    *,
    actor: Actor,
    action: str,
    citizen_id: int | None,
    resource_type: str,
    resource_id: object = "",
    detail: dict[str, object] | None = None,
    reason_code: str = "acute_function",
    outcome: str = AuditOutcome.PERMITTED,
) -> None:
    """One audit entry for the acute function's own work: its purpose is treatment."""
    audit_write(
        actor=actor,
        action=action,
        purpose=Purpose.TREATMENT,
        citizen_id=citizen_id,
        outcome=outcome,
        resource_type=resource_type,
        resource_id=str(resource_id),
        reason_code=reason_code,
        detail=detail,
    )


# ``refusal_audited(codes=EVERY_REFUSAL)``: whatever refuses the work is audited.
EVERY_REFUSAL = None


@contextmanager
def refusal_audited(
    *,
    actor: Actor,
    citizen_id: int | None,
    action: str,
    resource_type: str,
    resource_id: object = "",
    detail: dict[str, object] | None = None,
    codes: Collection[str] | None = (),
    rules: Collection[str] = (),
    reasons: Mapping[str, str] | None = None,
) -> Iterator[None]:
    """One transaction whose refusal, by one of ``codes`` (every refusal with
    ``EVERY_REFUSAL``) or ``rules``, is a denied attempt on the citizen's
    record (R9): its reason is the refusal's code, or what ``reasons`` names
    for it, and, when refusals are picked by rule, its detail says which rule.

    The entry is written after the refused transaction has rolled back, so it
    stays: it commits with the caller's transaction, which must therefore not
    be a savepoint rolled back for the same refusal. (A partner's message,
    refused as a whole, records its own.)"""
    try:
        with transaction.atomic():
            yield
    except PlatformError as exc:
        picked = codes is EVERY_REFUSAL or exc.code in codes
        if picked or (exc.rule is not None and exc.rule in rules):
            audit(
                actor=actor,
                action=action,
                citizen_id=citizen_id,
                outcome=AuditOutcome.DENIED,
                resource_type=resource_type,
                resource_id=resource_id,
                reason_code=(reasons or {}).get(exc.code, exc.code),
                detail={"rule": exc.rule, **(detail or {})} if rules else detail,
            )
        raise


def referral_refusals_audited(
    referral: Referral,
    *,
    actor: Actor,
    detail: dict[str, object],
    codes: Collection[str] | None,
) -> AbstractContextManager[None]:
    """A step on a referral whose refusal by one of ``codes`` (every refusal
    with ``EVERY_REFUSAL``) is a denied attempt on the citizen's record (R9),
    written after the refused writes rolled back."""
    return refusal_audited(
        actor=actor,
        action=Action.UPDATE,
        citizen_id=referral.citizen_id,
        resource_type="ServiceRequest",
        resource_id=referral.pk,
        detail=detail,
        codes=codes,
    )


def creation_refused_audit(
    *,
    actor: Actor,
    citizen_id: int | None,
    resource_type: str,
    reason_code: str,
    detail: dict[str, object] | None = None,
) -> None:
    """A refused attempt to create something for a citizen is audited too (R9)."""
    audit(
        actor=actor,
        action=Action.CREATE,
        citizen_id=citizen_id,
        outcome=AuditOutcome.DENIED,
        resource_type=resource_type,
        reason_code=reason_code,
        detail=detail,
    )


def visit_audit(
    visit: Visit,
    actor: Actor,
    detail: dict[str, object],
    *,
    action: str = Action.UPDATE,
    resource_type: str = "Encounter",
    reason_code: str = "acute_function",
) -> None:
    """The audit entry of a write on a visit: its step, or what was documented."""
    audit(
        actor=actor,
        action=action,
        citizen_id=visit.citizen_id,
        resource_type=resource_type,
        resource_id=f"visit-{visit.pk}",
        detail=detail,
        reason_code=reason_code,
    )


def referral_audit(
    referral: Referral, actor: Actor, detail: dict[str, object], *, action: str = Action.UPDATE
) -> None:
    """The audit entry of a write on a referral (FHIR ServiceRequest)."""
    referral_audit_by_id(referral.pk, referral.citizen_id, actor, detail, action=action)


def referral_audit_by_id(
    referral_id: int,
    citizen_id: int,
    actor: Actor,
    detail: dict[str, object],
    *,
    action: str = Action.UPDATE,
) -> None:
    """:func:`referral_audit` of a referral read as its id and citizen alone."""
    audit(
        actor=actor,
        action=action,
        citizen_id=citizen_id,
        resource_type="ServiceRequest",
        resource_id=referral_id,
        detail=detail,
    )


# Her row first, then her referrals, the episode, its visits: the platform's
# one lock order (``core.locks``). ``referral_lock`` and ``visit_lock`` take
# her row themselves; a write that starts from the episode, or from several
# of her referrals or visits, calls ``citizen_lock`` first.


def referral_lock(referral: Referral) -> Referral:
    """The referral read again with its row locked, after the citizen's."""
    citizen_lock(referral.citizen_id)
    return (
        Referral.objects.select_for_update(of=("self",))
        .select_related("citizen")
        .get(pk=referral.pk)
    )


def episode_referrals_lock(episode_id: int) -> None:
    """Lock the episode's open referrals, by id, after the citizen's row and
    before the episode's (the lock order, ``core.locks``)."""
    list(
        Referral.objects.select_for_update(of=("self",))
        .filter(
            episode_id=episode_id,
            status__in=[Referral.Status.RECEIVED, Referral.Status.ACCEPTED],
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def visit_lock(visit: Visit) -> Visit:
    """The visit read again with its row locked, after the citizen's."""
    citizen_lock(visit.citizen_id)
    return Visit.objects.select_for_update(of=("self",)).select_related("citizen").get(pk=visit.pk)


def acute_function_serving(citizen: Citizen) -> Organisation | None:
    """The joint acute function serving the citizen's municipality, if any."""
    return (
        Organisation.objects.filter(
            kind=Organisation.Kind.ACUTE_FUNCTION, is_active=True, serves=citizen.municipality_id
        )
        .order_by("pk")
        .first()
    )


def episode_new(citizen: Citizen) -> Episode:
    """A new open episode for the citizen, in the municipality that serves her."""
    episode = Episode(citizen=citizen, municipality_id=citizen.municipality_id)
    full_clean_or_raise(episode, code="episode.invalid")
    episode.save(force_insert=True)
    return episode


def episode_relationship_open(
    citizen: Citizen, episode: Episode, acute_function: Organisation
) -> None:
    """The acute function's care relationship with the citizen through an
    episode with a referral (R1), ended with the episode."""
    care_relationship_open(
        citizen=citizen,
        organisation=acute_function,
        basis=CareRelationship.Basis.REFERRAL,
        source_type=EPISODE_SOURCE,
        source_id=str(episode.pk),
    )
