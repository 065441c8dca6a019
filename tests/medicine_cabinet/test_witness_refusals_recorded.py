"""R8/R9: a refused §4 witness — a wrong password, a witness off duty, the
actor herself, one without the role — is a denied attempt in the audit log
whichever movement it was (transfer, waste, removal, receipt, count
correction, dose) and whichever door it came through (the API, the pages,
the services the management commands call). Nothing is booked."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from consent.audit.models import AuditEntry
from core.errors import InvalidInput
from core.models import Membership, Role
from medicine_cabinet import services
from medicine_cabinet.models import Movement, StockCount
from tests import factories as f
from tests.medicine_cabinet.conftest import (
    actor,
    on_shift,
    order_for,
    receive,
    visit_for,
)

pytestmark = pytest.mark.django_db


def _refused_witness_recorded(by: Membership, code: str, **detail: object) -> AuditEntry:
    """The one denied attempt on the stock ledger, by ``by``, for ``code``."""
    entries = AuditEntry.objects.filter(
        actor_user_id=by.user.pk,
        outcome="denied",
        reason_code=code,
        resource_type="StockMovement",
        citizen_id__isnull=True,
    )
    assert entries.count() == 1, list(entries.values("reason_code", "detail"))
    entry = entries.get()
    for key, value in detail.items():
        assert entry.detail[key] == value, entry.detail
    return entry


def _off_duty(acute) -> Membership:
    membership = f.staff(Role.ACUTE_NURSE, acute)
    on_shift(membership, starts_in=-dt.timedelta(hours=30))
    return membership


def _login(membership: Membership) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def _submitted_surplus(officer, cabinet, morphine, nurse2):
    """A count of the cabinet by the officer herself that finds a §4 surplus:
    its approval needs a witness beside her."""
    lot = receive(officer, cabinet, morphine, "5", witness=nurse2.user)
    count = services.count_start(actor=actor(officer), location=cabinet)
    line = services.count_record(actor=actor(officer), count=count, lot=lot, quantity=Decimal("6"))
    services.count_recount(
        actor=actor(officer), line=line, quantity=Decimal("6"), reason_code="unknown"
    )
    services.count_submit(actor=actor(officer), count=count)
    return count, lot


# --- the API ---------------------------------------------------------------------------


def test_r9_a_wrong_witness_password_on_a_waste_over_the_api_is_a_denied_attempt(
    officer, nurse2, cabinet, morphine
):
    lot = receive(officer, cabinet, morphine, "5", witness=nurse2.user)

    answer = f.client_for(officer).post(
        "/api/cabinet/waste",
        {
            "location": cabinet.pk,
            "lot": lot.pk,
            "quantity": "1",
            "unit": "ampoule",
            "reason_code": "dropped",
            "witness": {"username": nurse2.user.username, "password": "guess"},
        },
        format="json",
    )

    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["code"] == "witness.invalid_credentials"
    _refused_witness_recorded(officer, "witness.invalid_credentials", kind="wasted", lot=lot.pk)
    assert not Movement.objects.filter(kind="wasted").exists()
    assert "guess" not in str(answer.content)


def test_r9_a_witness_off_duty_on_a_removal_over_the_api_is_a_denied_attempt(
    acute, officer, nurse2, cabinet, morphine
):
    lot = receive(officer, cabinet, morphine, "5", witness=nurse2.user)
    services.lot_recall(actor=actor(officer), lot=lot, reason="Tilbagekaldt af leverandøren")
    off = _off_duty(acute)

    answer = f.client_for(officer).post(
        "/api/cabinet/removals",
        {
            "location": cabinet.pk,
            "lot": lot.pk,
            "why": "recalled",
            "witness": {"username": off.user.username, "password": f.PASSWORD},
        },
        format="json",
    )

    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["code"] == "witness.not_on_duty"
    _refused_witness_recorded(officer, "witness.not_on_duty", witness=off.user.pk, lot=lot.pk)
    assert not Movement.objects.filter(kind="recalled").exists()


def test_r9_the_officer_as_her_own_witness_to_a_receipt_over_the_api_is_a_denied_attempt(
    officer, cabinet, morphine
):
    answer = f.client_for(officer).post(
        "/api/cabinet/receipts",
        {
            "cabinet": cabinet.pk,
            "medicine": morphine.pk,
            "batch_number": "M1",
            "expires_on": (timezone.localdate() + dt.timedelta(days=200)).isoformat(),
            "quantity": "10",
            "unit": "ampoule",
            "supplier": "Apoteket",
            "delivery_reference": "D-1",
            "witness": {"username": officer.user.username, "password": f.PASSWORD},
        },
        format="json",
    )

    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["code"] == "witness.same_person"
    _refused_witness_recorded(officer, "witness.same_person", kind="received")
    assert not Movement.objects.exists()


def test_r9_a_count_correction_witnessed_by_one_without_the_role_is_a_denied_attempt(
    acute, officer, nurse2, cabinet, morphine
):
    count, lot = _submitted_surplus(officer, cabinet, morphine, nurse2)
    coordinator = f.staff(Role.COORDINATOR, acute)

    answer = f.client_for(officer).post(
        f"/api/cabinet/counts/{count.pk}/approve",
        {"witness": {"username": coordinator.user.username, "password": f.PASSWORD}},
        format="json",
    )

    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["code"] == "witness.not_eligible"
    _refused_witness_recorded(
        officer, "witness.not_eligible", kind="count_adjustment", count=count.pk, lot=lot.pk
    )
    count.refresh_from_db()
    assert count.status == StockCount.Status.SUBMITTED
    assert not Movement.objects.filter(kind="count_adjustment").exists()


def test_r9_a_wrong_witness_password_on_a_transfer_over_the_api_is_a_denied_attempt(
    officer, nurse, nurse2, cabinet, bag, morphine
):
    lot = receive(officer, cabinet, morphine, "5", witness=nurse2.user)

    answer = f.client_for(nurse).post(
        "/api/cabinet/transfers",
        {
            "lot": lot.pk,
            "from_location": cabinet.pk,
            "to_location": bag.pk,
            "quantity": "1",
            "unit": "ampoule",
            "witness": {"username": nurse2.user.username, "password": "guess"},
        },
        format="json",
    )

    assert answer.status_code == 400
    _refused_witness_recorded(nurse, "witness.invalid_credentials", kind="to_bag", witness=None)
    assert not Movement.objects.filter(location=bag).exists()


def test_r9_a_refused_dose_witness_is_recorded_once_on_the_citizen(
    officer, nurse, nurse2, cabinet, bag, morphine
):
    lot = receive(officer, cabinet, morphine, "10", witness=nurse2.user)
    services.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=cabinet,
        destination=bag,
        quantity=Decimal("2"),
        unit="ampoule",
        witness=nurse2.user,
    )
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    order = order_for(nurse, citizen, morphine, kind="written", visit=visit, dose_unit="ampoule")

    answer = f.client_for(nurse).post(
        "/api/cabinet/administrations",
        {
            "visit": visit.pk,
            "order": order.pk,
            "medicine": morphine.pk,
            "quantity": "1",
            "unit": "ampoule",
            "witness": {"username": nurse.user.username, "password": f.PASSWORD},
        },
        format="json",
    )

    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["code"] == "witness.same_person"
    denied = AuditEntry.objects.filter(citizen_id=citizen.pk, outcome="denied")
    assert [(e.reason_code, e.resource_type) for e in denied] == [
        ("witness.same_person", "MedicationAdministration")
    ]
    # Who was named, on what: the auditor reads the attempt whole.
    assert denied.get().detail == {
        "visit": visit.pk,
        "order": order.pk,
        "lot": lot.pk,
        "quantity": "1",
        "witness": nurse.user.pk,
    }
    assert not Movement.objects.filter(kind="administered").exists()


# --- the pages -------------------------------------------------------------------------


def test_r9_a_wrong_witness_password_on_the_receive_page_is_a_denied_attempt(
    officer, nurse2, cabinet, morphine
):
    answer = _login(officer).post(
        "/cabinet/receive/",
        {
            "cabinet": cabinet.pk,
            "medicine": morphine.pk,
            "batch_number": "M1",
            "expires_on": (timezone.localdate() + dt.timedelta(days=200)).isoformat(),
            "quantity": "10",
            "supplier": "Apoteket",
            "delivery_reference": "D-1",
            "witness_username": nurse2.user.username,
            "witness_password": "guess",
        },
    )

    assert answer.status_code == 400
    assert 'data-code="witness.invalid_credentials"' in answer.content.decode()
    _refused_witness_recorded(officer, "witness.invalid_credentials", kind="received")
    assert not Movement.objects.exists()


def test_r9_a_witness_off_duty_on_the_count_approval_page_is_a_denied_attempt(
    acute, officer, nurse2, cabinet, morphine
):
    count, _lot = _submitted_surplus(officer, cabinet, morphine, nurse2)
    off = _off_duty(acute)

    answer = _login(officer).post(
        f"/cabinet/counts/{count.pk}/do/",
        {
            "action": "approve",
            "witness_username": off.user.username,
            "witness_password": f.PASSWORD,
        },
    )

    assert answer.status_code == 400
    _refused_witness_recorded(officer, "witness.not_on_duty", count=count.pk, witness=off.user.pk)
    count.refresh_from_db()
    assert count.status == StockCount.Status.SUBMITTED
    assert not Movement.objects.filter(kind="count_adjustment").exists()


def test_r9_a_wrong_witness_password_on_the_bag_page_is_a_denied_attempt(
    officer, nurse, nurse2, cabinet, bag, morphine
):
    lot = receive(officer, cabinet, morphine, "5", witness=nurse2.user)

    answer = _login(nurse).post(
        "/nurse/bag/take/",
        {
            "stock": f"{cabinet.pk}:{lot.pk}",
            "quantity": "1",
            "witness_username": nurse2.user.username,
            "witness_password": "guess",
        },
    )

    assert answer.status_code == 400
    _refused_witness_recorded(nurse, "witness.invalid_credentials", kind="to_bag")
    assert not Movement.objects.filter(location=bag).exists()


# --- the services the commands call ------------------------------------------------------


def test_r9_a_receipt_witnessed_off_duty_through_the_service_is_a_denied_attempt(
    acute, officer, cabinet, morphine
):
    off = _off_duty(acute)

    with pytest.raises(InvalidInput) as caught:
        receive(officer, cabinet, morphine, "10", witness=off.user)

    assert caught.value.code == "witness.not_on_duty"
    _refused_witness_recorded(officer, "witness.not_on_duty", witness=off.user.pk)
    assert not Movement.objects.exists()


def test_r9_a_section_4_waste_without_a_witness_through_the_service_is_a_denied_attempt(
    officer, nurse2, cabinet, morphine
):
    lot = receive(officer, cabinet, morphine, "5", witness=nurse2.user)

    with pytest.raises(InvalidInput):
        services.stock_waste(
            actor=actor(officer),
            location=cabinet,
            lot=lot,
            quantity=Decimal("1"),
            unit="ampoule",
            reason_code="dropped",
        )

    _refused_witness_recorded(officer, "witness.required", kind="wasted", witness=None)
    assert not Movement.objects.filter(kind="wasted").exists()
