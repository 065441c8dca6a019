"""What every clinical write checks first: a named member of staff, the visit's
status, times that can be true (the tablet's time judged as on every door,
not before the visit or the referral, not after the citizen's registered
death), a delegation (R7),
and who is the responsible physician; and :func:`refuse`, which records a
refusal as a denied attempt (R9)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.functional import Promise

from acute.clinical.audit import clinical_denied
from acute.clinical.models import (
    Delegation,
    TestDefinition,
)
from acute.models import Referral, Visit
from acute.services import tablet_time_judged
from consent.audit.services import Action
from core.actors import Actor
from core.deaths import CLOCK_SKEW, after_death
from core.errors import (
    Forbidden,
    InvalidInput,
    PlatformError,
    PreconditionFailed,
)
from core.locks import citizen_lock
from core.messages import either, label, lowercase
from core.models import Membership, Organisation, Role, User
from core.times import naive_refused

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
# Tablets' clocks drift: a time a little ahead of ours is not "in the future"
# (``core.deaths.CLOCK_SKEW``, one skew for every door). A referral by phone
# is typed in during or after the call, and what the physician delegated in
# that call is a little older than the referral.
REFERRAL_CALL = dt.timedelta(hours=1)
RESULT_STATUSES = (Visit.Status.ON_SITE,)


def refuse(
    error: PlatformError, *, actor: Actor, citizen_id: int, resource_type: str
) -> PlatformError:
    """Record a refused write as a denied attempt (R9), then hand the error back to raise."""
    clinical_denied(
        actor, Action.CREATE, error.code, citizen_id, resource_type=resource_type, rule=error.rule
    )
    return error


def require_user(actor: Actor) -> User:
    if actor.user is None or actor.organisation is None:
        raise Forbidden("actor.required", "Only a member of staff can do this.")
    return actor.user


def require_visit_status(visit: Visit, allowed: Sequence[str], what: str | Promise) -> None:
    if visit.status not in allowed:
        raise PreconditionFailed(
            "visit.wrong_status",
            # Statuses by code, not by their labels in the active language:
            # the sentence is English (core.messages has the Danish one).
            f"{what} can only be recorded while the visit is "
            + " or ".join(s.replace("_", " ") for s in allowed)
            + f"; it is {visit.status.replace('_', ' ')}.",
            params={
                "what": what,
                "allowed": either(lowercase(Visit.Status(s).label) for s in allowed),
                "status": lowercase(Visit.Status(visit.status).label),
            },
        )


class _VisitMoved(Exception):
    """The visit left the statuses a write needs while it waited for the lock."""


@contextmanager
def visit_held(
    *,
    visit: Visit,
    allowed: Sequence[str],
    what: str | Promise,
    actor: Actor,
    resource_type: str,
) -> Iterator[Visit]:
    """One transaction with the visit's row locked and its status checked
    under the lock: completing or cancelling a visit takes the same lock, so a
    write lands before the visit ends or is refused after it — never on a
    visit ended at the same moment. ``visit.status`` is refreshed from the
    locked row. A refusal is recorded as a denied attempt (R9) after the
    transaction is rolled back, so the entry stays."""
    try:
        with transaction.atomic():
            # Her row before the visit's (the lock order, ``core.locks``): the
            # write's rows name her, so a withdrawal or a death holding her row
            # and waiting for this visit would otherwise deadlock with it.
            citizen_lock(visit.citizen_id)
            status = (
                Visit.objects.select_for_update()
                .filter(pk=visit.pk)
                .values_list("status", flat=True)
                .get()
            )
            visit.status = status
            if status not in allowed:
                raise _VisitMoved
            yield visit
    except _VisitMoved:
        try:
            require_visit_status(visit, allowed, what)
        except PlatformError as error:
            raise refuse(
                error, actor=actor, citizen_id=visit.citizen_id, resource_type=resource_type
            ) from None
        raise  # pragma: no cover - the status was outside ``allowed``


def not_in_future(when: dt.datetime, *, field: str) -> None:
    """A time staff state that is not the tablet's time of a clinical act (a
    withdrawal the physician phoned in to the coordinator): not ahead of the
    server's clock, yet of any age. The tablet's times go through
    :func:`acute.services.tablet_time_judged`."""
    if timezone.is_naive(when):
        raise naive_refused(field)
    if when > timezone.now() + CLOCK_SKEW:
        raise InvalidInput("time.in_future", "The time lies in the future.", field=field)


def not_before_visit(when: dt.datetime, visit: Visit, *, field: str) -> None:
    """What is measured or done on a visit happens after the nurse was sent: a
    time before that is a slip of the keys (a year, a day), not a late entry
    (one written offline is still after it), and would reach the GP and the
    record dated wrong."""
    if when < visit.assigned_at - CLOCK_SKEW:
        raise InvalidInput(
            "time.before_visit", "The time lies before the visit was assigned.", field=field
        )


def not_before_referral(when: dt.datetime, visit: Visit, *, field: str) -> None:
    """What a physician gives the acute function for this citizen (a
    delegation) belongs to the acute episode the visit is part of: it cannot
    be older than the referral that opened it (less the length of the call it
    came in), and an older time is a slip of the keys or another episode's.
    A referral carried over from an episode that ended before it was triaged
    is older than the episode it joined: the earliest referral counts."""
    first = Referral.objects.filter(episode_id=visit.episode_id).aggregate(
        first=Min("received_at")
    )["first"]
    referred = min(visit.episode.opened_at, first) if first else visit.episode.opened_at
    if when < referred - REFERRAL_CALL:
        raise InvalidInput(
            "time.before_referral",
            "The time lies before the citizen was referred to the acute function.",
            field=field,
        )


def not_after_death(
    when: dt.datetime, visit: Visit, *, actor: Actor, field: str, resource_type: str
) -> None:
    """Nothing is measured, done, delegated or ordered for a citizen after her
    registered death; what happened before it may still be written down. A
    refusal is a denied attempt on her record (R9)."""
    if after_death(visit.citizen, when):
        raise refuse(
            InvalidInput(
                "time.after_death",
                "The time lies after the citizen's registered death.",
                field=field,
            ),
            actor=actor,
            citizen_id=visit.citizen_id,
            resource_type=resource_type,
        )


def within_visit(
    when: dt.datetime, visit: Visit, *, actor: Actor, field: str, resource_type: str
) -> None:
    """When something was measured, done or ordered on a visit: her tablet's
    time, judged by the one rule of every door
    (:func:`acute.services.tablet_time_judged`: not ahead of the server's
    clock, not more than a day back), not before the nurse was sent, not
    after the citizen's registered death. Each refusal is a denied attempt
    on her record (R9), whichever door the time came through (an entry the
    tablet queued offline too)."""
    try:
        if timezone.is_naive(when):
            raise naive_refused(field)
        # Before the visit says more than "too old": a slip of the keys.
        not_before_visit(when, visit, field=field)
        tablet_time_judged(when, field=field)
    except PlatformError as error:
        raise refuse(
            error, actor=actor, citizen_id=visit.citizen_id, resource_type=resource_type
        ) from None
    not_after_death(when, visit, actor=actor, field=field, resource_type=resource_type)


def catalogue_entry(code: str, *, kind: str, field: str) -> TestDefinition:
    test = TestDefinition.objects.filter(code=code, kind=kind, is_active=True).first()
    if test is None:
        raise InvalidInput(
            "catalogue.unknown",
            "No test with this code in the catalogue."
            if kind == TestDefinition.Kind.OBSERVATION
            else "No procedure with this code in the catalogue.",
            field=field,
        )
    return test


def delegation_or_refuse(
    *, actor: Actor, visit: Visit, test: TestDefinition, resource_type: str, when: dt.datetime
) -> Delegation | None:
    """R7: predefined tests need nothing; anything else needs this visit's
    delegation, given before the test was taken or the procedure done
    (``when``): a delegation recorded afterwards does not make a task taken
    without one delegated."""
    if test.predefined:
        return None
    delegation = Delegation.objects.filter(visit=visit, test=test).first()
    if delegation is None:
        code = "clinical.delegation_required"
        message = (
            f"{test.display} is not one of the predefined tests (R7): a physician's "
            "delegation for this citizen and this task must be recorded on the visit first."
        )
    # A naive time is refused with the other time checks (time.naive).
    elif timezone.is_aware(when) and when < delegation.delegated_at - CLOCK_SKEW:
        code = "clinical.delegation_after_task"
        message = (
            f"{test.display} was taken or done before the physician delegated it (R7): "
            "a delegation counts from when it was given."
        )
    else:
        return delegation
    raise refuse(
        Forbidden(code, message, rule="R7", params={"test": label(test.display)}),
        actor=actor,
        citizen_id=visit.citizen_id,
        resource_type=resource_type,
    )


def physician_by_authorisation(authorisation_id: str) -> Membership | None:
    """The physician's membership in force now: one that has run out names
    no one who can confirm the order, so the platform's reminders go to the
    coordinators instead."""
    if not authorisation_id:
        return None
    return (
        Membership.objects.in_force()
        .select_related("user", "organisation")
        .filter(
            # An authorisation ID is letters and digits, the same however the
            # nurse heard and typed them ("0a1b2" is 0A1B2).
            user__authorisation_id__iexact=authorisation_id,
            role=Role.PHYSICIAN,
        )
        .order_by("-is_default", "pk")
        .first()
    )


def stated_physician_or_refuse(
    *,
    actor: Actor,
    visit: Visit,
    authorisation_id: str,
    refusal: PlatformError,
    resource_type: str,
) -> Membership | None:
    """The physician a nurse names as having delegated a task (R7) or given
    an order by phone (R8), by her authorisation id. The platform cannot know
    every physician who phones (a GP, the 1813 doctor), so an id it does not
    hold is taken as stated; but the recording nurse's own, or one it holds
    for members of staff none of whom is a physician, names no physician:
    ``refusal`` is raised, audited as a denied attempt (R9)."""
    if not authorisation_id:
        return None  # refused with the record's other fields
    own = (
        actor.user is not None
        and actor.user.authorisation_id.strip().upper() == authorisation_id.upper()
    )
    physician = None if own else physician_by_authorisation(authorisation_id)
    if physician is not None:
        return physician
    holders = User.objects.filter(authorisation_id__iexact=authorisation_id)
    if own or (holders.exists() and not holders.filter(memberships__role=Role.PHYSICIAN).exists()):
        raise refuse(refusal, actor=actor, citizen_id=visit.citizen_id, resource_type=resource_type)
    return None


def gp_referral(visit: Visit) -> Referral | None:
    """The GP's referral behind this visit, if the GP asked for it."""
    if visit.referral is not None:
        return visit.referral if visit.referral.source == Referral.Source.GP else None
    return (
        Referral.objects.filter(episode_id=visit.episode_id, source=Referral.Source.GP)
        .select_related("source_organisation")
        .order_by("received_at")
        .first()
    )


# --- Delegations -----------------------------------------------------------


def responsible_physician(visit: Visit) -> tuple[User | None, Organisation | None]:
    """Who carries treatment responsibility for the visit's episode: the referral's
    responsible physician, matched to a user of that organisation by name when
    possible; otherwise the organisation itself."""
    referral = visit.referral or (
        Referral.objects.filter(episode_id=visit.episode_id).order_by("received_at").first()
    )
    if referral is None:
        return None, None
    organisation = referral.responsible_physician_organisation or referral.source_organisation
    if organisation is None:
        return None, None
    name = referral.responsible_physician_name.strip().lower()
    for membership in Membership.objects.select_related("user").filter(
        organisation=organisation, role=Role.PHYSICIAN, is_active=True
    ):
        if membership.user.display_name.strip().lower() == name:
            return membership.user, organisation
    return None, organisation
