"""Benchmark: recording results on a visit, and the medication order watch job.

Run: ``DEBUG=1 .venv/bin/python -m bench.clinical`` (default: 5,000 open
orders, a few minutes at most on 2 cores); ``--full`` uses 50,000 open orders.

Figures, each with a baseline measured in the same run:

- ``results_panel``: one nurse's five-test panel (CRP, sodium, potassium,
  creatinine with its eGFR, glucose) through the whole service — catalogue,
  plausibility, interpretation, eGFR, audit, alerts, signals — against the
  bare insert of the same six rows.
- ``watch_idle``: the beat job over N open phone orders none of which is due,
  against one bare ``count()`` of the same open orders.
- ``watch_due``: the job with 1% of the orders due for a reminder.
- ``physician_orders``: a physician's own orders page (200 rows, audited per
  citizen) against the bare query.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
from decimal import Decimal

from bench.common import report, setup_django, summary, timed

DATABASE_URL = os.environ.get(
    "BENCH_CLINICAL_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tv_clinical_bench"
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", action="store_true", help="50,000 open orders")
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    open_orders = 50_000 if args.full else 5_000

    # A fresh database each run: the figures do not depend on earlier runs' rows.
    subprocess.run(
        [
            "dropdb",
            "--if-exists",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            DATABASE_URL.rsplit("/", 1)[1],
        ],
        check=True,
    )
    setup_django(DATABASE_URL)

    from django.db import transaction
    from django.utils import timezone

    from acute.clinical.models import LabResult, MedicationOrder, PhysicianAlert, TestDefinition
    from acute.clinical.selectors import physician_orders
    from acute.clinical.services import ResultInput, lab_results_record, medication_orders_watch
    from consent.audit.models import AuditEntry
    from core.actors import Actor
    from tests.acute.clinical.conftest import visit_scene

    scene = visit_scene()
    nurse = Actor.for_membership(scene.nurse)
    physician = Actor.for_membership(scene.physician)
    visit = scene.visit
    panel = [
        ResultInput(code="NPU19748", value="42", unit="mg/L"),
        ResultInput(code="NPU03429", value="139", unit="mmol/L"),
        ResultInput(code="NPU03230", value="4.1", unit="mmol/L"),
        ResultInput(code="NPU18016", value="88", unit="umol/L"),
        ResultInput(code="NPU21531", value="6.2", unit="mmol/L"),
    ]
    tests = {t.code: t for t in TestDefinition.objects.all()}

    def record_panel() -> None:
        lab_results_record(actor=nurse, visit=visit, entries=panel)

    def bare_panel() -> None:
        now = timezone.now()
        with transaction.atomic():
            for code, value in [
                ("NPU19748", "42"),
                ("NPU03429", "139"),
                ("NPU03230", "4.1"),
                ("NPU18016", "88"),
                ("DNK35302", "62"),
                ("NPU21531", "6.2"),
            ]:
                LabResult.objects.create(
                    visit=visit,
                    citizen=scene.citizen,
                    test=tests[code],
                    value=Decimal(value),
                    unit=tests[code].unit,
                    interpretation="N",
                    effective_at=now,
                    recorded_by=scene.nurse.user,
                    recorded_by_organisation=scene.nurse.organisation,
                )

    record_panel()  # warm up
    bare_panel()
    panel_ms = timed(record_panel, args.repeat)
    bare_ms = timed(bare_panel, args.repeat)

    # Open phone orders, none due (recorded now), for the watch job.
    now = timezone.now()
    template = dict(
        kind=MedicationOrder.Kind.PHONE,
        status=MedicationOrder.Status.AWAITING_CONFIRMATION,
        citizen=scene.citizen,
        visit=visit,
        medicine_atc="J01CA08",
        medicine_name="Pivmecillinam",
        dose=Decimal("400"),
        dose_unit="mg",
        route="oral",
        frequency="3 times daily",
        duration="3 days",
        indication="Cystitis",
        ordered_at=now,
        ordered_by_name="Hanne Hansen",
        ordered_by_role="GP",
        ordered_by_organisation_name="Lægehuset",
        ordered_by_authorisation_id="0A1B2",
        ordering_physician=scene.physician.user,
        ordering_organisation=scene.gp,
        recorded_by=scene.nurse.user,
        recorded_by_organisation=scene.nurse.organisation,
        read_back=True,
        read_back_confirmed=True,
    )
    MedicationOrder.objects.filter(status=MedicationOrder.Status.AWAITING_CONFIRMATION).update(
        status=MedicationOrder.Status.CONFIRMED, confirmed_at=now
    )
    MedicationOrder.objects.filter(prescription_status="pending").update(
        prescription_status="sent", prescription_sent_at=now
    )
    batch = [
        MedicationOrder(
            **template,
            recorded_at=now,
            confirm_by=now + dt.timedelta(hours=8),
            prescription_due_by=now + dt.timedelta(days=1),
        )
        for _ in range(open_orders)
    ]
    MedicationOrder.objects.bulk_create(batch, batch_size=2000)

    idle_ms = timed(lambda: medication_orders_watch(now=now), 10)
    count_ms = timed(
        lambda: MedicationOrder.objects.filter(
            status=MedicationOrder.Status.AWAITING_CONFIRMATION
        ).count(),
        10,
    )

    due = open_orders // 100
    ids = list(
        MedicationOrder.objects.filter(
            status=MedicationOrder.Status.AWAITING_CONFIRMATION, reminded_at__isnull=True
        ).values_list("pk", flat=True)[:due]
    )
    MedicationOrder.objects.filter(pk__in=ids).update(recorded_at=now - dt.timedelta(hours=5))
    alerts_before = PhysicianAlert.objects.count()
    due_ms = timed(lambda: medication_orders_watch(now=now), 1)
    reminded = PhysicianAlert.objects.count() - alerts_before

    page_ms = timed(lambda: physician_orders(actor=physician), args.repeat)
    bare_page_ms = timed(
        lambda: list(
            MedicationOrder.objects.filter(ordering_physician=scene.physician.user).order_by(
                "-ordered_at", "-pk"
            )[:200]
        ),
        args.repeat,
    )

    panel_fig, idle_fig, page_fig = summary(panel_ms), summary(idle_ms), summary(page_ms)
    figures = {
        "open_orders": open_orders,
        "results_panel": panel_fig,
        "results_panel_baseline_bare_insert": summary(bare_ms),
        "watch_idle": idle_fig,
        "watch_idle_baseline_count": summary(count_ms),
        "watch_due": {**summary(due_ms), "orders_due": due, "reminders_raised": reminded},
        "physician_orders": page_fig,
        "physician_orders_baseline_bare_query": summary(bare_page_ms),
        "audit_entries_total": AuditEntry.objects.count(),
    }
    goals = {
        "a five-test panel is recorded in under 150 ms at p95": panel_fig["p95_ms"] < 150,
        "an idle watch run over the open orders takes under 200 ms": idle_fig["p95_ms"] < 200,
        f"a watch run raising {due} reminders takes under 5 s": due_ms[0] < 5000,
        "a physician's orders page (200 rows, audited) under 250 ms at p95": page_fig["p95_ms"]
        < 250,
    }
    report("clinical", figures, goals)


if __name__ == "__main__":
    main()
