"""Nurses on shift (staff data, no citizen data): who is on now, each one's
state for the dispatch rule, and whether a nurse was on shift at a time (for
the audit log's flag on access outside a shift)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from acute.dispatch import NurseState
from acute.models import NurseShift, Visit
from core.models import Membership, Role


def nurse_in_force(at: dt.datetime) -> Exists:
    """A shift's nurse may still act as an acute nurse of its acute function
    at ``at``: her role there switched on and not past its end, she and the
    function active. A shift outlives a role ended or switched off after it
    was put on the rota; such a nurse is no cover, and is never sent."""
    return Exists(
        Membership.objects.in_force(at).filter(
            user=OuterRef("nurse_id"),
            organisation=OuterRef("acute_function_id"),
            role=Role.ACUTE_NURSE,
        )
    )


def shifts_on(
    *, at: dt.datetime | None = None, acute_function_id: int | None = None
) -> QuerySet[NurseShift]:
    """Shifts on at ``at`` (staff data, no citizen data), each with ``load``:
    every visit she has in hand (assigned, accepted, en route, on site), first
    visits and follow-ups alike — the count dispatch holds against her
    ``max_load``. With ``acute_function_id``, only that function's nurses: the
    ones its coordinator sends and sees on her board and map."""
    at = at or timezone.now()
    shifts = NurseShift.objects.filter(nurse_in_force(at), starts_at__lte=at, ends_at__gt=at)
    if acute_function_id is not None:
        shifts = shifts.filter(acute_function_id=acute_function_id)
    return (
        shifts.annotate(load=Count("visits", filter=Q(visits__status__in=Visit.ACTIVE_STATUSES)))
        .select_related("nurse")
        .order_by("kind", "nurse__username")
    )


def nurse_on_shift(user_id: int, at: dt.datetime) -> bool | None:
    """For the audit log: was this acute nurse on shift at ``at``? ``None`` when
    the user has never had a shift (not an acute nurse: the question does not apply)."""
    shifts = NurseShift.objects.filter(nurse_id=user_id)
    if not shifts.exists():
        return None
    return shifts.filter(starts_at__lte=at, ends_at__gt=at).exists()


def nurse_states(
    *,
    now: dt.datetime,
    shift_ids: Iterable[int] | None = None,
    available_only: bool = False,
    skills: Iterable[str] = (),
    serving_municipality_id: int | None = None,
) -> list[NurseState]:
    """Every shift on now, with load and when/where a busy nurse is free. Two
    queries of plain values (no model instances: this runs for every ranking).
    With ``serving_municipality_id``, only nurses of an acute function that
    serves that municipality (the only ones who may be sent there, R1)."""
    shifts = NurseShift.objects.filter(nurse_in_force(now), starts_at__lte=now, ends_at__gt=now)
    if serving_municipality_id is not None:
        shifts = shifts.filter(acute_function__serves=serving_municipality_id)
    if shift_ids is not None:
        shifts = shifts.filter(pk__in=list(shift_ids))
    if available_only:
        shifts = shifts.exclude(status__in=[NurseShift.Status.OFF, NurseShift.Status.ON_BREAK])
    required = sorted(set(skills))
    if required and connection.vendor == "postgresql":
        # A prefilter only (JSON containment); the rule checks skills again.
        shifts = shifts.filter(skills__contains=required)
    rows = list(
        shifts.values_list(
            "pk",
            "nurse_id",
            "nurse__first_name",
            "nurse__last_name",
            "nurse__username",
            "status",
            "starts_at",
            "ends_at",
            "skills",
            "max_load",
            "latitude",
            "longitude",
            "base_latitude",
            "base_longitude",
        )
    )
    # Joined on the shift's window rather than an IN list of shift ids: one
    # query plan whatever the number of nurses; visits of filtered-out shifts
    # are simply not looked up below.
    active = Visit.objects.filter(
        status__in=Visit.ACTIVE_STATUSES, shift__starts_at__lte=now, shift__ends_at__gt=now
    )
    if shift_ids is not None:
        active = active.filter(shift_id__in=[row[0] for row in rows])
    by_shift: dict[int, list[tuple[Any, ...]]] = {}
    for visit in active.order_by("assigned_at", "pk").values_list(
        "shift_id",
        "on_site_at",
        "estimated_arrival_at",
        "citizen__latitude",
        "citizen__longitude",
    ):
        by_shift.setdefault(visit[0], []).append(visit)
    visit_minutes = dt.timedelta(minutes=settings.ACUTE_VISIT_MINUTES)
    states = []
    for (
        pk,
        nurse_id,
        first_name,
        last_name,
        username,
        status,
        starts_at,
        ends_at,
        skills,
        max_load,
        latitude,
        longitude,
        base_latitude,
        base_longitude,
    ) in rows:
        visits = by_shift.get(pk, [])
        lat = latitude if latitude is not None else base_latitude
        lon = longitude if longitude is not None else base_longitude
        free_at = None
        if visits:
            # She works through her visits in order; the rule plans from the last one.
            free_at = now
            for _shift, on_site_at, estimated_arrival_at, _lat, _lon in visits:
                # Not at the door yet, she arrives no sooner than now, however
                # long ago her estimate said she would.
                arrive = on_site_at or max(estimated_arrival_at or now, now)
                free_at = max(free_at, arrive + visit_minutes)
            lat, lon = float(visits[-1][3]), float(visits[-1][4])
        states.append(
            NurseState(
                shift_id=pk,
                nurse_id=nurse_id,
                name=f"{first_name} {last_name}".strip() or username,
                status=status,
                starts_at=starts_at,
                ends_at=ends_at,
                skills=frozenset(skills),
                max_load=max_load,
                load=len(visits),
                latitude=lat,
                longitude=lon,
                free_at=free_at,
            )
        )
    return states
