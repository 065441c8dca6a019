"""Who may use ``/api/cabinet/``: deny by default, and every refused role refused.

Officer: formulary, cabinets, receiving, recalls, counts and approval,
notifications, reports. Acute nurse: her bag, transfers, administration,
counting. Coordinator: reads stock only. Everyone else: nothing.
"""

from __future__ import annotations

import pytest

from core.models import Role
from medicine_cabinet.models import Location, Movement
from tests import factories as f
from tests.medicine_cabinet.conftest import receive

pytestmark = pytest.mark.django_db

OFF, N, C = Role.MEDICINE_OFFICER, Role.ACUTE_NURSE, Role.COORDINATOR
ENDPOINTS: list[tuple[str, str, set[str]]] = [
    ("get", "/api/cabinet/medicines", {OFF, N, C}),
    ("post", "/api/cabinet/medicines", {OFF, N, C}),  # nurses/coordinators refused in the view
    ("get", "/api/cabinet/locations", {OFF, N, C}),
    ("get", "/api/cabinet/locations/1/balance", {OFF, N, C}),
    ("post", "/api/cabinet/cabinets", {OFF}),
    ("get", "/api/cabinet/my-bag", {N}),
    ("get", "/api/cabinet/stock", {OFF, N, C}),
    ("post", "/api/cabinet/receipts", {OFF}),
    ("post", "/api/cabinet/transfers", {N}),
    ("post", "/api/cabinet/waste", {OFF, N}),
    ("post", "/api/cabinet/removals", {OFF, N}),
    ("post", "/api/cabinet/lots/1/recall", {OFF}),
    ("get", "/api/cabinet/lots/1/history", {OFF}),
    ("get", "/api/cabinet/register/1", {OFF}),
    ("get", "/api/cabinet/counts", {OFF, N}),
    ("post", "/api/cabinet/counts", {OFF, N}),
    ("get", "/api/cabinet/counts/1", {OFF, N}),
    ("post", "/api/cabinet/counts/1/lines", {OFF, N}),
    ("post", "/api/cabinet/counts/1/lines/1/recount", {OFF, N}),
    ("post", "/api/cabinet/counts/1/submit", {OFF, N}),
    ("post", "/api/cabinet/counts/1/approve", {OFF}),
    ("get", "/api/cabinet/notifications", {OFF}),
    ("post", "/api/cabinet/notifications/1/acknowledge", {OFF}),
    ("get", "/api/cabinet/reports/monthly-use", {OFF}),
    ("post", "/api/cabinet/administrations", {N}),
    ("get", "/api/cabinet/administrations/suggested-lot", {N}),
]


@pytest.mark.parametrize("role", Role.values)
def test_refused_roles_are_refused(role: str) -> None:
    client = f.client_for(f.staff(role, f.acute_function()))
    refused = [(m, p) for m, p, allowed in ENDPOINTS if role not in allowed]
    for method, path in refused:
        response = getattr(client, method)(path, {}, format="json")
        assert response.status_code == 403, (method, path)
        assert response.json()["error"]["code"] == "auth.forbidden"
    # The roles with no business here are refused everywhere.
    if role not in (OFF, N, C):
        assert len(refused) == len(ENDPOINTS)


def test_the_anonymous_are_refused() -> None:
    for method, path, _ in ENDPOINTS:
        response = getattr(f.client_for(None), method)(path, {}, format="json")
        assert response.status_code in (401, 403), (method, path)


