"""What the checks of a FHIR write cost: the references it names to this
server's resources, and FHIR R4's required bindings.

Two parts, in one process, DEBUG off as in production, on PostgreSQL:

1. ``POST /fhir/Condition`` as a nurse with a visit sends it, the WSGI
   application called directly (no HTTP server, no load generator), the
   citizen named by her CPR number in the body and the Condition naming 0, 1
   or 5 of her own Conditions (``evidence.detail``) by local reference: each
   is looked up and put to the gate as a read of it
   (``core.fhir.references.refuse_unheld``) before the write. Three ways,
   interleaved, each measured as the CPU time per write of the processes a
   write passes through (this one, its database session, the WAL writer):

   - ``full``: as the platform runs;
   - ``unchecked``: ``refuse_unheld`` replaced by nothing, in this process
     only (the platform never runs so: the baseline);
   - the pure model parse of the same body (``Condition.model_validate``),
     wall-clock, beside them.

2. The walk for required bindings (``core.fhir.bindings.codes_outside``) on
   a transaction Bundle of ``--entries`` entries (Conditions, Encounters,
   Observations, each with its request), against the pure model parse of
   the same Bundle (``Bundle.model_validate``), and ``fhir_validate`` of it,
   which does both and the shape checks.

Each is given as a ratio to its baseline.

    DEBUG=1 .venv/bin/python -m bench.fhir_writes      # about a minute
    DEBUG=1 .venv/bin/python -m bench.fhir_writes --writes 500 --entries 1000

PostgreSQL: ``BENCH_DATABASE_URL`` (default ``.../bench_consent``, the
shared record's), created and migrated if needed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench.common import report, setup_django, summary, timed, wsgi_client
from bench.read_parts import _production_like_environment, _read_path_cpu

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_consent"
ROUNDS = 5
REFERENCES = (0, 1, 5)
WAYS = ("unchecked", "full")


def _condition(cpr: str, held: list[int], references: int, i: int) -> dict[str, Any]:
    """A somatic diagnosis for the citizen with ``cpr``, naming ``references``
    of her Conditions ``held`` as its evidence."""
    from core.cpr import CPR_SYSTEM

    body: dict[str, Any] = {
        "resourceType": "Condition",
        "meta": {"tag": [{"system": "urn:tvaerakut:data-category", "code": "somatic-diagnosis"}]},
        "code": {
            "coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": f"J{10 + i % 80}"}]
        },
        "subject": {"identifier": {"system": CPR_SYSTEM, "value": cpr}},
        "recordedDate": f"2025-{1 + i % 12:02d}-01",
    }
    if references:
        body["evidence"] = [
            {"detail": [{"reference": f"Condition/{pk}"} for pk in held[:references]]}
        ]
    return body


@contextmanager
def _way(name: str) -> Iterator[None]:
    """Set up one way of writing, and undo it."""
    import consent.services.record as record

    if name != "unchecked":
        yield
        return
    kept = record.refuse_unheld
    record.refuse_unheld = lambda *_, **__: None
    try:
        yield
    finally:
        record.refuse_unheld = kept


def _writer(token: str, bodies: list[bytes]) -> Callable[[int], str]:
    call = wsgi_client(token)

    def write(i: int) -> str:
        return call("POST", "/fhir/Condition", bodies[i % len(bodies)])[0]

    return write


def _measure(write: Callable[[int], str], writes: int) -> tuple[float, list[float], int]:
    """CPU µs per write (this process, its database session, the WAL
    writer), each write's wall-clock milliseconds, and how many writes were
    not answered 201."""
    for i in range(20):  # warm: compiled and prepared statements
        write(i)
    failed = 0
    samples = []
    before, session = _read_path_cpu()
    for i in range(writes):
        started = time.perf_counter()
        failed += not write(i).startswith("201")
        samples.append((time.perf_counter() - started) * 1000)
    after, same_session = _read_path_cpu()
    if same_session != session:
        raise SystemExit("the database session changed during a measurement")
    return (after - before) / writes * 1e6, samples, failed


def _statements(write: Callable[[int], str]) -> dict[str, int]:
    """SQL statements of one write, each way."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counted = {}
    for way in WAYS:
        with _way(way), CaptureQueriesContext(connection) as queries:
            write(0)
        counted[way] = len(queries.captured_queries)
    return counted


def _each(fn: Callable[[Any], object], items: list[Any]) -> Callable[[], None]:
    """``fn`` of every item in turn, as one call (for :func:`timed`)."""

    def run() -> None:
        for item in items:
            fn(item)

    return run


def _check(token: str, citizen_of: dict[int, int]) -> Callable[[list[int]], None]:
    """The references check alone, as the write asks it once the gate let
    the token's holder at the citizen: each of her Conditions named, looked
    up and put to the gate as a read."""
    from core.actors import Actor
    from core.fhir.references import LocalReference, refuse_unheld
    from core.models import ApiToken, hash_token

    actor = Actor.for_membership(ApiToken.objects.get(key_hash=hash_token(token)).membership)

    def check(named: list[int]) -> None:
        references = [
            LocalReference(f"Condition.evidence[0].detail[{n}]", "Condition", str(pk))
            for n, pk in enumerate(named)
        ]
        citizen = citizen_of[named[0]] if named else None
        refuse_unheld(references, citizen_id=citizen, actor=actor, purpose="treatment")

    return check


