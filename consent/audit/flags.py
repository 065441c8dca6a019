"""Flags for auditors: which entries deserve a look.

A periodic scan (``consent.audit.flags_scan``) reads the log in the sequencer's
order from where it last stopped (entries waiting for their position are read
once they have it) and raises flags beside the log (:class:`AuditFlag`), never
in it:

- ``break_glass`` — break-the-glass used: the override itself, and every
  access it alone made possible (purpose ``emergency``, reason ``break_glass``);
- ``denied`` — a refused attempt;
- ``off_shift`` — a user acted while a registered shift checker says they were
  off shift (shifts live in ``acute``, which registers a checker here). An act
  her tablet sent later is judged when she did it: the time its entry names
  (``ACTED_AT``), for every entry of the same request;
- ``many_citizens`` — one user touched more than ``AUDIT_MANY_CITIZENS_PER_HOUR``
  distinct citizens within an hour (the entry that crossed the line is flagged);
- ``no_agreement`` — the citizen lives in a municipality the user's
  organisation has no agreement with (``Organisation.serves``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from consent.audit.models import (
    Action,
    AuditEntry,
    AuditFlag,
    Flag,
    FlagScanState,
    LogLeaf,
    Outcome,
    Purpose,
)
from core.models import HOSPITAL_KINDS, Citizen, Organisation
from core.times import read_moment

ShiftChecker = Callable[[int, dt.datetime], bool | None]
_shift_checkers: list[ShiftChecker] = []

# Organisations that may act only for citizens of the municipalities they serve.
AGREEMENT_KINDS = frozenset(
    {
        Organisation.Kind.ACUTE_FUNCTION,
        Organisation.Kind.MUNICIPALITY,
        Organisation.Kind.MUNICIPAL_ASSESSMENT,
        Organisation.Kind.HOME_CARE,
        Organisation.Kind.HOME_NURSING,
        Organisation.Kind.REHABILITATION_UNIT,
    }
)
# A municipality's units act for their parent municipality as well.
MUNICIPAL_UNIT_KINDS = frozenset(
    {
        Organisation.Kind.MUNICIPAL_ASSESSMENT,
        Organisation.Kind.HOME_CARE,
        Organisation.Kind.HOME_NURSING,
        Organisation.Kind.REHABILITATION_UNIT,
    }
)
WINDOW = dt.timedelta(hours=1)
# The key of an entry's detail that says when the act was done, where that
# is not when it was recorded: a step her tablet kept offline and sent later
# (``acute``), judged by its writer before it was recorded.
ACTED_AT = "at"
# How far apart the entries of one request may be recorded.
REQUEST_SPAN = dt.timedelta(minutes=5)
# The gate's reason code for an access only an open break-the-glass permitted.
BREAK_GLASS_REASON = "break_glass"


def register_shift_checker(fn: ShiftChecker) -> None:
    """Add a ``(user_id, at) -> True (on shift) | False (off shift) | None (unknown)``."""
    if fn not in _shift_checkers:
        _shift_checkers.append(fn)


def unregister_shift_checker(fn: ShiftChecker) -> None:
    if fn in _shift_checkers:
        _shift_checkers.remove(fn)


def on_shift(user_id: int, at: dt.datetime) -> bool | None:
    """The first checker's answer that is not "unknown"."""
    for checker in _shift_checkers:
        answer = checker(user_id, at)
        if answer is not None:
            return answer
    return None


