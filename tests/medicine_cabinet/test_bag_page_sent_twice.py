"""R8 on the nurse's tablet: a bag form tapped twice (or the answer reloaded)
moves the stock once. Each rendering of the form carries its own reference
(``core.form_once``); the second send is told nothing was done twice."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client

from medicine_cabinet.models import Balance, Movement
from tests import factories as f
from tests.medicine_cabinet.conftest import receive

pytestmark = pytest.mark.django_db

REF = re.compile(r'action="(/nurse/bag/\w+/)".*?name="form_ref" value="([0-9a-f]{32})"', re.S)


def _held(location, lot) -> Decimal:
    row = Balance.objects.filter(location=location, lot=lot).first()
    return row.quantity if row else Decimal("0")


def _refs(client: Client) -> dict[str, str]:
    """The reference each of the bag page's forms was drawn with, by its address."""
    return dict(REF.findall(client.get("/nurse/bag/").content.decode()))


def test_r8_a_take_sent_twice_takes_once_and_says_so(officer, nurse, cabinet, bag, paracetamol):
    lot = receive(officer, cabinet, paracetamol, "20")
    client = Client()
    f.log_in(client, nurse)
    form = {"stock": f"{cabinet.pk}:{lot.pk}", "quantity": "6"}
    form["form_ref"] = _refs(client)["/nurse/bag/take/"]

    first = client.post("/nurse/bag/take/", form)
    second = client.post("/nurse/bag/take/", form)

    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"] == "/nurse/bag/"
    assert _held(bag, lot) == Decimal("6") and _held(cabinet, lot) == Decimal("14")
    assert Movement.objects.filter(lot=lot, kind=Movement.Kind.TO_BAG).count() == 2
    shown = client.get("/nurse/bag/").content.decode()
    assert "Formularen var allerede modtaget; intet blev gjort to gange." in shown

    # The page drawn again is a new form: taking more is taking more.
    again = client.post("/nurse/bag/take/", {**form, "form_ref": _refs(client)["/nurse/bag/take/"]})
    assert again.status_code == 302 and _held(bag, lot) == Decimal("12")


def test_r8_a_return_sent_twice_returns_once(officer, nurse, cabinet, bag, paracetamol):
    lot = receive(officer, cabinet, paracetamol, "20")
    client = Client()
    f.log_in(client, nurse)
    taken = {"stock": f"{cabinet.pk}:{lot.pk}", "quantity": "6"}
    assert client.post("/nurse/bag/take/", taken).status_code == 302
    form = {"lot": str(lot.pk), "cabinet": str(cabinet.pk), "quantity": "2"}
    form["form_ref"] = _refs(client)["/nurse/bag/return/"]

    client.post("/nurse/bag/return/", form)
    client.post("/nurse/bag/return/", form)

    assert _held(bag, lot) == Decimal("4") and _held(cabinet, lot) == Decimal("16")


def test_r8_a_refused_take_keeps_nothing_and_the_corrected_form_goes_through(
    officer, nurse, cabinet, bag, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "20")
    client = Client()
    f.log_in(client, nurse)
    ref = _refs(client)["/nurse/bag/take/"]
    form = {"stock": f"{cabinet.pk}:{lot.pk}", "form_ref": ref}

    refused = client.post("/nurse/bag/take/", {**form, "quantity": "99"})
    corrected = client.post("/nurse/bag/take/", {**form, "quantity": "5"})

    assert 400 <= refused.status_code < 500
    assert corrected.status_code == 302 and _held(bag, lot) == Decimal("5")
