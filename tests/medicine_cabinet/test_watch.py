"""Watch jobs: low stock, expiry within 30/60/90 days, overdue counts — stored
notifications the medicine officer sees, raised once per condition."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from medicine_cabinet import services, tasks
from medicine_cabinet.models import Notification
from tests import factories as f
from tests.medicine_cabinet.conftest import actor, receive

pytestmark = pytest.mark.django_db


def test_low_stock_counts_only_usable_units_and_is_raised_once(
    acute, officer, cabinet, paracetamol
):
    receive(officer, cabinet, paracetamol, "30", batch="OK")  # minimum is 40
    assert services.stock_watch_low(organisation=acute) == 1
    assert services.stock_watch_low(organisation=acute) == 0
    note = Notification.objects.get(kind="low_stock")
    assert note.medicine == paracetamol and "30" in note.message
    services.notification_acknowledge(actor=actor(officer), notification=note)
    receive(officer, cabinet, paracetamol, "20", batch="MORE")
    assert services.stock_watch_low(organisation=acute) == 0  # 50 >= 40


def test_expiry_windows_30_60_90(acute, officer, cabinet, paracetamol):
    for days, batch in ((10, "A"), (45, "B"), (80, "C"), (200, "D")):
        receive(officer, cabinet, paracetamol, "50", batch=batch, expires_in_days=days)
    assert services.stock_watch_expiry(organisation=acute) == 3
    kinds = dict(Notification.objects.values_list("lot__batch_number", "kind"))
    assert kinds == {"A": "expires_30", "B": "expires_60", "C": "expires_90"}
    assert services.stock_watch_expiry(organisation=acute) == 0
    # Ninety days on, lot C moves into the 30-day window: a new notification.
    later = timezone.localdate() + dt.timedelta(days=55)
    assert services.stock_watch_expiry(organisation=acute, today=later) >= 1
    assert Notification.objects.filter(lot__batch_number="C", kind="expires_30").exists()


def test_overdue_counts_and_approval_clears_them(acute, officer, cabinet, paracetamol):
    lot = receive(officer, cabinet, paracetamol, "5")
    now = timezone.now()
    assert services.count_watch_overdue(organisation=acute, now=now) == 0
    assert services.count_watch_overdue(organisation=acute, now=now + dt.timedelta(days=8)) == 1
    count = services.count_start(actor=actor(officer), location=cabinet)
    services.count_record(actor=actor(officer), count=count, lot=lot, quantity=Decimal("5"))
    services.count_submit(actor=actor(officer), count=count)
    services.count_approve(actor=actor(officer), count=count)
    assert not Notification.objects.filter(kind="count_overdue", acknowledged_at__isnull=True)
    assert services.count_watch_overdue(organisation=acute, now=now + dt.timedelta(days=6)) == 0


def test_the_tasks_run_the_watches_and_the_officer_sees_them(officer, cabinet, paracetamol):
    receive(officer, cabinet, paracetamol, "1", expires_in_days=20)
    assert tasks.watch_low_stock_task() == 1
    assert tasks.watch_expiry_task() == 1
    client = f.client_for(officer)
    notes = client.get("/api/cabinet/notifications").json()["notifications"]
    assert {n["kind"] for n in notes} == {"low_stock", "expires_30"}
    ack = client.post(f"/api/cabinet/notifications/{notes[0]['id']}/acknowledge")
    assert ack.status_code == 204
    assert len(client.get("/api/cabinet/notifications").json()["notifications"]) == 1


def test_the_beat_schedule_runs_the_watches():
    from worker.schedule import BEAT_SCHEDULE

    names = {entry["task"] for entry in BEAT_SCHEDULE.values()}
    assert {
        "medicine_cabinet.watch_low_stock",
        "medicine_cabinet.watch_expiry",
        "medicine_cabinet.watch_counts",
    } <= names
