"""Hospital admission and discharge (R12): referrals put on hold (*sat i bero*)
while the citizen is admitted and resumed when she comes home, and the
coordinator's stated reason for sending a nurse anyway, checked wherever a
nurse is sent (dispatch and follow-ups). Beside it, what every door that
sends a nurse or ends a visit asks of the hospital's other report, a death
(:func:`visit_for_the_living`, :func:`outcome_for_the_dead`): the visits and
episodes modules ask it, and ``acute.services.deaths``, which follows a
death, builds on them, so the checks sit below both.

One module, a little over 500 lines: the hold (of the referrals open at the
admission, and of one that arrives during the stay), its lifting and the
override asked at dispatch are one rule (R12), whose writes share one set of
prepared statements and the board's warning they raise, and are reviewed
together.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from acute.models import DeadlineWarning, Outcome, Referral, Visit
from acute.services._common import referral_audit_by_id, refusal_audited
from consent.audit.services import Action
from consent.models import HOSPITAL_STAY_SOURCE, CareRelationship
from core.actors import Actor
from core.deaths import DECEASED_MESSAGE, is_registered_dead
from core.errors import Conflict, InvalidInput, PreconditionFailed
from core.logging import scrub
from core.models import Citizen
from core.sql import CompiledQuery, run_prepared
from core.validation import required_text

HOLD_HOSPITAL_ADMISSION = "hospital_admission"
VISIT_CITIZEN_DECEASED = "visit.citizen_deceased"
OUTCOME_CONTRADICTS_DEATH = "outcome.contradicts_death"
HOLD_OVERRIDE_REASON_MAX_LENGTH = 500
ADMITTED_WARNING_FIELDS = ["raised_at", "detail", "acknowledged_at", "acknowledged_by"]

# The services below run inside the transaction of the hospital's message
# (integrations.inbound), which rolls back whole on any error: they join it
# without a savepoint of their own (two round trips each). Called alone, each
# is its own transaction.


def admitted_warning(
    referral: Referral,
    *,
    raised_at: dt.datetime,
    detail: dict,
    kind: str = DeadlineWarning.Kind.ADMITTED,
) -> None:
    """The board's ``admitted`` warning (or another ``kind``: ``deceased``,
    ``death_withdrawn``) for the referral, raised (again): one row per
    referral and kind, written in one statement (an insert that updates the
    row already there)."""
    _admitted_warnings({referral.pk: detail}, raised_at=raised_at, kind=kind)


# The writes of every admission and discharge (R12), one prepared statement
# each on PostgreSQL for any number of referrals; other databases write the
# ORM's way. The warning's upsert is the ORM's ``bulk_create(update_conflicts=
# True)`` of :func:`_admitted_warnings`, the referrals' updates its
# ``update()`` of the same fields. (Each returns the ids it wrote: a prepared
# statement's rows are fetched.)
_WARNING_TABLE = DeadlineWarning._meta.db_table
_WARNINGS_CONFLICT = (
    "ON CONFLICT (referral_id, kind) DO UPDATE SET raised_at = EXCLUDED.raised_at, "
    "detail = EXCLUDED.detail, acknowledged_at = NULL, acknowledged_by_id = NULL"
)
_REFERRAL_TABLE = Referral._meta.db_table
_WARNINGS_UPSERT_SQL = (
    f"INSERT INTO {_WARNING_TABLE} (referral_id, kind, raised_at, detail, "  # noqa: S608
    "acknowledged_at, acknowledged_by_id) "
    "SELECT w.referral_id, %s, %s, w.detail::jsonb, NULL, NULL "
    "FROM unnest(%s::bigint[], %s::text[]) WITH ORDINALITY AS w(referral_id, detail, n) "
    "ORDER BY w.n " + _WARNINGS_CONFLICT + " RETURNING id"
)
_DETAIL_ENCODER = DeadlineWarning._meta.get_field("detail").encoder


def _admitted_warnings(
    details: dict[int, dict],
    *,
    raised_at: dt.datetime,
    kind: str = DeadlineWarning.Kind.ADMITTED,
) -> None:
    """:func:`admitted_warning` for several referrals (``details``: each
    referral's id and its warning's detail), in one statement."""
    if not details:
        return
    if connection.vendor == "postgresql":
        run_prepared(
            _WARNINGS_UPSERT_SQL,
            [
                kind,
                raised_at,
                list(details),
                [json.dumps(detail, cls=_DETAIL_ENCODER) for detail in details.values()],
            ],
        )
        return
    DeadlineWarning.objects.bulk_create(
        [
            DeadlineWarning(
                referral_id=referral_id,
                kind=kind,
                raised_at=raised_at,
                detail=detail,
                acknowledged_at=None,
                acknowledged_by=None,
            )
            for referral_id, detail in details.items()
        ],
        update_conflicts=True,
        unique_fields=["referral", "kind"],
        update_fields=ADMITTED_WARNING_FIELDS,
    )


def unreached_locked(citizen_id: int) -> QuerySet[Referral]:
    """The citizen's open referrals no nurse is on, locked for this transaction."""
    return (
        Referral.objects.select_for_update()
        .filter(
            citizen_id=citizen_id,
            status__in=[Referral.Status.RECEIVED, Referral.Status.ACCEPTED],
            reached_at__isnull=True,
        )
        .exclude(visits__status__in=Visit.ACTIVE_STATUSES)
        .order_by("pk")
    )