def _acted_at(entries: list[AuditEntry]) -> dict[int, dt.datetime]:
    """When the act of each entry was done, for the entries whose act was
    done before it was recorded: the time an entry names (``ACTED_AT``),
    and the same for every other entry of its request (the gate's decision
    on the replayed write). One query, by user and time."""
    users = {e.actor_user_id for e in entries if e.actor_user_id is not None}
    if not users:
        return {}
    told = (
        AuditEntry.objects.filter(
            actor_user_id__in=users,
            recorded_at__gte=min(e.recorded_at for e in entries) - REQUEST_SPAN,
            recorded_at__lte=max(e.recorded_at for e in entries) + REQUEST_SPAN,
            detail__has_key=ACTED_AT,
        )
        .annotate(told=KeyTextTransform(ACTED_AT, "detail"))
        .values_list("id", "request_id", "actor_user_id", "told")
    )
    by_id: dict[int, dt.datetime] = {}
    by_request: dict[tuple[str, int | None], dt.datetime] = {}
    for entry_id, request_id, user_id, text in told:
        moment = read_moment(text) if isinstance(text, str) else None
        if moment is None or timezone.is_naive(moment):
            continue
        by_id[entry_id] = moment
        if request_id:
            by_request[(request_id, user_id)] = moment
    acted: dict[int, dt.datetime] = {}
    for entry in entries:
        moment = by_id.get(entry.id)
        if moment is None and entry.request_id:
            moment = by_request.get((entry.request_id, entry.actor_user_id))
        if moment is not None:
            acted[entry.id] = moment
    return acted


def _served_municipalities(organisation_ids: Iterable[int]) -> dict[int, set[int] | None]:
    """For each organisation: the municipality ids it may serve, or None when
    the agreement rule does not apply to its kind."""
    organisations = (
        Organisation.objects.filter(pk__in=set(organisation_ids))
        .select_related("parent")
        .prefetch_related("serves")
    )
    served: dict[int, set[int] | None] = {}
    for org in organisations:
        parent = org.parent
        if org.kind not in AGREEMENT_KINDS or (
            org.kind == Organisation.Kind.REHABILITATION_UNIT
            and parent is not None
            and parent.kind in HOSPITAL_KINDS
        ):
            served[org.pk] = None
            continue
        ids = {m.pk for m in org.serves.all()}
        if org.kind == Organisation.Kind.MUNICIPALITY:
            ids.add(org.pk)
        if org.kind in MUNICIPAL_UNIT_KINDS and parent is not None:
            ids.add(parent.pk)
        served[org.pk] = ids
    return served


def _flags_for(entries: list[AuditEntry], threshold: int) -> list[AuditFlag]:
    now = timezone.now()
    flags: list[AuditFlag] = []

    def raise_flag(entry: AuditEntry, kind: str, **detail: Any) -> None:
        flags.append(
            AuditFlag(
                entry_id=entry.id,
                entry_recorded_at=entry.recorded_at,
                kind=kind,
                raised_at=now,
                detail=detail,
            )
        )

    citizen_municipality = dict(
        Citizen.objects.filter(
            pk__in={e.citizen_id for e in entries if e.citizen_id is not None}
        ).values_list("pk", "municipality_id")
    )
    served = _served_municipalities(
        e.actor_organisation_id for e in entries if e.actor_organisation_id is not None
    )
    acted = _acted_at(entries)
    for entry in entries:
        if (
            entry.action == Action.BREAK_GLASS
            or entry.purpose == Purpose.EMERGENCY
            or entry.reason_code == BREAK_GLASS_REASON
        ):
            raise_flag(entry, Flag.BREAK_GLASS)
        if entry.outcome == Outcome.DENIED:
            raise_flag(entry, Flag.DENIED, reason_code=entry.reason_code)
        if entry.citizen_id is None or entry.purpose == Purpose.AUDIT:
            continue
        if (
            entry.actor_user_id is not None
            and on_shift(entry.actor_user_id, acted.get(entry.id, entry.recorded_at)) is False
        ):
            raise_flag(entry, Flag.OFF_SHIFT)
        municipalities = served.get(entry.actor_organisation_id or 0)
        home = citizen_municipality.get(entry.citizen_id)
        if municipalities is not None and home is not None and home not in municipalities:
            raise_flag(entry, Flag.NO_AGREEMENT, municipality_id=home)
    flags.extend(_many_citizens(entries, threshold, now))
    return flags


