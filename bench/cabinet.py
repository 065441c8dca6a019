"""Medicine cabinet: a location's balance with a large ledger, and parallel draws.

Run: ``DEBUG=1 .venv/bin/python -m bench.cabinet`` (PostgreSQL at
``BENCH_DATABASE_URL``, default ``.../bench_cabinet``).

1. A ledger of ``--movements`` entries (default 1,000,000, the issue's size;
   made once with ``generate_series`` and kept between runs): the balance of
   one location, read from its balance rows (what the platform does), side by
   side with summing that location's ledger entries (the baseline). Goal < 10 ms.
2. ``--workers`` processes (default 8) each draw one unit many times from
   the same cabinet lot (defaults keep the run near three minutes on two busy
   cores: ``--draws 200`` minimal draws, ``--service-draws 50``; ``--full`` is
   the issue's 1,000 each):
   a. through the real service (``stock_transfer``: row lock, two ledger
      entries, audit entry) — the final balance must be exact;
   b. the same minimal draw (one ledger entry + balance update) with the row lock;
   c. the same minimal draw without the lock — read, then write — which loses
      updates: the figures show how many, and what the lock costs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import time
from decimal import Decimal
from typing import Any

from bench.common import setup_django, summary, timed

DB_DEFAULT = "postgres://postgres@127.0.0.1:5432/bench_cabinet"
LEDGER_LOCATIONS = 200
LEDGER_LOTS = 50


def _setup() -> None:
    os.environ.setdefault("BENCH_DATABASE_URL", DB_DEFAULT)
    setup_django()


def _fixtures() -> dict[str, Any]:
    """Organisation, officer, nurses with bags, one medicine; idempotent."""
    from core.models import Membership, Organisation, Role, User
    from medicine_cabinet import services
    from medicine_cabinet.models import Location, Medicine

    acute, _ = Organisation.objects.get_or_create(
        kind=Organisation.Kind.ACUTE_FUNCTION, name="Bench akutfunktion"
    )

    def member(username: str, role: str) -> Membership:
        user, _ = User.objects.get_or_create(username=username)
        membership, _ = Membership.objects.get_or_create(
            user=user, organisation=acute, role=role, defaults={"is_default": True}
        )
        return membership

    officer = member("bench-officer", Role.MEDICINE_OFFICER)
    nurses = [member(f"bench-nurse-{n}", Role.ACUTE_NURSE) for n in range(1, 9)]
    medicine = services.medicine_upsert(
        atc_code="N02BE01",
        name="Paracetamol",
        strength="500 mg",
        form="tablet",
        unit="tablet",
        package_size=Decimal("100"),
        dispensing=Medicine.Dispensing.OVER_THE_COUNTER,
        dependence_forming=False,
        minimum_stock=Decimal("0"),
    )
    cabinet = Location.objects.filter(organisation=acute, name="Bench skab").first()
    if cabinet is None:
        cabinet = services.cabinet_create(organisation=acute, name="Bench skab")
    for membership in nurses:
        services.bag_for_nurse(organisation=acute, nurse=membership.user)
        _on_shift(membership, acute)
    return {
        "acute": acute,
        "officer": officer,
        "nurses": nurses,
        "medicine": medicine,
        "cabinet": cabinet,
    }


def _on_shift(membership: Any, acute: Any) -> None:
    """A nurse fills her bag only on her shift (docs/cabinet.md): each bench
    nurse is on the rota for the next hours."""
    from django.utils import timezone

    from acute.models import NurseShift

    now = timezone.now()
    if NurseShift.objects.filter(
        nurse=membership.user,
        acute_function=acute,
        starts_at__lte=now,
        ends_at__gt=now + dt.timedelta(hours=1),
    ).exists():
        return
    NurseShift.objects.create(
        nurse=membership.user,
        acute_function=acute,
        kind=NurseShift.Kind.DAY,
        starts_at=now - dt.timedelta(minutes=5),
        ends_at=now + dt.timedelta(hours=8),
        base_name="Bench base",
        base_latitude=55.75,
        base_longitude=12.5,
    )


def _ensure_ledger(fx: dict[str, Any], movements: int) -> Any:
    """A ledger of ``movements`` entries over many locations and lots, with
    matching balance rows. Written with set-based SQL once; reused after."""
    import datetime as dt

    from django.db import connection, transaction
    from django.utils import timezone

    from medicine_cabinet.models import Location, Lot, Movement

    acute, medicine, officer = fx["acute"], fx["medicine"], fx["officer"]
    have = Movement.objects.filter(location__name__startswith="Ledger ").count()
    target = Location.objects.filter(organisation=acute, name="Ledger 0000").first()
    if have >= movements and target is not None:
        return target
    with transaction.atomic():
        locations = [
            Location.objects.get_or_create(
                organisation=acute, name=f"Ledger {n:04d}", defaults={"kind": "cabinet"}
            )[0]
            for n in range(LEDGER_LOCATIONS)
        ]
        expires = timezone.localdate() + dt.timedelta(days=3650)
        lots = [
            Lot.objects.get_or_create(
                medicine=medicine, batch_number=f"LEDGER{n:03d}", defaults={"expires_on": expires}
            )[0]
            for n in range(LEDGER_LOTS)
        ]
        loc_ids = [loc.pk for loc in locations]
        lot_ids = [lot.pk for lot in lots]
        with connection.cursor() as cursor:
            # The ledger is append-only (a trigger refuses DELETE); a benchmark
            # rebuilding its own synthetic rows steps around it for this transaction.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(
                "DELETE FROM medicine_cabinet_movement WHERE location_id = ANY(%s)", [loc_ids]
            )
            cursor.execute("SET LOCAL session_replication_role = origin")
            cursor.execute(
                "DELETE FROM medicine_cabinet_balance WHERE location_id = ANY(%s)", [loc_ids]
            )
            # Entry i goes to location i % L and lot (i // L) % T; every entry
            # receives one unit, so entry k of a (location, lot) pair goes
            # from k-1 to k. Balances are then the entry counts.
            cursor.execute(
                """
                INSERT INTO medicine_cabinet_movement
                    (at, kind, direction, location_id, lot_id, quantity, balance_before,
                     balance_after, by_id, supplier, delivery_reference, reason_code, note)
                SELECT now() - (%(n)s - i) * interval '1 second', 'received', 'in',
                       (%(locs)s::bigint[])[1 + i %% %(nl)s],
                       (%(lots)s::bigint[])[1 + (i / %(nl)s) %% %(nt)s],
                       1, (i / (%(nl)s * %(nt)s)), (i / (%(nl)s * %(nt)s)) + 1,
                       %(by)s, 'Bench', 'LEDGER', '', ''
                FROM generate_series(0, %(n)s - 1) AS i
                """,
                {
                    "n": movements,
                    "locs": loc_ids,
                    "lots": lot_ids,
                    "nl": LEDGER_LOCATIONS,
                    "nt": LEDGER_LOTS,
                    "by": officer.user_id,
                },
            )
            cursor.execute(
                """
                INSERT INTO medicine_cabinet_balance (location_id, lot_id, quantity, updated_at)
                SELECT location_id, lot_id, count(*), now()
                FROM medicine_cabinet_movement WHERE location_id = ANY(%s)
                GROUP BY location_id, lot_id
                """,
                [loc_ids],
            )
            cursor.execute("ANALYZE medicine_cabinet_movement")
            cursor.execute("ANALYZE medicine_cabinet_balance")
    return locations[0]


def _balance_figures(location: Any) -> dict[str, Any]:
    from django.db.models import Case, DecimalField, F, Sum, Value, When

    from medicine_cabinet.models import Movement
    from medicine_cabinet.selectors import location_balance

    def from_ledger() -> Any:
        signed = Case(
            When(direction="in", then=F("quantity")),
            default=-F("quantity"),
            output_field=DecimalField(max_digits=14, decimal_places=3),
        )
        return list(
            Movement.objects.filter(location=location)
            .values("lot__medicine_id")
            .annotate(quantity=Sum(signed, default=Value(0)))
        )

    rows = location_balance(location=location)
    ledger_rows = from_ledger()
    assert rows[0]["quantity"] == ledger_rows[0]["quantity"], (rows, ledger_rows)
    location_balance(location=location)  # warm
    platform = summary(timed(lambda: location_balance(location=location), 200))
    from_ledger()
    baseline = summary(timed(from_ledger, 20))
    # The server's own time for the same query (planning + execution), to tell
    # the database's work from waiting for a CPU on a busy machine.
    from django.db import connection

    from medicine_cabinet.models import Balance

    query = (
        Balance.objects.filter(location=location, quantity__gt=0)
        .values("lot__medicine_id", "lot__medicine__name")
        .annotate(total=Sum("quantity"))
    )
    sql, params = query.query.sql_with_params()
    server_ms = []
    with connection.cursor() as cursor:
        for _ in range(20):
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0][0]
            server_ms.append(plan["Planning Time"] + plan["Execution Time"])
    return {
        "server_ms_for_balance_query": summary(server_ms),
        "entries_for_location": Movement.objects.filter(location=location).count(),
        "balance_rows": platform,
        "baseline_sum_of_ledger": baseline,
        "quantity": str(rows[0]["quantity"]),
    }


def _draw_worker(args: tuple[str, int, int, int, int, int]) -> tuple[int, int, float]:
    """One process: ``draws`` single-unit draws of one kind; returns (ok, refused, seconds)."""
    mode, membership_id, cabinet_id, bag_id, lot_id, draws = args
    # Forked from the set-up parent, whose connection was closed before the
    # fork: each worker opens its own.
    from django.db import connection, transaction

    from core.actors import Actor
    from core.errors import Conflict
    from core.models import Membership
    from medicine_cabinet import services
    from medicine_cabinet.models import Balance, Location, Lot, Movement

    membership = Membership.objects.select_related("user", "organisation").get(pk=membership_id)
    actor = Actor.for_membership(membership)
    cabinet = Location.objects.get(pk=cabinet_id)
    bag = Location.objects.get(pk=bag_id)
    lot = Lot.objects.select_related("medicine").get(pk=lot_id)
    one = Decimal("1")
    ok = refused = 0
    started = time.perf_counter()
    for _ in range(draws):
        try:
            if mode == "service":
                services.stock_transfer(
                    actor=actor,
                    lot=lot,
                    source=cabinet,
                    destination=bag,
                    quantity=one,
                    unit=lot.medicine.unit,
                )
            else:
                with transaction.atomic():
                    rows = Balance.objects.filter(location=cabinet, lot=lot)
                    if mode == "locked":
                        rows = rows.select_for_update()
                    balance = rows.get()
                    before = balance.quantity
                    if before < one:
                        raise Conflict("stock.insufficient", "none left")
                    Movement(
                        kind="wasted",
                        direction="out",
                        location=cabinet,
                        lot=lot,
                        quantity=one,
                        balance_before=before,
                        balance_after=before - one,
                        by=membership.user,
                        reason_code="other",
                        note="bench",
                    ).save(force_insert=True)
                    balance.quantity = before - one
                    balance.save(update_fields=["quantity"])
            ok += 1
        except Conflict:
            refused += 1
    elapsed = time.perf_counter() - started
    connection.close()
    return ok, refused, elapsed


def _draw_run(fx: dict[str, Any], mode: str, workers: int, draws: int) -> dict[str, Any]:
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from medicine_cabinet import services
    from medicine_cabinet.models import Balance, Location, Lot

    start_stock = workers * draws + 500
    lot = Lot.objects.create(
        medicine=fx["medicine"],
        batch_number=f"DRAW-{mode}-{time.time_ns()}",
        expires_on=timezone.localdate() + dt.timedelta(days=365),
    )
    from core.actors import Actor

    services.stock_receive(
        actor=Actor.for_membership(fx["officer"]),
        cabinet=fx["cabinet"],
        medicine=fx["medicine"],
        batch_number=lot.batch_number,
        expires_on=lot.expires_on,
        quantity=Decimal(start_stock),
        unit="tablet",
        supplier="Bench",
        delivery_reference=lot.batch_number,
    )
    bags = {
        loc.nurse_id: loc.pk
        for loc in Location.objects.filter(organisation=fx["acute"], kind="bag")
    }
    jobs = [
        (mode, m.pk, fx["cabinet"].pk, bags[m.user_id], lot.pk, draws)
        for m in fx["nurses"][:workers]
    ]
    connection.close()
    started = time.perf_counter()
    with mp.get_context("fork").Pool(workers) as pool:
        results = pool.map(_draw_worker, jobs)
    wall = time.perf_counter() - started
    ok = sum(r[0] for r in results)
    final = Balance.objects.get(location=fx["cabinet"], lot=lot).quantity
    expected = start_stock - ok
    return {
        "draws_ok": ok,
        "refused": sum(r[1] for r in results),
        "wall_s": round(wall, 2),
        "draws_per_s": round(ok / max(max(r[2] for r in results), 1e-9), 1),
        "final_balance": str(final),
        "expected_balance": str(expected),
        "exact": final == expected,
        "lost_updates": int(final - expected),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--movements", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--draws", type=int, default=200, help="minimal draws per worker")
    parser.add_argument(
        "--service-draws", type=int, default=50, help="draws per worker through the service"
    )
    parser.add_argument(
        "--full", action="store_true", help="the issue's size: 1,000 draws per worker everywhere"
    )
    options = parser.parse_args()
    if options.full:
        options.draws = options.service_draws = 1_000
    _setup()
    fx = _fixtures()
    started = time.perf_counter()
    location = _ensure_ledger(fx, options.movements)
    ledger_s = time.perf_counter() - started
    from medicine_cabinet.models import Movement

    figures: dict[str, Any] = {
        "ledger_movements": Movement.objects.count(),
        "ledger_setup_s": round(ledger_s, 1),
        "location_balance": _balance_figures(location),
        "workers": options.workers,
        "draws_per_worker": options.draws,
        "service_draws_per_worker": options.service_draws,
        "load_average_at_start": os.getloadavg()[0],
    }
    print("ledger ready; drawing ...", flush=True)
    if options.service_draws > 0:
        figures["draws_service_locked"] = _draw_run(
            fx, "service", options.workers, options.service_draws
        )
        print("  service draws done", flush=True)
    figures["draws_minimal_locked"] = _draw_run(fx, "locked", options.workers, options.draws)
    print("  minimal locked draws done", flush=True)
    figures["draws_minimal_unlocked"] = _draw_run(fx, "unlocked", options.workers, options.draws)
    goals = {
        "location balance p95 < 10 ms with a 1M ledger (client, wall clock)": (
            figures["ledger_movements"] >= 1_000_000
            and figures["location_balance"]["balance_rows"]["p95_ms"] < 10
        ),
        "location balance, database time p95 < 10 ms with a 1M ledger": (
            figures["ledger_movements"] >= 1_000_000
            and figures["location_balance"]["server_ms_for_balance_query"]["p95_ms"] < 10
        ),
        "locked draws end with an exact balance": figures["draws_minimal_locked"]["exact"]
        and figures.get("draws_service_locked", {"exact": True})["exact"],
    }
    from bench.common import report

    report("cabinet", figures, goals)


if __name__ == "__main__":
    main()