def _holdable_locked(citizen_id: int) -> QuerySet[Referral, int]:
    """The ids of the citizen's referrals an admission puts on hold, locked."""
    return (
        unreached_locked(citizen_id).filter(on_hold_since__isnull=True).values_list("pk", flat=True)
    )


def _held_locked(
    citizen_id: int,
) -> QuerySet[Referral, tuple[int, dt.datetime, dt.datetime | None]]:
    """The citizen's referrals held for an admission, locked: id, deadline, held since."""
    return (
        Referral.objects.select_for_update()
        .filter(citizen_id=citizen_id, on_hold_reason=HOLD_HOSPITAL_ADMISSION)
        .order_by("pk")
        .values_list("pk", "deadline_at", "on_hold_since")
    )


def _held_warnings_locked(citizen_id: int) -> QuerySet[DeadlineWarning, tuple[int, dict]]:
    """The ``admitted`` warnings of the citizen's referrals held for an
    admission (each referral's id and the warning's detail), locked."""
    return (
        DeadlineWarning.objects.select_for_update(of=("self",))
        .filter(
            referral__citizen_id=citizen_id,
            referral__on_hold_reason=HOLD_HOSPITAL_ADMISSION,
            kind=DeadlineWarning.Kind.ADMITTED,
        )
        .order_by("pk")
        .values_list("referral_id", "detail")
    )


def _visits_of_the_day(citizen_id: int, start: dt.datetime, end: dt.datetime) -> QuerySet[Visit]:
    """The citizen's visits whose time at her door — when the nurse got
    there, else when it is planned (a follow-up's planned time, the
    estimated arrival), else when it was assigned — falls from ``start`` to
    before ``end``, whenever it was assigned."""
    return (
        Visit.objects.filter(citizen_id=citizen_id)
        .annotate(at=Coalesce("on_site_at", "planned_for", "estimated_arrival_at", "assigned_at"))
        .filter(at__gte=start, at__lt=end)
    )