def writes(data: dict[str, object], count: int) -> dict[str, Any]:
    from fhir.resources.R4B.condition import Condition

    from consent.models import RecordResource
    from core.models import Citizen

    ids: list[int] = list(data["read_ids"])  # type: ignore[call-overload]
    held: dict[int, list[int]] = {}
    for pk, citizen in RecordResource.objects.filter(pk__in=ids).values_list("pk", "citizen_id"):
        held.setdefault(citizen, []).append(pk)
    numbers = {
        pk: str(cpr) for pk, cpr in Citizen.objects.filter(pk__in=held).values_list("pk", "cpr")
    }
    citizens = sorted(held)
    checked = _check(str(data["token"]), {pk: c for c, pks in held.items() for pk in pks})
    figures: dict[str, Any] = {}
    failed = 0
    for references in REFERENCES:
        bodies = [
            _condition(numbers[c], held[c], references, i) for i, c in enumerate(citizens * 2)
        ]
        raw = [json.dumps(body).encode() for body in bodies]
        write = _writer(str(data["token"]), raw)
        costs: dict[str, list[float]] = {way: [] for way in WAYS}
        walls: dict[str, list[float]] = {way: [] for way in WAYS}
        for _ in range(ROUNDS):
            for way in WAYS:
                with _way(way):
                    cost, samples, errors = _measure(write, count)
                failed += errors
                costs[way].append(cost)
                walls[way].extend(samples)
        parsed = bodies[:50]
        parse = timed(_each(Condition.model_validate, parsed), 20)
        check = timed(_each(checked, [held[c][:references] for c in citizens]), 20)
        medians = {way: statistics.median(values) for way, values in costs.items()}
        figures[f"condition_{references}_references"] = {
            **{f"{way}_cpu_us_per_write": round(medians[way], 1) for way in WAYS},
            "full_rounds_cpu_us": [round(c, 1) for c in costs["full"]],
            "full": summary(walls["full"]),
            "unchecked": summary(walls["unchecked"]),
            "model_parse_ms": round(statistics.median(parse) / len(parsed), 3),
            "references_check_alone_ms": round(statistics.median(check) / len(citizens), 3),
            "statements": _statements(write),
            "full_over_unchecked": round(medians["full"] / medians["unchecked"], 3),
            "references_check_us": round(medians["full"] - medians["unchecked"], 1),
        }
    figures["writes_not_answered_201"] = failed
    return figures


def _transaction(entries: int, cpr: str) -> dict[str, Any]:
    """A transaction Bundle of ``entries`` new resources for one citizen."""
    from core.cpr import CPR_SYSTEM

    subject = {"identifier": {"system": CPR_SYSTEM, "value": cpr}}
    made: list[dict[str, Any]] = []
    for i in range(entries):
        kind = ("Condition", "Encounter", "Observation")[i % 3]
        resource: dict[str, Any]
        if kind == "Condition":
            resource = _condition(cpr, [], 0, i)
        elif kind == "Encounter":
            resource = {
                "resourceType": "Encounter",
                "status": "finished",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                },
                "subject": subject,
                "period": {"start": "2025-03-01T10:00:00+01:00"},
            }
        else:
            resource = {
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                "subject": subject,
                "valueQuantity": {"value": 72, "unit": "/min"},
                "effectiveDateTime": "2025-03-01T10:00:00+01:00",
            }
        made.append(
            {
                "fullUrl": f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
                "resource": resource,
                "request": {"method": "POST", "url": kind},
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": made}


def bindings(entries: int, repeat: int, cpr: str) -> dict[str, Any]:
    from fhir.resources.R4B.bundle import Bundle

    from core.fhir.bindings import codes_outside
    from core.fhir.validation import fhir_validate

    bundle = _transaction(entries, cpr)
    if codes_outside(bundle, held=True):  # also reads the models' codes, once
        raise SystemExit("the bench's Bundle holds a code outside its value set")
    fhir_validate(Bundle, bundle)
    walk = timed(lambda: codes_outside(bundle, held=True), repeat)
    parse = timed(lambda: Bundle.model_validate(bundle), repeat)
    validate = timed(lambda: fhir_validate(Bundle, bundle), repeat)
    walk_fig, parse_fig = summary(walk), summary(parse)
    return {
        "bundle_entries": entries,
        "bindings_walk": walk_fig,
        "model_parse": parse_fig,
        "fhir_validate": summary(validate),
        "walk_over_parse": round(walk_fig["p50_ms"] / parse_fig["p50_ms"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writes", type=int, default=100, help="per way and round")
    parser.add_argument("--citizens", type=int, default=40)
    parser.add_argument("--entries", type=int, default=600, help="in the transaction Bundle")
    parser.add_argument("--repeat", type=int, default=30, help="walks and parses")
    args = parser.parse_args()
    _production_like_environment()
    setup_django(os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_DB))
    from bench.shared_record import seed

    figures: dict[str, Any] = {
        "setup": f"WSGI application in one process, one client, DEBUG off, PostgreSQL; "
        f"{args.writes} writes per way in each of {ROUNDS} rounds",
    }
    data = seed(args.citizens)
    figures.update(writes(data, args.writes))
    from core.models import Citizen

    rich = Citizen.objects.get(pk=int(str(data["rich_citizen"])))
    figures.update(bindings(args.entries, args.repeat, str(rich.cpr)))
    goals = {"every write answered 201": figures["writes_not_answered_201"] == 0}
    report("fhir_writes", figures, goals)


if __name__ == "__main__":
    main()
