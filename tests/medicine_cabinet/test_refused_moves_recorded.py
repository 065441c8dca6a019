"""A refused attempt on the cabinet is recorded on every door (R8, R9).

The same write reaches the stock through the API and through the pages; a
role that may not make it is refused by the one gate of each, and the
attempt is in the audit log either way — a movement as a denied
``StockMovement`` (purpose ``operations``), a recall, which answers with the
citizens who received a dose from the lot, as a denied
``MedicationAdministration`` search. A nurse reaching into a colleague's bag,
or into the cabinet the medicine officer keeps, is refused by the service
every door calls, and that refusal is recorded there, once, before anything
is booked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from consent.audit.models import AuditEntry
from core.models import Role
from medicine_cabinet import services
from medicine_cabinet.models import Lot, Movement
from tests import factories as f
from tests.medicine_cabinet.conftest import actor, in_bag, receive

pytestmark = pytest.mark.django_db

REFUSED_EVERYWHERE = [Role.COORDINATOR, Role.AUDITOR, Role.ANALYST, Role.PHYSICIAN]


def _denied_since(before: int) -> list[tuple[Any, ...]]:
    return list(
        AuditEntry.objects.filter(pk__gt=before, outcome="denied")
        .order_by("pk")
        .values_list("actor_user_id", "reason_code", "resource_type", "action", "purpose")
    )


def _last_entry() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _moves(cabinet: Any, bag: Any, lot: Lot) -> dict[str, dict[str, Any]]:
    return {
        "receipts": {
            "cabinet": cabinet.pk,
            "medicine": lot.medicine_id,
            "batch_number": "NEW1",
            "expires_on": (timezone.localdate() + dt.timedelta(days=200)).isoformat(),
            "quantity": "5",
            "unit": "tablet",
            "supplier": "Apoteket",
            "delivery_reference": "D-NEW1",
        },
        "transfers": {
            "lot": lot.pk,
            "from_location": cabinet.pk,
            "to_location": bag.pk,
            "quantity": "1",
            "unit": "tablet",
        },
        "waste": {
            "location": cabinet.pk,
            "lot": lot.pk,
            "quantity": "1",
            "unit": "tablet",
            "reason_code": "dropped",
        },
        "removals": {"location": cabinet.pk, "lot": lot.pk, "why": "expired"},
    }


@pytest.mark.parametrize("role", REFUSED_EVERYWHERE)
def test_a_role_refused_a_stock_movement_on_the_api_is_recorded(
    role, acute, officer, cabinet, bag, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "20")
    other = f.staff(role, acute)
    client = f.client_for(other)
    booked = Movement.objects.count()
    for endpoint, body in _moves(cabinet, bag, lot).items():
        before = _last_entry()

        refused = client.post(f"/api/cabinet/{endpoint}", body, format="json")

        assert refused.status_code == 403, endpoint
        assert refused.json()["error"]["code"] == "auth.forbidden"
        assert _denied_since(before) == [
            (other.user_id, "role_not_permitted", "StockMovement", "create", "operations")
        ], endpoint
    assert Movement.objects.count() == booked


@pytest.mark.parametrize("role", [Role.ACUTE_NURSE, *REFUSED_EVERYWHERE])
def test_a_role_refused_a_recall_and_its_list_of_citizens_is_recorded(
    role, acute, officer, cabinet, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "20")
    other = f.staff(role, acute)
    before = _last_entry()

    refused = f.client_for(other).post(
        f"/api/cabinet/lots/{lot.pk}/recall", {"reason": "Producent"}, format="json"
    )

    assert refused.status_code == 403
    assert _denied_since(before) == [
        (other.user_id, "role_not_permitted", "MedicationAdministration", "search", "operations")
    ]
    lot.refresh_from_db()
    assert not lot.is_recalled


def _login(membership: Any) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def test_the_officers_pages_record_a_refused_role_like_the_api(
    acute, officer, nurse, cabinet, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "20")
    services.lot_recall(actor=actor(officer), lot=lot, reason="Producent")
    client = _login(nurse)
    before = _last_entry()

    seen = client.get(f"/cabinet/recall/{lot.pk}/")
    recalled = client.post("/cabinet/recall/", {"lot": lot.pk, "reason": "x"})
    received = client.post(
        "/cabinet/receive/",
        {
            "cabinet": cabinet.pk,
            "medicine": paracetamol.pk,
            "batch_number": "NEW2",
            "expires_on": (timezone.localdate() + dt.timedelta(days=200)).isoformat(),
            "quantity": "5",
            "supplier": "Apoteket",
            "delivery_reference": "D-NEW2",
        },
    )

    assert (seen.status_code, recalled.status_code, received.status_code) == (403, 403, 403)
    who = nurse.user_id
    assert _denied_since(before) == [
        (who, "role_not_permitted", "MedicationAdministration", "search", "operations"),
        (who, "role_not_permitted", "MedicationAdministration", "search", "operations"),
        (who, "role_not_permitted", "StockMovement", "create", "operations"),
    ]
    assert not Lot.objects.filter(batch_number="NEW2").exists()


def test_a_nurse_reaching_into_a_colleagues_bag_is_refused_and_recorded_once(
    officer, nurse, nurse2, cabinet, bag, bag2, paracetamol
):
    lot = in_bag(officer, nurse2, cabinet, bag2, paracetamol, "5")
    client = f.client_for(nurse)
    booked = Movement.objects.count()
    tries = {
        "transfers": {
            "lot": lot.pk,
            "from_location": bag2.pk,
            "to_location": cabinet.pk,
            "quantity": "1",
            "unit": "tablet",
        },
        "waste": {
            "location": bag2.pk,
            "lot": lot.pk,
            "quantity": "1",
            "unit": "tablet",
            "reason_code": "dropped",
        },
        "removals": {"location": bag2.pk, "lot": lot.pk, "why": "expired"},
    }
    for endpoint, body in tries.items():
        before = _last_entry()

        refused = client.post(f"/api/cabinet/{endpoint}", body, format="json")

        assert refused.status_code == 403, endpoint
        assert refused.json()["error"]["code"] == "bag.not_yours"
        assert _denied_since(before) == [
            (nurse.user_id, "bag.not_yours", "StockMovement", "create", "operations")
        ], endpoint
        entry = AuditEntry.objects.get(pk__gt=before, outcome="denied")
        assert entry.citizen_id is None
        assert entry.detail["lot"] == lot.pk
    assert Movement.objects.count() == booked


def test_a_nurse_wasting_or_removing_from_the_cabinet_is_refused_and_recorded(
    officer, nurse, cabinet, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "20")
    client = f.client_for(nurse)
    for endpoint, body in {
        "waste": {
            "location": cabinet.pk,
            "lot": lot.pk,
            "quantity": "1",
            "unit": "tablet",
            "reason_code": "dropped",
        },
        "removals": {"location": cabinet.pk, "lot": lot.pk, "why": "expired"},
    }.items():
        before = _last_entry()

        refused = client.post(f"/api/cabinet/{endpoint}", body, format="json")

        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "cabinet.officer_only"
        assert _denied_since(before) == [
            (nurse.user_id, "cabinet.officer_only", "StockMovement", "create", "operations")
        ], endpoint
    assert Movement.objects.filter(lot=lot).count() == 1


@pytest.mark.parametrize("role", [Role.ACUTE_NURSE, *REFUSED_EVERYWHERE])
def test_a_role_refused_a_count_approval_is_recorded_as_a_refused_movement(
    role, acute, officer, cabinet, paracetamol
):
    """Approving a count books its variances as stock movements: another
    role asking for it tried to move stock, recorded as the other doors' are."""
    receive(officer, cabinet, paracetamol, "20")
    count = services.count_start(actor=actor(officer), location=cabinet)
    other = f.staff(role, acute)
    before = _last_entry()

    refused = f.client_for(other).post(f"/api/cabinet/counts/{count.pk}/approve", {}, format="json")

    assert refused.status_code == 403
    assert _denied_since(before) == [
        (other.user_id, "role_not_permitted", "StockMovement", "create", "operations")
    ]
    count.refresh_from_db()
    assert count.status == count.Status.OPEN


@pytest.mark.parametrize("role", [Role.ACUTE_NURSE, Role.COORDINATOR])
def test_a_role_refused_a_count_approval_on_the_officers_page_is_recorded_as_on_the_api(
    role, acute, officer, cabinet, paracetamol
):
    """The count page's ``approve`` moves stock as the API's approval does:
    another role pressing it is recorded the same way; saving the sheet
    moves nothing and concerns no citizen, so it leaves no entry."""
    receive(officer, cabinet, paracetamol, "20")
    count = services.count_start(actor=actor(officer), location=cabinet)
    other = f.staff(role, acute)
    client = _login(other)
    before = _last_entry()

    approved = client.post(f"/cabinet/counts/{count.pk}/do/", {"action": "approve"})
    saved = client.post(f"/cabinet/counts/{count.pk}/do/", {"action": "save"})

    assert (approved.status_code, saved.status_code) == (403, 403)
    assert _denied_since(before) == [
        (other.user_id, "role_not_permitted", "StockMovement", "create", "operations")
    ]
    count.refresh_from_db()
    assert count.status == count.Status.OPEN