def _many_citizens(entries: list[AuditEntry], threshold: int, now: dt.datetime) -> list[AuditFlag]:
    """Slide a one-hour window over each user's citizen accesses (including the
    hour before this batch) and flag the entry where the distinct count first
    exceeds the threshold; at most one such flag per user per hour."""
    by_user: dict[int, list[AuditEntry]] = defaultdict(list)
    for entry in entries:
        if (
            entry.actor_user_id is not None
            and entry.citizen_id is not None
            and entry.purpose != Purpose.AUDIT
        ):
            by_user[entry.actor_user_id].append(entry)
    if not by_user:
        return []
    start = min(e.recorded_at for e in entries) - WINDOW
    end = max(e.recorded_at for e in entries)
    # The same users' other accesses in the window, scanned or not: the
    # window is one of time, and ids do not follow time.
    others: dict[int, list[AuditEntry]] = defaultdict(list)
    for entry in (
        AuditEntry.objects.filter(
            actor_user_id__in=list(by_user),
            recorded_at__gte=start,
            recorded_at__lte=end,
            citizen_id__isnull=False,
        )
        .exclude(purpose=Purpose.AUDIT)
        .exclude(id__in=[e.id for e in entries])
        .only("id", "recorded_at", "actor_user_id", "citizen_id")
    ):
        others[entry.actor_user_id or 0].append(entry)
    last_flagged = dict(
        AuditFlag.objects.filter(kind=Flag.MANY_CITIZENS, entry_recorded_at__gte=start)
        .order_by("entry_recorded_at")
        .values_list("detail__user_id", "entry_recorded_at")
    )
    flags = []
    for user_id, mine in by_user.items():
        window: deque[AuditEntry] = deque()
        counts: dict[int, int] = defaultdict(int)
        flagged_at = last_flagged.get(user_id)
        new_ids = {e.id for e in mine}
        in_time = sorted([*others.get(user_id, []), *mine], key=lambda e: (e.recorded_at, e.id))
        for entry in in_time:
            window.append(entry)
            counts[entry.citizen_id or 0] += 1
            while window and window[0].recorded_at <= entry.recorded_at - WINDOW:
                old = window.popleft()
                counts[old.citizen_id or 0] -= 1
                if not counts[old.citizen_id or 0]:
                    del counts[old.citizen_id or 0]
            if (
                entry.id in new_ids
                and len(counts) > threshold
                and (flagged_at is None or entry.recorded_at - flagged_at >= WINDOW)
            ):
                flagged_at = entry.recorded_at
                flags.append(
                    AuditFlag(
                        entry_id=entry.id,
                        entry_recorded_at=entry.recorded_at,
                        kind=Flag.MANY_CITIZENS,
                        raised_at=now,
                        detail={
                            "user_id": user_id,
                            "citizens": len(counts),
                            "threshold": threshold,
                        },
                    )
                )
    return flags


def _unscanned(state: FlagScanState, batch: int) -> list[Any]:
    """The next placed entries after the scan's position: the rest of its log,
    then the logs after it (named by year, so they sort in order)."""
    after = Q(log=state.log, position__gt=state.position) | Q(log__gt=state.log)
    return list(
        LogLeaf.objects.filter(after)
        .order_by("log", "position")
        .values_list("log", "position", "entry_id", "recorded_at", named=True)[:batch]
    )


def flags_scan(*, batch: int = 5000) -> int:
    """Raise flags for entries not yet scanned; returns how many were raised."""
    threshold = settings.AUDIT_MANY_CITIZENS_PER_HOUR
    raised = 0
    while True:
        with transaction.atomic():
            FlagScanState.objects.get_or_create(pk=1)
            state = FlagScanState.objects.select_for_update().get(pk=1)
            placed = _unscanned(state, batch)
            if not placed:
                return raised
            by_id = {
                entry.id: entry
                for entry in AuditEntry.objects.filter(
                    id__in=[leaf.entry_id for leaf in placed],
                    recorded_at__gte=min(leaf.recorded_at for leaf in placed),
                    recorded_at__lte=max(leaf.recorded_at for leaf in placed),
                ).defer("detail", "user_agent", "digest", "chain_hash")
            }
            # In the log's order; an entry archived since it was placed is not read.
            entries = [by_id[leaf.entry_id] for leaf in placed if leaf.entry_id in by_id]
            flags = _flags_for(entries, threshold)
            AuditFlag.objects.bulk_create(flags, ignore_conflicts=True)
            raised += len(flags)
            state.log, state.position = placed[-1].log, placed[-1].position
            state.save(update_fields=["log", "position"])
        if len(placed) < batch:
            return raised
