"""The medicine officer's notifications read in Danish (low stock, expiry, an
overdue count, a recall, a dose given offline and refused): kept as she reads
them, with no English sentence and no refusal code on her page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone, translation

from core.errors import PreconditionFailed
from medicine_cabinet import services
from medicine_cabinet.models import Notification
from tests import factories as f
from tests.medicine_cabinet.conftest import actor, receive

pytestmark = pytest.mark.django_db

ENGLISH = re.compile(
    r"\b(Lot|of|expires|usable|minimum of|is due|count|never|recalled|Held|nowhere|"
    r"gave|without|refused|Reconcile|her bag|tablet)\b"
)
CODE = re.compile(r"\b[a-z]+[._][a-z_]+\b")


def test_the_officers_notifications_are_danish_whatever_language_raised_them(
    acute, officer, nurse, cabinet, paracetamol
):
    lot = receive(officer, cabinet, paracetamol, "30", batch="P-1", expires_in_days=20)
    with translation.override("en"):  # a job or a request in English raises them
        services.stock_watch_low(organisation=acute)
        services.stock_watch_expiry(organisation=acute)
        services.count_watch_overdue(organisation=acute, now=timezone.now() + dt.timedelta(days=8))
        services.lot_recall(actor=actor(officer), lot=lot, reason="Fejl i pakning")
        services.offline_dose_refused_flag(
            actor=actor(nurse),
            medicine=paracetamol,
            quantity="1.5",
            given_at=timezone.now(),
            error=PreconditionFailed(
                "administration.citizen_deceased",
                "The citizen is registered deceased.",
            ),
            client_ref="dose-offline-1",
        )
    messages = dict(Notification.objects.values_list("kind", "message"))
    assert set(messages) == {
        "low_stock",
        "expires_30",
        "count_overdue",
        "recall",
        "offline_dose",
    }
    # The medicine as the officer's lists name it, the unit in Danish.
    assert messages["low_stock"] == "Paracetamol 500 mg: 30 tabl. til rådighed, minimum 40."
    assert messages["expires_30"].startswith("Batch P-1 af Paracetamol 500 mg udløber ")
    assert "skal optælles" in messages["count_overdue"]
    assert "er tilbagekaldt. Findes i: " in messages["recall"]
    offline = messages["offline_dose"]
    assert " gav 1,5 Paracetamol" in offline and "Afstem hendes taske" in offline
    assert "administration.citizen_deceased" not in offline
    assert {k: m for k, m in messages.items() if ENGLISH.search(m) or CODE.search(m)} == {}

    client = Client()
    f.log_in(client, officer)
    page = client.get("/cabinet/", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    for message in messages.values():
        assert message.split(":")[0] in page
    assert "administration.citizen_deceased" not in page