def test_only_the_officer_keeps_the_formulary(officer, nurse):
    body = f.medicine_body(minimum_stock="40")
    assert (
        f.client_for(nurse).post("/api/cabinet/medicines", body, format="json").status_code == 403
    )
    made = f.client_for(officer).post("/api/cabinet/medicines", body, format="json")
    assert made.status_code == 201
    bad = f.client_for(officer).post(
        "/api/cabinet/medicines", {**body, "atc_code": "nope"}, format="json"
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "request.invalid"


def test_the_receipt_api_refuses_bad_input_clearly_and_writes_nothing(
    officer, cabinet, paracetamol
):
    client = f.client_for(officer)
    body = {
        "cabinet": cabinet.pk,
        "medicine": paracetamol.pk,
        "batch_number": "B1",
        "expires_on": "2031-01-01",
        "quantity": "10",
        "unit": "tablet",
        "supplier": "Apoteket",
        "delivery_reference": "D-1",
    }
    cases = [
        ({"quantity": "0"}, 400, "quantity.not_positive"),
        ({"quantity": "-3"}, 400, "quantity.not_positive"),
        ({"quantity": 2.5}, 400, "quantity.invalid"),
        ({"unit": "mg"}, 400, "unit.mismatch"),
        ({"medicine": 999999}, 404, "medicine.not_found"),
        ({"cabinet": 999999}, 404, "location.not_found"),
        ({"expires_on": "2001-01-01"}, 412, "lot.expired"),
        # A slip of the keys would keep the lot out of every expiry warning.
        ({"expires_on": "9999-12-31"}, 400, "lot.expiry_implausible"),
        ({"supplier": ""}, 400, "request.invalid"),
    ]
    for change, status, code in cases:
        response = client.post("/api/cabinet/receipts", {**body, **change}, format="json")
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), change
    assert not Movement.objects.exists()
    assert client.post("/api/cabinet/receipts", body, format="json").status_code == 201


def test_unknown_lot_and_someone_elses_bag_over_the_api(
    officer, nurse, nurse2, cabinet, bag, bag2, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "10")
    client = f.client_for(nurse)
    body = {
        "lot": lot.pk,
        "from_location": cabinet.pk,
        "to_location": bag2.pk,
        "quantity": "1",
        "unit": "tablet",
    }
    theirs = client.post("/api/cabinet/transfers", body, format="json")
    assert theirs.status_code == 403 and theirs.json()["error"]["code"] == "bag.not_yours"
    unknown = client.post("/api/cabinet/transfers", {**body, "lot": 999999}, format="json")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "lot.not_found"
    assert client.get(f"/api/cabinet/locations/{bag2.pk}/balance").status_code == 403
    assert Movement.objects.filter(location__kind=Location.Kind.BAG).count() == 0


def test_stock_lists_show_a_nurse_the_cabinets_and_her_own_bag_only(
    officer, nurse, nurse2, cabinet, bag, bag2, paracetamol, django_assert_max_num_queries
):
    from decimal import Decimal

    from medicine_cabinet import services
    from tests.medicine_cabinet.conftest import actor

    for n in range(5):
        lot = receive(officer, cabinet, paracetamol, "10", batch=f"L{n}")
        for who, where in ((nurse, bag), (nurse2, bag2)):
            services.stock_transfer(
                actor=actor(who),
                lot=lot,
                source=cabinet,
                destination=where,
                quantity=Decimal("1"),
                unit="tablet",
            )
    client = f.client_for(nurse)
    with django_assert_max_num_queries(6):
        rows = client.get("/api/cabinet/stock").json()["stock"]
    assert {r["location"]["id"] for r in rows} == {cabinet.pk, bag.pk}
    coordinator = f.client_for(f.staff(Role.COORDINATOR, cabinet.organisation))
    with django_assert_max_num_queries(6):
        everything = coordinator.get("/api/cabinet/stock").json()["stock"]
    assert len(everything) == 15
    # Her colleague's bag asked for by name is refused as its balance is, not
    # answered with an empty list as if the bag were empty.
    theirs = client.get(f"/api/cabinet/stock?location={bag2.pk}")
    assert theirs.status_code == 403 and theirs.json()["error"]["code"] == "bag.not_yours"
    mine = client.get(f"/api/cabinet/stock?location={bag.pk}").json()["stock"]
    assert {r["location"]["id"] for r in mine} == {bag.pk}
    with django_assert_max_num_queries(8):
        history = f.client_for(officer).get(f"/api/cabinet/lots/{lot.pk}/history").json()
    assert len(history["movements"]) == 5 and len(history["held_in"]) == 3
