"""Dispatch benchmarks (issue 5).

1. Ranking one referral among 200 nurses on shift, through the real selector
   (``acute.selectors.dispatch_rank``: its queries and the rule) on PostgreSQL.
   Goal: under 20 ms. Beside it, a naive "nearest available nurse" query.
2. A simulated day: 300 referrals over 24 hours in bursts, 25 nurses over three
   shifts, the four municipalities' geography. The same day runs through the
   real ranking rule (``acute.dispatch.rank``) and through a naive "nearest
   available nurse" baseline; side by side: share of deadlines met, mean
   minutes from referral to arrival, total driving. Goal: the ranking meets
   more deadlines.

Run: ``DEBUG=1 BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_acute
.venv/bin/python -m bench.dispatch`` (``--days 7`` for a week of simulated days).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
from dataclasses import dataclass, field
from typing import Any

from bench.common import report, setup_django, summary, timed

SIM_DAY = dt.date(2026, 3, 10)
N_RANK_NURSES = 200


# --- 1. ranking among 200 nurses -------------------------------------------------


def ranking_benchmark(repeat: int) -> dict[str, Any]:
    from decimal import Decimal

    from django.utils import timezone

    from acute import selectors, services
    from acute.dispatch import haversine_km
    from acute.models import NurseShift, Referral, Visit
    from core.actors import Actor
    from core.models import Citizen, Membership, Organisation, Role, User

    now = timezone.now()
    muni, _ = Organisation.objects.get_or_create(
        municipality_code="157",
        defaults={"kind": "municipality", "name": "Gentofte Kommune", "participates": True},
    )
    acute = Organisation.objects.filter(kind="acute_function").first()
    if acute is None:
        acute = Organisation.objects.create(kind="acute_function", name="Akutfunktion (bench)")
    acute.serves.add(muni)
    coordinator_user, _ = User.objects.get_or_create(username="bench-coordinator")
    coordinator, _ = Membership.objects.get_or_create(
        user=coordinator_user, organisation=acute, role=Role.COORDINATOR
    )
    # Fresh shifts around now for 200 nurses (the bench database is the benchmark's own).
    Visit.objects.filter(nurse__username__startswith="bench-nurse-").delete()
    NurseShift.objects.filter(nurse__username__startswith="bench-nurse-").delete()
    rng = random.Random(5)
    shifts = []
    for n in range(N_RANK_NURSES):
        user, _ = User.objects.get_or_create(username=f"bench-nurse-{n}")
        Membership.objects.get_or_create(user=user, organisation=acute, role=Role.ACUTE_NURSE)
        shifts.append(
            NurseShift(
                nurse=user,
                acute_function=acute,
                kind="day",
                starts_at=now - dt.timedelta(hours=2),
                ends_at=now + dt.timedelta(hours=6),
                skills=rng.sample(["iv_treatment", "catheter", "blood_samples", "palliative"], 2),
                max_load=3,
                base_name="Base",
                base_latitude=55.7392,
                base_longitude=12.5436,
                latitude=55.70 + rng.uniform(0, 0.15),
                longitude=12.40 + rng.uniform(0, 0.2),
                position_at=now,
                status=rng.choice(["available"] * 4 + ["on_visit", "en_route"]),
            )
        )
    NurseShift.objects.bulk_create(shifts)
    citizen = Citizen.objects.filter(cpr="0103411234").first() or Citizen.objects.create(
        cpr="0103411234",
        given_name="Bench",
        family_name="Borger",
        birth_date=dt.date(1941, 3, 1),
        sex="female",
        address_line="Gentoftegade 1",
        postal_code="2820",
        city="Gentofte",
        latitude=Decimal("55.75"),
        longitude=Decimal("12.545"),
        municipality=muni,
    )
    Referral.objects.filter(citizen=citizen).update(status="closed")
    from acute.models import Episode

    Episode.objects.filter(citizen=citizen, status="open").update(
        status="completed", outcome="treated_at_home", closed_at=now
    )
    actor = Actor.for_membership(coordinator)
    referral = services.referral_create(
        citizen=citizen,
        source="gp",
        channel="phone",
        referrer_name="Bench",
        referrer_phone="1",
        reason="r",
        clinical_picture="c",
        requested_actions="a",
        urgency="within_2_hours",
        responsible_physician_name="Læge",
        responsible_physician_phone="2",
        required_skills=["iv_treatment"],
        actor=actor,
    )
    referral = services.referral_accept(referral=referral, actor=actor)
    # A quarter of the nurses are busy with a visit, so "end of current visit" is exercised.
    for shift in NurseShift.objects.filter(nurse__username__startswith="bench-nurse-")[:50]:
        Visit.objects.create(
            episode_id=referral.episode_id,
            citizen=citizen,
            kind="follow_up",
            nurse_id=shift.nurse_id,
            shift=shift,
            respond_by=now + dt.timedelta(minutes=5),
            estimated_arrival_at=now + dt.timedelta(minutes=10),
        )
    referral = Referral.objects.select_related("citizen").get(pk=referral.pk)
    ranked = selectors.dispatch_rank(referral=referral)
    ranking = timed(lambda: selectors.dispatch_rank(referral=referral), repeat)

    def nearest_available() -> int | None:
        lat, lon = float(citizen.latitude), float(citizen.longitude)
        candidates = NurseShift.objects.filter(
            starts_at__lte=now, ends_at__gt=now, status="available"
        ).values_list("pk", "latitude", "longitude", "skills")
        best = min(
            (
                (haversine_km(la, lo, lat, lon), pk)
                for pk, la, lo, skills in candidates
                if "iv_treatment" in skills and la is not None and lo is not None
            ),
            default=None,
        )
        return best[1] if best else None

    baseline = timed(nearest_available, repeat)
    import os

    return {
        "load_average_1min_at_measurement": round(os.getloadavg()[0], 2),
        "nurses_on_shift": N_RANK_NURSES,
        "eligible_ranked": len(ranked),
        "dispatch_rank": summary(ranking),
        "baseline_nearest_available_query": summary(baseline),
    }


# --- 2. the simulated day ----------------------------------------------------


@dataclass
class SimNurse:
    nurse_id: int
    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    skills: frozenset[str]
    lat: float
    lon: float
    free_at: dt.datetime
    jobs_until: list[dt.datetime] = field(default_factory=list)  # when each job is done
    driven_km: float = 0.0


@dataclass
class SimReferral:
    index: int
    received_at: dt.datetime
    deadline_at: dt.datetime
    urgency: str
    lat: float
    lon: float
    skills: frozenset[str]
    minutes_on_site: int
    arrival_at: dt.datetime | None = None


def _local(day: dt.date, hour: float) -> dt.datetime:
    from acute.deadlines import LOCAL

    return (
        dt.datetime.combine(day, dt.time(0), tzinfo=LOCAL) + dt.timedelta(hours=hour)
    ).astimezone(dt.UTC)


def make_day(seed: int, day: dt.date) -> tuple[list[SimNurse], list[SimReferral]]:
    """25 nurses (10 day, 8 evening, 7 night) and 300 referrals in bursts."""
    from acute.deadlines import deadline_for
    from core.demo import TOWNS

    rng = random.Random(seed)
    skills_pool = ["iv_treatment", "catheter", "feeding_tube", "wound_care", "palliative", "oxygen"]
    nurses: list[SimNurse] = []
    base = (55.7392, 12.5436)
    plan = [("day", 7, 15, 10), ("evening", 15, 23, 8), ("night", 23, 31, 7)]
    for kind, start_h, end_h, count in plan:
        for _ in range(count):
            starts = _local(day, start_h)
            nurses.append(
                SimNurse(
                    nurse_id=len(nurses) + 1,
                    kind=kind,
                    starts_at=starts,
                    ends_at=_local(day, end_h),
                    skills=frozenset({"blood_samples", *rng.sample(skills_pool, 3)}),
                    lat=base[0],
                    lon=base[1],
                    free_at=starts,
                )
            )
    # The night before this day's 07:00 is covered by a night shift too.
    for _ in range(7):
        starts = _local(day, -1)
        nurses.append(
            SimNurse(
                nurse_id=len(nurses) + 1,
                kind="night",
                starts_at=starts,
                ends_at=_local(day, 7),
                skills=frozenset({"blood_samples", *rng.sample(skills_pool, 3)}),
                lat=base[0],
                lon=base[1],
                free_at=starts,
            )
        )
    # Arrivals: a daily profile (quiet night, morning and late-afternoon peaks),
    # delivered in bursts of 1 to 6 referrals within a quarter of an hour.
    weights = [1, 1, 1, 1, 1, 1, 2, 4, 7, 9, 9, 8, 7, 6, 6, 7, 8, 8, 7, 5, 4, 3, 2, 1]
    towns = [town for code in TOWNS for town in TOWNS[code]]
    referrals: list[SimReferral] = []
    while len(referrals) < 300:
        hour = rng.choices(range(24), weights=weights)[0]
        burst_start = hour + rng.random()
        for _ in range(min(rng.randint(1, 6), 300 - len(referrals))):
            at = _local(day, burst_start + rng.uniform(0, 0.25))
            urgency = rng.choices(
                ["within_2_hours", "within_shift", "next_day"], weights=[50, 35, 15]
            )[0]
            _postal, _town, (lat, lon), _streets = rng.choice(towns)
            needs = rng.random()
            skills = (
                {"iv_treatment"}
                if needs < 0.12
                else {"catheter"}
                if needs < 0.22
                else {"palliative"}
                if needs < 0.27
                else set()
            )
            referrals.append(
                SimReferral(
                    index=len(referrals),
                    received_at=at,
                    deadline_at=deadline_for(urgency, at),
                    urgency=urgency,
                    lat=lat + rng.uniform(-0.008, 0.008),
                    lon=lon + rng.uniform(-0.012, 0.012),
                    skills=frozenset(skills),
                    minutes_on_site=rng.randint(15, 45),
                )
            )
    referrals.sort(key=lambda r: r.received_at)
    return nurses, referrals


def _go(nurse: SimNurse, referral: SimReferral, now: dt.datetime) -> None:
    from acute.dispatch import road_km, travel_time_function

    travel = travel_time_function()
    leaves = max(now, nurse.free_at)
    minutes = travel(nurse.lat, nurse.lon, referral.lat, referral.lon)
    nurse.driven_km += road_km(nurse.lat, nurse.lon, referral.lat, referral.lon)
    referral.arrival_at = leaves + dt.timedelta(minutes=minutes)
    nurse.free_at = referral.arrival_at + dt.timedelta(minutes=referral.minutes_on_site)
    nurse.jobs_until.append(nurse.free_at)
    nurse.lat, nurse.lon = referral.lat, referral.lon


def simulate(policy: str, nurses: list[SimNurse], referrals: list[SimReferral]) -> dict[str, Any]:
    """Minute by minute; pending referrals are offered again every minute."""
    from acute.dispatch import Need, NurseState, haversine_km, rank

    start = min(r.received_at for r in referrals)
    end = start + dt.timedelta(hours=32)
    pending: list[SimReferral] = []
    queue = list(referrals)
    now = start
    while now <= end and (queue or pending):
        while queue and queue[0].received_at <= now:
            pending.append(queue.pop(0))
        still: list[SimReferral] = []
        for referral in pending:
            if policy == "ranked":
                states = [
                    NurseState(
                        shift_id=n.nurse_id,
                        nurse_id=n.nurse_id,
                        name="",
                        status="available" if n.free_at <= now else "on_visit",
                        starts_at=n.starts_at,
                        ends_at=n.ends_at,
                        skills=n.skills,
                        max_load=3,
                        load=sum(1 for t in n.jobs_until if t > now),
                        latitude=n.lat,
                        longitude=n.lon,
                        free_at=n.free_at if n.free_at > now else None,
                    )
                    for n in nurses
                ]
                need = Need(
                    latitude=referral.lat,
                    longitude=referral.lon,
                    deadline_at=referral.deadline_at,
                    required_skills=referral.skills,
                )
                ranked = rank(states, need, now=now, limit=1)
                chosen = nurses[ranked[0].shift_id - 1] if ranked else None
            else:
                idle = [
                    n
                    for n in nurses
                    if n.starts_at <= now < n.ends_at
                    and n.free_at <= now
                    and referral.skills <= n.skills
                ]
                chosen = min(
                    idle,
                    key=lambda n: haversine_km(n.lat, n.lon, referral.lat, referral.lon),
                    default=None,
                )
            if chosen is None:
                still.append(referral)
            else:
                _go(chosen, referral, now)
        pending = still
        now += dt.timedelta(minutes=1)
    met = [r for r in referrals if r.arrival_at is not None and r.arrival_at <= r.deadline_at]
    arrived = [r for r in referrals if r.arrival_at is not None]
    per_urgency = {}
    for urgency in ("within_2_hours", "within_shift", "next_day"):
        group = [r for r in referrals if r.urgency == urgency]
        per_urgency[urgency] = round(sum(1 for r in group if r in met) / len(group), 3)
    return {
        "deadlines_met_share": round(len(met) / len(referrals), 3),
        "deadlines_met_by_urgency": per_urgency,
        "mean_minutes_to_arrival": round(
            statistics.fmean(
                (r.arrival_at - r.received_at).total_seconds() / 60
                for r in arrived
                if r.arrival_at is not None
            ),
            1,
        ),
        "mean_minutes_to_arrival_within_2_hours": round(
            statistics.fmean(
                (r.arrival_at - r.received_at).total_seconds() / 60
                for r in arrived
                if r.arrival_at is not None and r.urgency == "within_2_hours"
            ),
            1,
        ),
        "never_reached": len(referrals) - len(arrived),
        "total_driving_km": round(sum(n.driven_km for n in nurses), 1),
    }


def simulated_days(days: int) -> dict[str, Any]:
    results: dict[str, list[dict[str, Any]]] = {"ranked": [], "baseline": []}
    for offset in range(days):
        for policy in ("ranked", "baseline"):
            nurses, referrals = make_day(seed=100 + offset, day=SIM_DAY + dt.timedelta(days=offset))
            results[policy].append(simulate(policy, nurses, referrals))
    out: dict[str, Any] = {}
    for policy, runs in results.items():
        out[policy] = (
            runs[0]
            if days == 1
            else {
                "deadlines_met_share": round(
                    statistics.fmean(r["deadlines_met_share"] for r in runs), 3
                ),
                "mean_minutes_to_arrival": round(
                    statistics.fmean(r["mean_minutes_to_arrival"] for r in runs), 1
                ),
                "total_driving_km_per_day": round(
                    statistics.fmean(r["total_driving_km"] for r in runs), 1
                ),
                "days": runs,
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=200, help="ranking repetitions")
    parser.add_argument("--days", type=int, default=1, help="simulated days (different seeds)")
    args = parser.parse_args()
    setup_django()
    ranking = ranking_benchmark(args.repeat)
    day = simulated_days(args.days)
    ranked, baseline = day["ranked"], day["baseline"]
    figures = {
        "ranking_200_nurses": ranking,
        "simulated_day": {
            "referrals_per_day": 300,
            "nurses": "25 (10 day, 8 evening, 7 night) + 7 on the night before",
            "days": args.days,
            "ranked (acute.dispatch.rank)": ranked,
            "baseline (nearest available nurse)": baseline,
        },
    }
    goals = {
        "ranking one referral among 200 nurses: p95 under 20 ms": ranking["dispatch_rank"]["p95_ms"]
        < 20,
        "ranking meets more deadlines than nearest-available": ranked["deadlines_met_share"]
        > baseline["deadlines_met_share"],
    }
    report("dispatch", figures, goals)


if __name__ == "__main__":
    main()
