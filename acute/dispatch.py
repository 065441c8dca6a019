"""Ranking nurses for a referral: the dispatch rule, free of the database.

The same functions rank for the coordinator's suggestion list, for automatic
assignment and for the benchmark's simulated day (``bench/dispatch.py``), so
what is measured is what runs.

Order of the rule:

1. hard filters — on shift now, not off or on a break, has every required
   skill, fewer active visits than her load limit;
2. estimated arrival — travel time from her last known position (or, when she
   is busy, from the citizen she is with, once that visit is expected to end),
   through the configured travel-time function;
3. slack before the deadline — nurses who can arrive in time come first; among
   them arrivals within the same ``ETA_BAND_MINUTES`` count as equal;
4. workload — fewer active visits first;
5. continuity — the nurse who already saw the citizen in this episode first.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

EARTH_RADIUS_KM = 6371.0
# Arrivals this close count as equally fast, so load and continuity can decide.
ETA_BAND_MINUTES = 10

TravelTime = Callable[[float, float, float, float], float]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def road_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Estimated road distance: straight line times the configured road factor."""
    return haversine_km(lat1, lon1, lat2, lon2) * settings.ACUTE_ROAD_FACTOR_PERCENT / 100


def travel_minutes_by_road_factor(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The default travel-time function: road distance at an urban speed."""
    return road_km(lat1, lon1, lat2, lon2) / settings.ACUTE_URBAN_SPEED_KMH * 60


@cache
def _load_travel_time(path: str) -> TravelTime:
    function: TravelTime = import_string(path)
    return function


def travel_time_function() -> TravelTime:
    """The configured travel-time function (``ACUTE_TRAVEL_TIME_FUNCTION``)."""
    return _load_travel_time(settings.ACUTE_TRAVEL_TIME_FUNCTION)


@dataclass(frozen=True)
class NurseState:
    """What the rule needs to know about one nurse on shift."""

    shift_id: int
    nurse_id: int
    name: str
    status: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    skills: frozenset[str]
    max_load: int
    load: int  # active visits (assigned, accepted, en route, on site)
    latitude: float
    longitude: float
    # When she is busy: when she is expected to be free, and where.
    free_at: dt.datetime | None = None


@dataclass(frozen=True)
class Need:
    """What a referral needs: where, by when, which skills, who saw the citizen before."""

    latitude: float
    longitude: float
    deadline_at: dt.datetime
    required_skills: frozenset[str] = frozenset()
    seen_by: frozenset[int] = frozenset()  # nurse ids earlier in the episode
    excluded_nurses: frozenset[int] = frozenset()  # declined or did not answer


@dataclass(frozen=True)
class Suggestion:
    shift_id: int
    nurse_id: int
    name: str
    status: str
    travel_minutes: float
    travel_km: float
    estimated_arrival_at: dt.datetime
    slack_minutes: float
    load: int
    max_load: int
    continuity: bool
    meets_deadline: bool
    sort_key: tuple[int, int, int, int, float] = field(repr=False)


UNAVAILABLE_STATUSES = frozenset({"off", "on_break"})


def eligible(nurse: NurseState, need: Need, now: dt.datetime) -> bool:
    """The hard filters."""
    return (
        nurse.starts_at <= now < nurse.ends_at
        and nurse.status not in UNAVAILABLE_STATUSES
        and nurse.load < nurse.max_load
        and need.required_skills <= nurse.skills
        and nurse.nurse_id not in need.excluded_nurses
    )


def rank(
    nurses: Iterable[NurseState],
    need: Need,
    *,
    now: dt.datetime,
    travel: TravelTime | None = None,
    limit: int | None = None,
) -> list[Suggestion]:
    """Eligible nurses, best first."""
    travel = travel or travel_time_function()
    factor = settings.ACUTE_ROAD_FACTOR_PERCENT / 100
    suggestions: list[Suggestion] = []
    for nurse in nurses:
        if not eligible(nurse, need, now):
            continue
        minutes = travel(nurse.latitude, nurse.longitude, need.latitude, need.longitude)
        leaves_at = max(now, nurse.free_at) if nurse.free_at is not None else now
        arrival = leaves_at + dt.timedelta(minutes=minutes)
        slack = (need.deadline_at - arrival).total_seconds() / 60
        # At the door after her shift has ended is no arrival to count on.
        meets = slack >= 0 and arrival <= nurse.ends_at
        wait = (arrival - now).total_seconds() / 60
        continuity = nurse.nurse_id in need.seen_by
        key = (
            0 if meets else 1,
            int(wait // ETA_BAND_MINUTES),
            nurse.load,
            0 if continuity else 1,
            wait,
        )
        suggestions.append(
            Suggestion(
                shift_id=nurse.shift_id,
                nurse_id=nurse.nurse_id,
                name=nurse.name,
                status=nurse.status,
                travel_minutes=round(minutes, 1),
                travel_km=round(
                    haversine_km(nurse.latitude, nurse.longitude, need.latitude, need.longitude)
                    * factor,
                    2,
                ),
                estimated_arrival_at=arrival,
                slack_minutes=round(slack, 1),
                load=nurse.load,
                max_load=nurse.max_load,
                continuity=continuity,
                meets_deadline=meets,
                sort_key=key,
            )
        )
    suggestions.sort(key=lambda s: s.sort_key)
    return suggestions[:limit] if limit is not None else suggestions


def best_arrival(suggestions: Sequence[Suggestion]) -> Suggestion | None:
    """The earliest arrival among ranked suggestions (for the deadline watch)."""
    return min(suggestions, key=lambda s: s.estimated_arrival_at, default=None)
