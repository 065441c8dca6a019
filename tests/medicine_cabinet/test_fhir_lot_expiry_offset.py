"""A lot is usable through its expiry date by the Copenhagen calendar
(docs/cabinet.md). FHIR MedicationAdministration states that last moment as
the end of the day in Copenhagen with that day's own offset (+02:00 for a lot
expiring in summer time, +01:00 in winter time), written in UTC as every FHIR
time is — the same instant the cabinet judges by, not an hour after it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests import factories as f
from tests.medicine_cabinet.conftest import order_for, receive, to_bag, visit_for

pytestmark = pytest.mark.django_db

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def _next(month: int, day: int | None) -> dt.date:
    """The next such day ahead; ``None``: the month's last Sunday, when the
    clocks change (forward in March, back in October)."""
    today = timezone.localdate()
    for year in (today.year, today.year + 1):
        if day is None:
            last = dt.date(year, month, 31)
            candidate = last - dt.timedelta(days=(last.weekday() + 1) % 7)
        else:
            candidate = dt.date(year, month, day)
        if candidate > today:
            return candidate
    raise AssertionError("no such day within a year")


@pytest.mark.parametrize(
    ("month", "day", "offset"),
    [(7, 31, "+02:00"), (12, 31, "+01:00"), (10, None, "+01:00"), (3, None, "+02:00")],
)
def test_the_lots_expiry_is_the_end_of_its_day_in_copenhagen_on_fhir(
    officer, nurse, cabinet, bag, paracetamol, month, day, offset
):
    expires_on = _next(month, day)
    lot = receive(
        officer,
        cabinet,
        paracetamol,
        "10",
        batch="EXP-1",
        expires_in_days=(expires_on - timezone.localdate()).days,
    )
    assert lot.expires_on == expires_on
    to_bag(nurse, lot, cabinet, bag, "2")
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    order = order_for(nurse, citizen, paracetamol, visit=visit)
    client = f.client_for(nurse)
    given = client.post(
        "/api/cabinet/administrations",
        {
            "visit": visit.pk,
            "order": order.pk,
            "medicine": paracetamol.pk,
            "quantity": "2",
            "unit": "tablet",
        },
        format="json",
    )
    assert given.status_code == 201, given.content

    read = client.get(f"/fhir/MedicationAdministration/{given.json()['id']}")

    assert read.status_code == 200
    stated = read.json()["contained"][0]["batch"]["expirationDate"]
    # In UTC, the one form FHIR output takes (core.times.fhir_instant): the
    # last second of the day in Copenhagen with that day's offset.
    local = dt.datetime.fromisoformat(f"{expires_on.isoformat()}T23:59:59{offset}")
    assert stated == local.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    last_moment = dt.datetime.fromisoformat(stated)
    assert last_moment.astimezone(COPENHAGEN).date() == expires_on
    assert (last_moment + dt.timedelta(seconds=1)).astimezone(COPENHAGEN).date() == (
        expires_on + dt.timedelta(days=1)
    )
