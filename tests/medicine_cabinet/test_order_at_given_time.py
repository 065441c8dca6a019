"""R8 at the moment the dose was given: a dose the nurse gave earlier and
books now (``given_at`` on the API, ``given_offline_at`` from the tablet's
queue) is judged against the order as it stood when she gave it — made
already, not ended, not cancelled — and its 24-hour limit counts the doses in
the 24 hours around it, those booked before it but given after it too.
A dose given now is judged as before."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from acute.clinical.models import MedicationOrder
from acute.models import Visit
from consent.audit.models import AuditEntry
from medicine_cabinet.models import Administration, Balance, Movement
from tests import factories as f
from tests.medicine_cabinet.conftest import denied_audited, in_bag, order_for, visit_for

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def stocked(officer, nurse, cabinet, bag, paracetamol):
    """Ten tablets in the nurse's bag and a visit she was sent on two days ago
    (so a dose given a day back lies within it), her on site."""
    lot = in_bag(officer, nurse, cabinet, bag, paracetamol, "10", batch="P1")
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    Visit.objects.filter(pk=visit.pk).update(assigned_at=timezone.now() - 48 * HOUR)
    return {"visit": visit, "citizen": citizen, "lot": lot}


def _order(nurse, stocked, paracetamol, *, ordered_ago, duration, frequency="2 times daily"):
    """One tablet a dose, as often and as long as said, ordered a while ago."""
    return order_for(
        nurse,
        stocked["citizen"],
        paracetamol,
        visit=stocked["visit"],
        dose=Decimal("1"),
        dose_unit="tablet",
        frequency=frequency,
        duration=duration,
        ordered_at=timezone.now() - ordered_ago,
    )


def _give(nurse, stocked, order, paracetamol, *, ago=None):
    body = {
        "visit": stocked["visit"].pk,
        "order": order.pk,
        "medicine": paracetamol.pk,
        "quantity": "1",
        "unit": "tablet",
    }
    if ago is not None:
        body["given_at"] = (timezone.now() - ago).isoformat()
    return f.client_for(nurse).post("/api/cabinet/administrations", body, format="json")


def _refused_each(nurse, stocked, order, paracetamol, agos, code):
    """A dose given at each of ``agos`` is refused with ``code``; one dose stays booked."""
    for ago in agos:
        refused = _give(nurse, stocked, order, paracetamol, ago=ago)
        assert refused.status_code == 412, refused.json()
        assert refused.json()["error"]["code"] == code
    assert Administration.objects.count() == 1


# --- the order's days ----------------------------------------------------------------


def test_a_dose_given_before_the_order_ended_and_booked_after_it_is_booked(
    nurse, bag, stocked, paracetamol
):
    """Given offline at 10:00, booked at 14:00, against an order that ended at
    12:00: it was given while the order ran."""
    # Ended two hours ago.
    order = _order(nurse, stocked, paracetamol, ordered_ago=26 * HOUR, duration="1 day")
    booked = _give(nurse, stocked, order, paracetamol, ago=4 * HOUR)
    assert booked.status_code == 201, booked.json()
    administration = Administration.objects.get()
    assert administration.administered_at < order.ordered_at + dt.timedelta(days=1)
    assert Balance.objects.get(location=bag, lot=stocked["lot"]).quantity == 9

    # Given after it ended — an hour ago, or now — is refused, as before.
    _refused_each(nurse, stocked, order, paracetamol, (HOUR, None), "order.ended")


# --- before the order ------------------------------------------------------------------


def test_a_dose_given_before_the_order_was_made_is_refused_in_danish_and_audited(
    nurse, stocked, paracetamol
):
    """Given at 09:00 against an order made at 11:00: not given on that order."""
    order = _order(nurse, stocked, paracetamol, ordered_ago=2 * HOUR, duration="2 days")
    refused = _give(nurse, stocked, order, paracetamol, ago=4 * HOUR)
    assert refused.status_code == 412, refused.json()
    error = refused.json()["error"]
    assert (error["code"], error["field"], error["rule"]) == (
        "order.given_before_order",
        "given_at",
        "R8",
    )
    assert error["order"] == order.pk
    assert dt.datetime.fromisoformat(error["ordered_at"]) == order.ordered_at
    assert error["message"].startswith("Dosis er givet ")
    assert f"før ordinationen på Paracetamol (nr. {order.pk}) blev givet" in error["message"]
    assert not Administration.objects.exists()
    assert not Movement.objects.filter(kind=Movement.Kind.ADMINISTERED).exists()
    assert denied_audited(stocked["citizen"], "order.given_before_order")

    # After the order was made, the same dose is booked; a few minutes of
    # difference between the tablet's clock and the server's is not "before".
    assert _give(nurse, stocked, order, paracetamol, ago=HOUR).status_code == 201
    almost = _give(nurse, stocked, order, paracetamol, ago=2 * HOUR + dt.timedelta(minutes=2))
    assert almost.status_code == 201, almost.json()


# --- cancelled --------------------------------------------------------------------------


def test_a_dose_given_before_the_order_was_cancelled_is_booked_one_after_it_refused(
    nurse, stocked, paracetamol
):
    order = _order(nurse, stocked, paracetamol, ordered_ago=3 * HOUR, duration="2 days")
    MedicationOrder.objects.filter(pk=order.pk).update(
        status=MedicationOrder.Status.CANCELLED,
        cancelled_at=timezone.now() - HOUR,
        cancel_reason="Planen ændret",
    )
    booked = _give(nurse, stocked, order, paracetamol, ago=2 * HOUR)
    assert booked.status_code == 201, booked.json()
    agos = (dt.timedelta(minutes=30), None)
    _refused_each(nurse, stocked, order, paracetamol, agos, "order.cancelled")


# --- the 24 hours around the dose --------------------------------------------------------


def _book_given(nurse, stocked, order, paracetamol, *agos):
    """Doses given ``agos`` back and booked when they were given, days ago (a
    time more than a day back is no door's to take now): booked as given
    now, then set back to when they were given."""
    Visit.objects.filter(pk=stocked["visit"].pk).update(assigned_at=timezone.now() - 72 * HOUR)
    for ago in agos:
        booked = _give(nurse, stocked, order, paracetamol)
        assert booked.status_code == 201, booked.json()
        Administration.objects.filter(pk=booked.json()["id"]).update(
            administered_at=timezone.now() - ago
        )


def test_a_dose_booked_late_is_counted_in_the_24_hours_it_was_given_not_the_last_24(
    nurse, stocked, paracetamol
):
    """Twice a day: two doses given 50 and 49 hours ago do not stop a dose
    given 23 hours ago and booked now, and that dose counts against doses
    given now."""
    order = _order(nurse, stocked, paracetamol, ordered_ago=60 * HOUR, duration="3 days")
    _book_given(nurse, stocked, order, paracetamol, 50 * HOUR, 49 * HOUR)
    late = _give(nurse, stocked, order, paracetamol, ago=23 * HOUR)
    assert late.status_code == 201, late.json()
    assert _give(nurse, stocked, order, paracetamol).status_code == 201
    again = _give(nurse, stocked, order, paracetamol)
    assert again.status_code == 409
    assert again.json()["error"]["limit"] == "day"
    assert Administration.objects.count() == 4


def test_a_dose_booked_late_before_doses_already_booked_may_not_overfill_any_24_hours(
    nurse, stocked, paracetamol
):
    """Twice a day, doses given 30 and 26 hours ago: one given 23 hours ago
    would make three in the 24 hours from the one 30 hours ago, though it is
    the only one in the last 24 hours. It is refused; a dose now is not."""
    order = _order(nurse, stocked, paracetamol, ordered_ago=40 * HOUR, duration="3 days")
    _book_given(nurse, stocked, order, paracetamol, 30 * HOUR, 26 * HOUR)
    refused = _give(nurse, stocked, order, paracetamol, ago=23 * HOUR)
    assert refused.status_code == 409, refused.json()
    error = refused.json()["error"]
    assert (error["code"], error["limit"], error["remaining"]) == (
        "order.limit_exceeded",
        "day",
        "0",
    )
    assert "inden for 24 timer" in error["message"]
    assert AuditEntry.objects.filter(
        citizen_id=stocked["citizen"].pk, outcome="denied", reason_code="order.limit_exceeded"
    ).exists()
    assert Administration.objects.count() == 2

    # Given now, the two of the day before lie outside its 24 hours.
    assert _give(nurse, stocked, order, paracetamol).status_code == 201
    assert Administration.objects.count() == 3


# --- the same on the nurse's page (the tablet's offline queue) ----------------------------


def test_a_dose_queued_offline_is_judged_when_given_on_the_visit_page():
    """The page door uses the same service: given offline four hours ago
    against an order that ended two hours ago, it is booked; one given before
    the order was made is refused and flagged for the medicine officer."""
    from medicine_cabinet.models import Notification
    from tests.medicine_cabinet.conftest import (
        FUROSEMIDE,
        give_offline,
        on_the_nurses_page,
        phone_order_on_page,
    )

    visit, client, furosemide, _bag, _lot = on_the_nurses_page(**FUROSEMIDE)
    Visit.objects.filter(pk=visit.pk).update(assigned_at=timezone.now() - 30 * HOUR)

    def order_made(ago):
        order = phone_order_on_page(
            client,
            visit,
            furosemide,
            dose="1",
            dose_unit="ampoule",
            frequency="to gange dagligt",
            duration="1 dag",
        )
        MedicationOrder.objects.filter(pk=order.pk).update(ordered_at=timezone.now() - ago)
        return order

    def offline(order, ref, ago):
        return give_offline(client, visit, order, furosemide, "1", ref=ref, at=timezone.now() - ago)

    ended = order_made(26 * HOUR)
    booked = offline(ended, "dose-ended-01", 4 * HOUR)
    assert booked.status_code == 200, booked.content.decode()[:2000]
    assert Administration.objects.filter(order_id=ended.pk).count() == 1
    later = order_made(2 * HOUR)
    before = offline(later, "dose-before-01", 4 * HOUR)
    assert before.status_code == 412
    assert before.json()["error"]["code"] == "order.given_before_order"
    assert not Administration.objects.filter(order_id=later.pk).exists()
    assert Notification.objects.filter(kind=Notification.Kind.OFFLINE_DOSE_REFUSED).exists()
