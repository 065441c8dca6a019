"""R8 on the nurse's tablet: her bag's page (``/nurse/bag/``) — what it holds,
the cabinet's lots (earliest expiry first), taking a quantity into the bag
and returning it, through the same service as ``POST /api/cabinet/transfers``
so the shift, the §4 witness, whole units and the stock hold the same."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from consent.audit.models import AuditEntry
from core.models import Membership, Role
from medicine_cabinet.models import Balance, Movement
from tests import factories as f
from tests.medicine_cabinet.conftest import in_bag, on_shift, receive

pytestmark = pytest.mark.django_db


def _login(membership: Membership) -> Client:
    client = Client()
    f.log_in(client, membership)
    return client


def _held(location, lot) -> Decimal:
    row = Balance.objects.filter(location=location, lot=lot).first()
    return row.quantity if row else Decimal("0")


def _take(client: Client, cabinet, lot, quantity: str, **extra: str):
    return client.post(
        "/nurse/bag/take/", {"stock": f"{cabinet.pk}:{lot.pk}", "quantity": quantity, **extra}
    )


def test_r8_the_bag_page_shows_her_bag_and_the_cabinets_lots_earliest_expiry_first(
    officer, nurse, cabinet, bag, paracetamol, lactulose
):
    receive(officer, cabinet, paracetamol, "40", batch="LATER", expires_in_days=400)
    receive(officer, cabinet, paracetamol, "40", batch="SOONER", expires_in_days=40)
    lot = receive(officer, cabinet, lactulose, "500", batch="LAK-1")
    client = _login(nurse)
    assert _take(client, cabinet, lot, "2,5").status_code == 302  # mL keep their decimals

    html = client.get("/nurse/bag/").content.decode()

    mine = html[html.index('id="bag-stock"') : html.index('id="cabinet-lots"')]
    assert "Laktulose" in mine and "LAK-1" in mine and "2,5" in mine
    cabinet_lots = html[html.index('id="cabinet-lots"') : html.index('id="take"')]
    assert cabinet_lots.index("SOONER") < cabinet_lots.index("LATER")
    assert "497,5" in cabinet_lots  # what is left, with a decimal comma
    assert "Min taske" in html and "Tag i min taske" in html
    # Her shift page and her menu lead to it.
    assert 'href="/nurse/bag/"' in client.get("/nurse/shift/").content.decode()


def test_r8_she_takes_a_quantity_into_her_bag_and_returns_some(
    officer, nurse, cabinet, bag, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "20")
    client = _login(nurse)

    taken = _take(client, cabinet, lot, "6")

    assert taken.status_code == 302 and taken["Location"] == "/nurse/bag/"
    assert _held(bag, lot) == Decimal("6") and _held(cabinet, lot) == Decimal("14")
    entries = Movement.objects.filter(lot=lot, kind=Movement.Kind.TO_BAG)
    assert entries.count() == 2 and len({m.transfer_id for m in entries}) == 1
    assert "Taget i din taske: 6 tabl." in client.get("/nurse/bag/").content.decode()

    returned = client.post(
        "/nurse/bag/return/", {"lot": str(lot.pk), "cabinet": str(cabinet.pk), "quantity": "4"}
    )

    assert returned.status_code == 302
    assert _held(bag, lot) == Decimal("2") and _held(cabinet, lot) == Decimal("18")
    assert Movement.objects.filter(lot=lot, kind=Movement.Kind.TO_CABINET).count() == 2


def test_r8_a_section_4_medicine_moves_only_with_a_witness_on_duty(
    officer, nurse, nurse2, cabinet, bag, morphine
):
    lot = receive(officer, cabinet, morphine, "10", witness=nurse2.user)
    client = _login(nurse)

    without = _take(client, cabinet, lot, "2")

    assert without.status_code == 400
    page = without.content.decode()
    assert 'data-code="witness.required"' in page
    assert 'aria-describedby="err-witness"' in page
    assert 'id="take-qty" name="quantity" inputmode="decimal" autocomplete="off" value="2"' in page
    assert _held(bag, lot) == Decimal("0")

    witnessed = _take(
        client,
        cabinet,
        lot,
        "2",
        witness_username=nurse2.user.username,
        witness_password=f.PASSWORD,
    )

    assert witnessed.status_code == 302
    assert _held(bag, lot) == Decimal("2")
    assert set(
        Movement.objects.filter(lot=lot, kind=Movement.Kind.TO_BAG).values_list(
            "witness_id", flat=True
        )
    ) == {nurse2.user.pk}


def test_r8_a_witness_off_duty_is_refused_and_nothing_moves(
    acute, officer, nurse, nurse2, cabinet, bag, morphine
):
    off_duty = f.staff(Role.ACUTE_NURSE, acute)
    on_shift(off_duty, starts_in=-dt.timedelta(hours=30))
    lot = receive(officer, cabinet, morphine, "10", witness=nurse2.user)

    refused = _take(
        _login(nurse),
        cabinet,
        lot,
        "1",
        witness_username=off_duty.user.username,
        witness_password=f.PASSWORD,
    )

    assert refused.status_code == 400
    assert 'data-code="witness.not_on_duty"' in refused.content.decode()
    assert _held(bag, lot) == Decimal("0")


def test_r8_a_wrong_witness_password_is_refused_and_nothing_moves(
    officer, nurse, nurse2, cabinet, bag, morphine
):
    lot = receive(officer, cabinet, morphine, "10", witness=nurse2.user)

    refused = _take(
        _login(nurse),
        cabinet,
        lot,
        "1",
        witness_username=nurse2.user.username,
        witness_password="not her password",
    )

    assert refused.status_code == 400
    page = refused.content.decode()
    assert 'data-code="witness.invalid_credentials"' in page
    assert '<p class="field-error" id="err-witness">' in page
    assert f'value="{nurse2.user.username}"' in page  # what she typed is kept
    assert "not her password" not in page  # never the password
    assert _held(bag, lot) == Decimal("0") and _held(cabinet, lot) == Decimal("10")


def test_r8_off_her_shift_nothing_goes_into_her_bag_and_the_attempt_is_audited(
    acute, officer, cabinet, paracetamol
):
    off = f.staff(Role.ACUTE_NURSE, acute)
    on_shift(off, starts_in=-dt.timedelta(hours=30))
    lot = receive(officer, cabinet, paracetamol, "20")

    refused = _take(_login(off), cabinet, lot, "3")

    assert refused.status_code == 403
    page = refused.content.decode()
    assert 'data-code="bag.off_shift"' in page
    assert 'value="3"' in page
    assert Movement.objects.filter(lot=lot).count() == 1  # the receipt only
    assert AuditEntry.objects.filter(
        actor_user_id=off.user.pk,
        outcome="denied",
        reason_code="bag.off_shift",
        resource_type="StockMovement",
    ).exists()


def test_r8_part_of_a_tablet_or_more_than_the_cabinet_holds_is_refused_under_the_quantity(
    officer, nurse, cabinet, bag, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "5")
    client = _login(nurse)

    half = _take(client, cabinet, lot, "2,5")
    too_many = _take(client, cabinet, lot, "6")

    assert half.status_code == 400
    assert 'data-code="quantity.whole_units"' in half.content.decode()
    assert '<p class="field-error" id="err-quantity">' in half.content.decode()
    assert too_many.status_code == 409
    assert 'data-code="stock.insufficient"' in too_many.content.decode()
    assert _held(bag, lot) == Decimal("0") and _held(cabinet, lot) == Decimal("5")


def test_r8_she_returns_only_from_her_own_bag(
    officer, nurse, nurse2, cabinet, bag, bag2, paracetamol
):
    lot = in_bag(officer, nurse2, cabinet, bag2, paracetamol, "4")

    refused = _login(nurse).post(
        "/nurse/bag/return/", {"lot": str(lot.pk), "cabinet": str(cabinet.pk), "quantity": "2"}
    )

    # Her own bag holds none of it: the colleague's bag is untouched.
    assert refused.status_code == 409
    assert _held(bag2, lot) == Decimal("4")


@pytest.mark.parametrize(
    "role", [r for r in Role.values if r not in (Role.ACUTE_NURSE, Role.ADMINISTRATOR)]
)
def test_every_other_role_is_refused_and_an_attempt_to_move_stock_is_recorded(
    role, acute, officer, cabinet, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "20")
    other = officer if role == Role.MEDICINE_OFFICER else f.staff(role, acute)
    client = _login(other)
    before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    assert client.get("/nurse/bag/").status_code == 403
    refused = _take(client, cabinet, lot, "1")

    assert refused.status_code == 403
    assert "Ikke tilgængelig" in refused.content.decode()
    assert Movement.objects.filter(lot=lot).count() == 1
    assert list(
        AuditEntry.objects.filter(pk__gt=before, outcome="denied").values_list(
            "actor_user_id", "reason_code", "resource_type", "purpose", "citizen_id"
        )
    ) == [(other.user_id, "role_not_permitted", "StockMovement", "operations", None)]


def test_a_form_without_its_csrf_token_is_refused(nurse, officer, cabinet, paracetamol):
    lot = receive(officer, cabinet, paracetamol, "20")
    client = Client(enforce_csrf_checks=True)
    client.cookies = _login(nurse).cookies

    refused = _take(client, cabinet, lot, "1")

    assert refused.status_code == 403
    assert Movement.objects.filter(lot=lot).count() == 1