def _to_warn_locked(
    citizen_id: int, start: dt.datetime, end: dt.datetime
) -> QuerySet[Referral, int]:
    """The ids of the citizen's referrals an admission warns of (not on
    hold: open, or with a visit from ``start`` to ``end``), locked, in one
    statement. A follow-up visit answers no referral of its own: its
    episode's referrals are hers."""
    today = _visits_of_the_day(citizen_id, start, end)
    return (
        Referral.objects.select_for_update()
        .filter(citizen_id=citizen_id, on_hold_since__isnull=True)
        .filter(
            Q(status__in=[Referral.Status.RECEIVED, Referral.Status.ACCEPTED])
            | Q(pk__in=today.exclude(referral=None).values("referral_id"))
            | Q(episode_id__in=today.filter(referral=None).values("episode_id"))
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# The reads of every admission and discharge (R12), compiled once (core/sql.py).
_STAND_IN_CITIZEN = -7_361_004_231
_STAND_IN_START = dt.datetime(1901, 2, 3, tzinfo=dt.UTC)
_STAND_IN_END = dt.datetime(1901, 2, 4, tzinfo=dt.UTC)
_TO_WARN = CompiledQuery(_to_warn_locked, _STAND_IN_CITIZEN, _STAND_IN_START, _STAND_IN_END)


@functools.cache
def _hold_sql(warn: bool = False) -> tuple[str, tuple[object, ...], tuple[object, ...]]:
    """The hold of an admission in one statement on PostgreSQL: her referrals
    an admission puts on hold found and locked in the order of their ids (the
    ORM's :func:`_holdable_locked`), put on hold, and their ``admitted``
    warnings raised as :func:`_admitted_warnings` raises them. With ``warn``,
    the same statement warns of her referrals it does not hold that a nurse
    is on or that have a visit today (the ORM's :func:`_to_warn_locked`,
    locked in the order of their ids), as :func:`referrals_warn_admitted`
    does. Returns each referral's id and whether it was held (true) or
    warned.

    The SQL, then the parameters of the two selects (the stand-ins of the
    citizen and of today's bounds among them). The holdable select's come
    first; the hold's time and reason, and the warning's kind, time and
    detail follow, then what each referral's own warning adds (by the
    referral's id: the visit withdrawn from it); with ``warn``, the other
    select's, then its warnings' kind, time and detail."""
    select, params = (
        _holdable_locked(_STAND_IN_CITIZEN).query.get_compiler(DEFAULT_DB_ALIAS).as_sql()
    )
    steps = [
        f"WITH holdable AS ({select})",
        f"held AS (UPDATE {_REFERRAL_TABLE} AS r SET on_hold_since = %s, on_hold_reason = %s "  # noqa: S608
        "FROM holdable AS h (id) WHERE r.id = h.id RETURNING r.id)",
        f"held_warned AS (INSERT INTO {_WARNING_TABLE} (referral_id, kind, raised_at, detail, "  # noqa: S608
        "acknowledged_at, acknowledged_by_id) "
        "SELECT held.id, %s, %s, %s::jsonb || COALESCE(%s::jsonb -> held.id::text, '{}'), "
        f"NULL, NULL FROM held ORDER BY held.id {_WARNINGS_CONFLICT} RETURNING 1)",
    ]
    result = "SELECT id, TRUE FROM held"
    warn_params: tuple[object, ...] = ()
    if warn:
        to_warn = _to_warn_locked(_STAND_IN_CITIZEN, _STAND_IN_START, _STAND_IN_END)
        warn_select, warn_params = to_warn.query.get_compiler(DEFAULT_DB_ALIAS).as_sql()
        # Read in the statement's one snapshot, the referrals it holds are
        # not yet on hold there: left out by name.
        steps += [
            f"to_warn AS ({warn_select})",
            f"warned AS (INSERT INTO {_WARNING_TABLE} (referral_id, kind, raised_at, detail, "  # noqa: S608
            "acknowledged_at, acknowledged_by_id) "
            "SELECT t.id, %s, %s, %s::jsonb, NULL, NULL FROM to_warn AS t (id) "
            "WHERE t.id NOT IN (SELECT h.id FROM holdable AS h (id)) ORDER BY t.id "
            f"{_WARNINGS_CONFLICT} RETURNING referral_id)",
        ]
        result += " UNION ALL SELECT referral_id, FALSE FROM warned"
    sql = ", ".join(steps) + f" {result} ORDER BY 2 DESC, 1"
    return sql, tuple(params), tuple(warn_params)


def _stand_ins_filled(
    params: tuple[object, ...],
    citizen_id: int,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> list[object]:
    """A compiled select's parameters with the citizen, and today's bounds
    when given, where their stand-ins are."""
    stand_ins: dict[tuple[type, object], object] = {(int, _STAND_IN_CITIZEN): citizen_id}
    if start is not None and end is not None:
        stand_ins[(dt.datetime, _STAND_IN_START)] = start
        stand_ins[(dt.datetime, _STAND_IN_END)] = end
    return [
        stand_ins.get((type(p), p), p) if isinstance(p, int | dt.datetime) else p for p in params
    ]


@functools.cache
def _resume_sql() -> tuple[str, tuple[object, ...]]:
    """The resume of a discharge in one statement on PostgreSQL: her referrals
    held for an admission found and locked in the order of their ids (the
    ORM's :func:`_held_locked`), each resumed with its deadline moved on by
    the time it was held (:func:`_resumed_deadline`, in UTC: a day is 24
    hours), and their ``admitted`` warnings raised again with why the hold
    was lifted added to what they said (as :func:`_admitted_warnings` raises
    a warning already there). Returns each referral's id and its deadline
    before and after. The SQL, and the select's parameters (the citizen's
    stand-in among them); the time now (twice), the warning's time, what it
    adds and its kind follow."""
    select, params = _held_locked(_STAND_IN_CITIZEN).query.get_compiler(DEFAULT_DB_ALIAS).as_sql()
    sql = (
        f"WITH held AS ({select}), "  # noqa: S608
        f"resumed AS (UPDATE {_REFERRAL_TABLE} AS r "
        "SET on_hold_since = NULL, on_hold_reason = '', deadline_at = CASE "
        "WHEN h.since IS NOT NULL AND h.since < %s::timestamptz "
        "THEN ((h.deadline_at AT TIME ZONE 'UTC') + (%s::timestamptz - h.since)) "
        "AT TIME ZONE 'UTC' ELSE h.deadline_at END "
        "FROM held AS h (id, deadline_at, since) WHERE r.id = h.id "
        "RETURNING r.id, h.deadline_at AS before, r.deadline_at AS after), "
        f"warned AS (UPDATE {_WARNING_TABLE} AS w SET raised_at = %s, "
        "detail = w.detail || %s::jsonb, acknowledged_at = NULL, acknowledged_by_id = NULL "
        "WHERE w.kind = %s AND w.referral_id IN (SELECT h.id FROM held AS h (id)) RETURNING 1) "
        "SELECT id, before, after FROM resumed ORDER BY id"
    )
    return sql, tuple(params)


def _resumed_deadline(
    deadline: dt.datetime, on_hold_since: dt.datetime | None, now: dt.datetime
) -> dt.datetime:
    """A held referral's deadline once it resumes: moved on by the time it was
    held, so that it has the time it had left when she was admitted."""
    if on_hold_since is not None and now > on_hold_since:
        return deadline + (now - on_hold_since)
    return deadline


def deadline_while_held(
    deadline: dt.datetime, on_hold_since: dt.datetime | None, now: dt.datetime
) -> dt.datetime:
    """A deadline set ``now`` (counted from now: a re-triage, a resend asking
    for more haste) on a referral held since ``on_hold_since``, as it is kept
    while the clock is paused: moved back by the time already held, since the
    discharge moves every held deadline on by the whole hold
    (:func:`_resumed_deadline`). So it resumes with the time it had when it
    was set, counted from the discharge, not with that time and the hours of
    the stay before it was set too."""
    if on_hold_since is not None and now > on_hold_since:
        return deadline - (now - on_hold_since)
    return deadline


def _held_now(
    citizen_id: int,
    now: dt.datetime,
    admission: str,
    withdrawn: dict[int, dict],
    *,
    warn: bool = False,
) -> list[tuple[int, bool]]:
    """:func:`_hold_sql` run for the citizen: the ids of the referrals held,
    and, with ``warn``, of those warned (each with whether it was held)."""
    sql, hold_params, warn_params = _hold_sql(warn)
    start, end = _today_in_copenhagen(now)
    detail = json.dumps({"admission": admission}, cls=_DETAIL_ENCODER)
    added = json.dumps({str(pk): extra for pk, extra in withdrawn.items()}, cls=_DETAIL_ENCODER)
    kind = DeadlineWarning.Kind.ADMITTED.value
    params = [
        *_stand_ins_filled(hold_params, citizen_id, start, end),
        *(now, HOLD_HOSPITAL_ADMISSION, kind, now, detail, added),
    ]
    if warn:
        warned = json.dumps({"admission": admission, "on_hold": False}, cls=_DETAIL_ENCODER)
        params += [*_stand_ins_filled(warn_params, citizen_id, start, end), kind, now, warned]
    return [(pk, held) for pk, held in run_prepared(sql, params)]


def visits_withdrawn_detail(visits: Sequence[Visit]) -> dict[int, dict]:
    """What the board's warning of each referral says of the visit the
    hospital's report withdrew from it (R12): the visit and the nurse who was
    on it, whom the coordinator phones (she may be on her way). By the
    referral's id; a follow-up visit answers no referral of its own."""
    return {
        visit.referral_id: {"visit_withdrawn": visit.pk, "nurse": visit.nurse_id}
        for visit in visits
        if visit.referral_id is not None
    }


def referrals_hold_for_admission(
    *, citizen_id: int, admission: str, actor: Actor, withdrawn: Sequence[Visit] = ()
) -> list[int]:
    """The hospital reports the citizen admitted: her referrals that no nurse
    is on yet (awaiting triage, or accepted without an active visit) are put on
    hold (*sat i bero*) — kept, not declined — with an ``admitted`` warning on
    the coordinator's board. Withdraw the visits first: a referral whose visit
    was just withdrawn is then held too, its warning naming the visit and its
    nurse (``withdrawn``: the visits withdrawn, written in the warning's own
    statement). Returns the held referrals' ids."""
    now = timezone.now()
    extra = visits_withdrawn_detail(withdrawn)
    with transaction.atomic(savepoint=False):
        # No full_clean: the values are the platform's own, and valid for
        # the fields whatever the referral (an aware time now for a nullable
        # time; a word of 18 characters for a text of up to 32, with no
        # choices); the database checks the hold's two fields together
        # (acute_referral_hold_complete). A re-admission raises the warning
        # again. On PostgreSQL one statement finds, locks, holds and warns.
        if connection.vendor == "postgresql":
            ids = [pk for pk, _held in _held_now(citizen_id, now, admission, extra)]
        else:
            ids = list(_holdable_locked(citizen_id))
            Referral.objects.filter(pk__in=ids).update(
                on_hold_since=now, on_hold_reason=HOLD_HOSPITAL_ADMISSION
            )
            _admitted_warnings(
                {pk: {"admission": admission, **extra.get(pk, {})} for pk in ids}, raised_at=now
            )
        _held_audit(ids, citizen_id, actor)
    return ids


def _held_audit(ids: list[int], citizen_id: int, actor: Actor) -> None:
    for pk in ids:
        referral_audit_by_id(
            pk, citizen_id, actor, {"step": "on_hold", "reason": HOLD_HOSPITAL_ADMISSION}
        )


def _warned_audit(ids: list[int], citizen_id: int, actor: Actor) -> None:
    for pk in ids:
        referral_audit_by_id(pk, citizen_id, actor, {"step": "admitted_warning"})


def referrals_admitted(
    *, citizen_id: int, admission: str, actor: Actor, withdrawn: Sequence[Visit] = ()
) -> tuple[list[int], list[int]]:
    """The hospital reports the citizen admitted (R12), on every door that
    reports it: :func:`referrals_hold_for_admission` holds her referrals no
    nurse is on yet, and :func:`referrals_warn_admitted` warns the
    coordinator of the others a nurse is on or that have a visit today. On
    PostgreSQL one statement finds, locks, holds and warns. Returns the held
    and the warned referrals' ids."""
    if connection.vendor != "postgresql":
        with transaction.atomic(savepoint=False):
            held = referrals_hold_for_admission(
                citizen_id=citizen_id, admission=admission, actor=actor, withdrawn=withdrawn
            )
            return held, referrals_warn_admitted(
                citizen_id=citizen_id, admission=admission, actor=actor
            )
    now = timezone.now()
    extra = visits_withdrawn_detail(withdrawn)
    with transaction.atomic(savepoint=False):
        rows = _held_now(citizen_id, now, admission, extra, warn=True)
        held = [pk for pk, was_held in rows if was_held]
        warned = [pk for pk, was_held in rows if not was_held]
        _held_audit(held, citizen_id, actor)
        _warned_audit(warned, citizen_id, actor)
    return held, warned


def hospital_stay_open(citizen_id: int) -> str | None:
    """The stay the hospital has the citizen admitted in (its key), the one
    reported first when she is in several; ``None`` when she is not in
    hospital. Read after her row is locked, as a hospital's message locks it
    before it opens or ends a stay, so the answer is the committed one."""
    return (
        CareRelationship.objects.filter(
            citizen_id=citizen_id, source_type=HOSPITAL_STAY_SOURCE, ended_at__isnull=True
        )
        .order_by("started_at", "pk")
        .values_list("source_id", flat=True)
        .first()
    )


def referral_held_on_arrival(referral: Referral, *, admission: str, actor: Actor) -> None:
    """A referral taken in while the citizen is admitted (``admission``: her
    stay, from :func:`hospital_stay_open`), saved on hold for the admission
    (``on_hold_since`` its arrival): the board's ``admitted`` warning and the
    audit entry, as the admission's own hold writes them. Her discharge
    resumes it with the rest; the coordinator may send a nurse anyway."""
    assert referral.on_hold_since is not None
    _admitted_warnings({referral.pk: {"admission": admission}}, raised_at=referral.on_hold_since)
    referral_audit_by_id(
        referral.pk,
        referral.citizen_id,
        actor,
        {"step": "on_hold", "reason": HOLD_HOSPITAL_ADMISSION, "admission": admission},
    )


# Why a hold for an admission was lifted (R12), kept on the board's warning
# and in the audit entry: the coordinator sees which it was.
RESUMED_DISCHARGED = "discharged"
RESUMED_ADMISSION_CANCELLED = "admission_cancelled"
RESUME_CAUSES = {
    RESUMED_DISCHARGED: "hospital_discharge",
    RESUMED_ADMISSION_CANCELLED: "hospital_admission_cancelled",
}


def referrals_resume_after_discharge(
    *, citizen_id: int, actor: Actor, cause: str = RESUMED_DISCHARGED
) -> list[int]:
    """The hospital reports the citizen discharged, or cancels the admission
    (``cause``): referrals held for the admission resume (deadline watch and
    dispatch take them again); the board's ``admitted`` warning is raised
    again and says why the hold was lifted and when.

    The hold is a pause (*på pause*): the deadline moves on by the time spent
    in hospital, so the referral resumes with the time it had left when she
    was admitted. A deadline that passed while nobody was to go is not a
    deadline missed: neither escalated at once nor counted in the figures."""
    now = timezone.now()
    lifted: dict[str, object] = {"resumed": cause, "resumed_at": now.isoformat()}
    if cause == RESUMED_DISCHARGED:
        lifted["discharged_at"] = now.isoformat()
    with transaction.atomic(savepoint=False):
        # Their warnings raised again: a coordinator who saw the admission
        # sees the referral is to be served again, and why. Written after
        # the referrals are locked (as every writer of a warning locks its
        # referral first). On PostgreSQL one statement finds, locks,
        # resumes and warns.
        if connection.vendor == "postgresql":
            sql, select_params = _resume_sql()
            params = _stand_ins_filled(select_params, citizen_id)
            params += [
                now,
                now,
                now,
                json.dumps(lifted, cls=_DETAIL_ENCODER),
                DeadlineWarning.Kind.ADMITTED.value,
            ]
            resumed = run_prepared(sql, params)
        else:
            resumed = [
                (pk, deadline, _resumed_deadline(deadline, since, now))
                for pk, deadline, since in _held_locked(citizen_id)
            ]
            warned = dict(_held_warnings_locked(citizen_id))
            for pk, _before, deadline_at in resumed:
                Referral.objects.filter(pk=pk).update(
                    on_hold_since=None, on_hold_reason="", deadline_at=deadline_at
                )
            _admitted_warnings(
                {pk: {**detail, **lifted} for pk, detail in warned.items()}, raised_at=now
            )
        for pk, deadline_before, deadline_at in resumed:
            referral_audit_by_id(
                pk,
                citizen_id,
                actor,
                {
                    "step": "resumed",
                    "reason": RESUME_CAUSES[cause],
                    "deadline_before": deadline_before.isoformat(),
                    "deadline_at": deadline_at.isoformat(),
                },
            )
    return [pk for pk, _before, _after in resumed]


def _today_in_copenhagen(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Where today's calendar day in Copenhagen (``TIME_ZONE``) starts, and
    where the next one does."""
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    end = timezone.localtime(start + dt.timedelta(days=1, hours=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return start, end


def referrals_warn_admitted(*, citizen_id: int, admission: str, actor: Actor) -> list[int]:
    """The hospital reports the citizen admitted while a nurse is already on
    her referral, or with a visit today: not put on hold, but the
    coordinator is told (an ``admitted`` warning on the board). Returns the
    warned referrals' ids (those put on hold have their warning already)."""
    now = timezone.now()
    start, end = _today_in_copenhagen(now)
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            ids = [pk for (pk,) in _TO_WARN.rows(citizen_id, start, end)]
        else:
            ids = list(_to_warn_locked(citizen_id, start, end))
        _admitted_warnings(
            {pk: {"admission": admission, "on_hold": False} for pk in ids}, raised_at=now
        )
        _warned_audit(ids, citizen_id, actor)
    return ids


# --- sending a nurse at all, and anyway ----------------------------------------


def visit_for_the_living(citizen: Citizen) -> None:
    """No nurse is sent to a citizen registered dead (a first visit or a
    follow-up), whatever door asks; a correction of the death lifts it."""
    if is_registered_dead(citizen):
        raise PreconditionFailed(VISIT_CITIZEN_DECEASED, DECEASED_MESSAGE)


def outcome_for_the_dead(citizen: Citizen, outcome: str) -> None:
    """An episode of a citizen registered dead ends with the outcome died:
    "treated at home", "handed back to home nursing" and the rest would tell
    the referrer and her home nursing that she lives and is to be cared for.
    Asked by every door that ends a visit or an episode (the nurse's, the
    coordinator's, the tablet's re-sent form, FHIR); a correction of the
    death lifts it."""
    if is_registered_dead(citizen) and outcome != Outcome.DIED:
        raise PreconditionFailed(
            OUTCOME_CONTRADICTS_DEATH,
            "The citizen is registered deceased: the episode ends with the outcome died,"
            " not another.",
            field="outcome",
        )


def outcomes_open_to(citizen: Citizen) -> list[tuple[str, str]]:
    """The outcomes a page offers for ending her visit or episode: only died
    once she is registered dead (:func:`outcome_for_the_dead` refuses the
    rest on every door), so the nurse and the coordinator are not offered
    what the platform would refuse."""
    if is_registered_dead(citizen):
        return [choice for choice in Outcome.choices if choice[0] == Outcome.DIED]
    return list(Outcome.choices)


def hold_override_check(*, held: Referral | None, reason: str | None) -> str:
    """R12: while the citizen is admitted to hospital her referral is on hold,
    and a nurse is sent only when the coordinator states why she should go
    anyway. ``held`` is the locked referral on hold (``None`` when there is
    none); ``reason`` is ``None`` when no override was asked for. Returns the
    reason to keep on the visit, empty for an ordinary assignment: a reason
    given for a referral no longer on hold (the discharge came first) is not
    kept, since there is nothing left to override."""
    if held is None:
        return ""
    if reason is None:
        raise Conflict(
            "referral.on_hold",
            _(
                "The citizen is admitted to hospital and the referral is on hold."
                " Assign a nurse only with a reason for going anyway."
            ),
            rule="R12",
        )
    cleaned = required_text(
        reason,
        code="referral.hold_override_reason_required",
        field="hold_override_reason",
        message=_(
            "Give the reason for sending a nurse although the citizen is admitted to hospital."
        ),
        rule="R12",
    )
    if len(cleaned) > HOLD_OVERRIDE_REASON_MAX_LENGTH:
        raise InvalidInput(
            "referral.hold_override_reason_too_long",
            _("Keep the reason to %(limit)d characters.")
            % {"limit": HOLD_OVERRIDE_REASON_MAX_LENGTH},
            field="hold_override_reason",
            rule="R12",
        )
    # The reason is shown on the board and kept in the audit log: no CPR numbers there.
    if scrub(cleaned) != cleaned:
        raise InvalidInput(
            "referral.hold_override_reason_cpr",
            _("Write the reason without a CPR number."),
            field="hold_override_reason",
            rule="R12",
        )
    return cleaned


def hold_audit_detail(held: Referral | None, reason: str) -> dict[str, object]:
    """What the assignment's audit entry says about a hold it overrode."""
    if held is None or not reason:
        return {}
    return {
        "on_hold_since": held.on_hold_since,
        "on_hold_reason": held.on_hold_reason,
        "hold_override_reason": reason,
    }


@contextmanager
def dispatch_transaction(
    *, actor: Actor, citizen_id: int, detail: dict[str, object]
) -> Iterator[None]:
    """Send a nurse in one transaction. A refused assignment to a referral on
    hold, or to a citizen registered dead, is a denied attempt (R9): it is
    recorded after the refused transaction has rolled back, so it stays."""
    with refusal_audited(
        actor=actor,
        action=Action.CREATE,
        citizen_id=citizen_id,
        resource_type="Task",
        detail=detail,
        # Also the nurse of another acute function, or of one that does not
        # serve the citizen (``_nurse_access.shift_may_serve``, R1).
        # A nurse whose role has ended or is switched off is never sent either.
        codes={
            VISIT_CITIZEN_DECEASED,
            "shift.not_found",
            "dispatch.municipality_not_served",
            "dispatch.nurse_not_in_force",
            # A second nurse for a citizen another is already going to.
            "episode.nurse_already_going",
        },
        # A referral on hold (R12), or planned for later (R10).
        rules={"R12", "R10"},
    ):
        yield
