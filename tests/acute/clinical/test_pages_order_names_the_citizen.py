"""R8: the physician confirms a phone order and sends its prescription for
one citizen, and writes a new order for one, identified as a clinician
identifies a patient — by name and the birth-date part of the CPR number
(masked, never the serial) — so two citizens of the same name are told apart
on her page before she confirms or prescribes for the wrong one."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from acute.clinical.models import MedicationOrder
from core.models import Citizen
from tests import factories
from tests.acute.clinical.conftest import Scene
from tests.acute.clinical.test_pages import _login, _phone_order, _physician

pytestmark = pytest.mark.django_db


def _card(html: str, order: MedicationOrder) -> str:
    start = html.index(f'id="order-{order.pk}"')
    return html[start : html.index("</article>", start)]


def test_r8_two_citizens_of_one_name_are_told_apart_on_her_orders():
    physician = _physician("PH077")
    first = _phone_order(physician)
    second = _phone_order(physician)
    Citizen.objects.filter(pk=second.citizen_id).update(
        given_name=first.citizen.given_name,
        family_name=first.citizen.family_name,
        cpr=factories.cpr_number(born=dt.date(1950, 7, 14)),
    )
    first.citizen.refresh_from_db()
    second.citizen.refresh_from_db()
    assert first.citizen.full_name == second.citizen.full_name
    assert first.citizen.masked_cpr != second.citizen.masked_cpr

    html = _login(physician).get("/physician/orders/").content.decode()

    for order in (first, second):
        card = _card(html, order)
        shown = re.search(r"<span class=\"num\" data-cpr>([^<]+)</span>", card)
        assert shown and shown.group(1) == order.citizen.masked_cpr, card
        cpr = order.citizen.cpr
        assert cpr and cpr not in html


def test_r8_the_written_order_form_names_each_visits_citizen_by_the_birth_date_part(
    scene: Scene,
):
    client = Client()
    assert factories.log_in(client, scene.physician).status_code == 302
    html = client.get("/physician/orders/new/").content.decode()
    option = re.search(rf'<option value="{scene.visit.pk}"[^>]*>([^<]+)</option>', html)
    assert option, html
    assert scene.citizen.masked_cpr in option.group(1)
    assert scene.citizen.cpr not in html
