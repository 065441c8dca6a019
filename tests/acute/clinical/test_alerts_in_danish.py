"""Every alert reads in the reader's language: a critical result, a phone
order's reminder and escalation and an overdue prescription keep their
message as a msgid with its values, as the late-dose alerts do, so the
physician's API and page and the coordinator's API say it in Danish unless
English is asked for (decision 0020). The alerts raised before, stored as an
English sentence, are rewritten where they are recognised, and keep their
text where they are not."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.test import Client
from django.utils import timezone

from acute.clinical.models import MedicationOrder, PhysicianAlert
from acute.clinical.services import medication_orders_watch
from tests import factories
from tests.acute.clinical.conftest import Scene
from tests.acute.clinical.test_orders import post_phone_order
from tests.acute.clinical.test_results import post_results

pytestmark = pytest.mark.django_db

migration = importlib.import_module("acute.clinical.migrations.0010_alert_messages_kept_as_msgids")


def _messages(client: Client, path: str, **headers: str) -> dict[str, str]:
    response = client.get(path, **headers)
    assert response.status_code == 200, response.json()
    return {a["kind"]: a["message"] for a in response.json()["alerts"]}


def _watched(scene: Scene, settings) -> None:
    """A phone order left unconfirmed and unprescribed: reminded, escalated
    to the coordinators and flagged overdue by the watch (R8)."""
    assert post_phone_order(scene, medicine_name="Naloxon 0.4 mg/mL").status_code == 201
    late = max(
        settings.CLINICAL_PHONE_ORDER_REMIND_AFTER_MINUTES,
        settings.CLINICAL_PHONE_ORDER_CONFIRM_WITHIN_MINUTES,
        settings.CLINICAL_PRESCRIPTION_DUE_WITHIN_MINUTES,
    )
    medication_orders_watch(now=timezone.now() + dt.timedelta(minutes=late + 1))
    assert PhysicianAlert.objects.count() == 3


def test_r8_the_watch_s_alerts_read_in_danish_and_in_english_when_asked(scene: Scene, settings):
    _watched(scene, settings)
    physician = factories.client_for(scene.physician)

    mine = _messages(physician, "/api/clinical/alerts")
    board = _messages(factories.client_for(scene.coordinator), "/api/clinical/board/alerts")

    assert mine["confirmation_reminder"] == (
        "Bekræft venligst din telefonordination på Naloxon 0,4 mg/mL."
    )
    assert (
        mine["prescription_overdue"] == "Recepten på Naloxon 0,4 mg/mL er ikke markeret som sendt."
    )
    assert board["confirmation_escalation"] == (
        "Telefonordinationen på Naloxon 0,4 mg/mL fra Hanne Hansen er ikke bekræftet i tide."
    )
    english = _messages(physician, "/api/clinical/alerts", HTTP_ACCEPT_LANGUAGE="en")
    assert (
        english["confirmation_reminder"] == "Please confirm your phone order of Naloxon 0.4 mg/mL."
    )
    # Kept as the msgid and its values, not as a sentence in one language.
    reminder = PhysicianAlert.objects.get(kind=PhysicianAlert.Kind.CONFIRMATION_REMINDER)
    assert reminder.params == {"medicine": "Naloxon 0.4 mg/mL"}


def test_r8_the_physician_s_page_shows_the_watch_s_alerts_in_danish(scene: Scene, settings):
    _watched(scene, settings)
    client = Client()
    assert factories.log_in(client, scene.physician).status_code == 302

    page = client.get("/physician/orders/").content.decode()

    assert "Bekræft venligst din telefonordination på Naloxon 0,4 mg/mL." in page
    assert "Recepten på Naloxon 0,4 mg/mL er ikke markeret som sendt." in page
    assert "Please confirm" not in page and "not marked sent" not in page


def test_r7_a_critical_result_s_alert_reads_in_danish_with_a_decimal_comma(scene: Scene):
    response = post_results(scene, {"code": "NPU03230", "value": "6.9", "unit": "mmol/L"})
    assert response.status_code == 201, response.json()

    mine = _messages(factories.client_for(scene.physician), "/api/clinical/alerts")
    board = _messages(factories.client_for(scene.coordinator), "/api/clinical/board/alerts")
    english = _messages(
        factories.client_for(scene.coordinator),
        "/api/clinical/board/alerts",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    danish = "Kritisk prøvesvar \N{EN DASH} Kalium; plasma: 6,9 mmol/L (kritisk høj)."
    assert mine["critical_result"] == danish and board["critical_result"] == danish
    assert english["critical_result"] == "Critical Potassium; plasma: 6.9 mmol/L (critically high)."


def _old_alert(scene: Scene, kind: str, message: str, order: MedicationOrder) -> PhysicianAlert:
    """An alert as the platform stored it before: an English sentence, no values."""
    return PhysicianAlert.objects.create(
        kind=kind,
        citizen=scene.citizen,
        recipient=scene.physician.user,
        medication_order=order,
        visit=scene.visit,
        message=message,
    )


def test_alerts_stored_in_english_are_rewritten_where_recognised_and_kept_where_not(
    scene: Scene,
):
    assert post_phone_order(scene).status_code == 201
    order = MedicationOrder.objects.get()
    assert post_results(scene, {"code": "NPU03230", "value": "6.9", "unit": "mmol/L"}).status_code
    critical = PhysicianAlert.objects.get(kind=PhysicianAlert.Kind.CRITICAL_RESULT)
    # A result recorded on a Danish request had its interpretation in Danish.
    PhysicianAlert.objects.filter(pk=critical.pk).update(
        message="Critical Potassium; plasma: 6.9 mmol/L (kritisk høj).", params={}
    )
    reminder = _old_alert(
        scene,
        "confirmation_reminder",
        "Please confirm your phone order of Pivmecillinam 400 mg tablet.",
        order,
    )
    escalation = _old_alert(
        scene,
        "confirmation_escalation",
        "Phone order of Pivmecillinam 400 mg tablet from Hanne Hansen is not confirmed in time.",
        order,
    )
    unknown = _old_alert(scene, "prescription_overdue", "Send the prescription, please.", order)

    migration.forwards(apps, None)

    mine = _messages(factories.client_for(scene.physician), "/api/clinical/alerts")
    by_id = {
        a["id"]: a["message"]
        for a in factories.client_for(scene.physician).get("/api/clinical/alerts").json()["alerts"]
    }
    assert (
        by_id[critical.pk]
        == "Kritisk prøvesvar \N{EN DASH} Kalium; plasma: 6,9 mmol/L (kritisk høj)."
    )
    assert by_id[reminder.pk] == (
        "Bekræft venligst din telefonordination på Pivmecillinam 400 mg tablet."
    )
    assert by_id[escalation.pk] == (
        "Telefonordinationen på Pivmecillinam 400 mg tablet fra Hanne Hansen"
        " er ikke bekræftet i tide."
    )
    # Not recognised: its text is kept as it was.
    assert by_id[unknown.pk] == "Send the prescription, please."
    assert mine["prescription_overdue"] == "Send the prescription, please."
    unknown.refresh_from_db()
    assert unknown.params == {}

    # Backwards, each gets its English sentence again.
    migration.backwards(apps, None)
    reminder.refresh_from_db()
    critical.refresh_from_db()
    assert reminder.params == {} and reminder.message == (
        "Please confirm your phone order of Pivmecillinam 400 mg tablet."
    )
    assert critical.message == "Critical Potassium; plasma: 6.9 mmol/L (critically high)."
