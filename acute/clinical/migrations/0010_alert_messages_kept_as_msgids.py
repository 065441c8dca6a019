"""The alerts raised before every kind kept its message as a msgid with its
values (critical results, reminders, escalations, overdue prescriptions)
hold an English sentence. Each one recognised is rewritten to the msgid and
its values, so it reads in the reader's language as the newer alerts do;
one not recognised keeps its text as it is (never lost). Backwards, every
such alert gets its English sentence again."""

from __future__ import annotations

import re
from typing import Any

from django.db import migrations

# The msgids as the services raise them (acute/clinical/services/results.py
# and watch.py), frozen here as this migration writes them.
CRITICAL_RESULT = "Critical %(test)s: %(value)s %(unit)s (%(interpretation)s)."
CONFIRMATION_REMINDER = "Please confirm your phone order of %(medicine)s."
CONFIRMATION_ESCALATION = "Phone order of %(medicine)s from %(physician)s is not confirmed in time."
PRESCRIPTION_OVERDUE = "The prescription for %(medicine)s is not marked sent."

MESSAGES = {
    "critical_result": CRITICAL_RESULT,
    "confirmation_reminder": CONFIRMATION_REMINDER,
    "confirmation_escalation": CONFIRMATION_ESCALATION,
    "prescription_overdue": PRESCRIPTION_OVERDUE,
}

_CRITICAL = re.compile(
    r"^Critical (?P<test>.+): (?P<value>\S+) (?P<unit>.*) \((?P<interpretation>[^()]+)\)\.$"
)
_REMINDER = re.compile(r"^Please confirm your phone order of (?P<medicine>.+)\.$")
_OVERDUE = re.compile(r"^The prescription for (?P<medicine>.+) is not marked sent\.$")

# The interpretation was written lower-cased in the language active when the
# result was recorded: back to its label (the msgid the alert now keeps).
_INTERPRETATIONS = {
    "normal": "Normal",
    "low": "Low",
    "lav": "Low",
    "high": "High",
    "høj": "High",
    "critically low": "Critically low",
    "kritisk lav": "Critically low",
    "critically high": "Critically high",
    "kritisk høj": "Critically high",
}


def _critical(alert: Any) -> dict[str, str] | None:
    found = _CRITICAL.match(alert.message)
    if found is None:
        return None
    interpretation = _INTERPRETATIONS.get(found["interpretation"])
    if interpretation is None:
        return None
    return {
        "test": found["test"],
        "value": found["value"],
        "unit": found["unit"],
        "interpretation": interpretation,
    }


def _of_order(alert: Any, pattern: re.Pattern[str] | None) -> dict[str, str] | None:
    """The order's medicine (and, escalated, who ordered it) when the text is
    the one the watch wrote from them; else, for a one-value message, the
    value as the text has it."""
    order = alert.medication_order
    if order is not None:
        params = {"medicine": order.medicine_name}
        if alert.kind == "confirmation_escalation":
            params["physician"] = order.ordered_by_name
        if MESSAGES[alert.kind] % params == alert.message:
            return params
    found = pattern.match(alert.message) if pattern is not None else None
    return {"medicine": found["medicine"]} if found else None


def _recognised(alert: Any) -> dict[str, str] | None:
    if alert.kind == "critical_result":
        return _critical(alert)
    if alert.kind == "confirmation_reminder":
        return _of_order(alert, _REMINDER)
    if alert.kind == "prescription_overdue":
        return _of_order(alert, _OVERDUE)
    # An order's medicine or physician may hold " from ": only the order's
    # own values tell the two apart.
    return _of_order(alert, None)


def forwards(apps: Any, schema_editor: Any) -> None:
    PhysicianAlert = apps.get_model("clinical", "PhysicianAlert")
    old = (
        PhysicianAlert.objects.filter(kind__in=list(MESSAGES), params={})
        .select_related("medication_order")
        .order_by("pk")
    )
    for alert in old.iterator(chunk_size=500):
        params = _recognised(alert)
        if params is not None:
            PhysicianAlert.objects.filter(pk=alert.pk).update(
                message=MESSAGES[alert.kind], params=params
            )


def backwards(apps: Any, schema_editor: Any) -> None:
    PhysicianAlert = apps.get_model("clinical", "PhysicianAlert")
    kept = PhysicianAlert.objects.filter(kind__in=list(MESSAGES)).exclude(params={})
    for alert in kept.order_by("pk").iterator(chunk_size=500):
        params = dict(alert.params)
        if "interpretation" in params:
            params["interpretation"] = str(params["interpretation"]).lower()
        PhysicianAlert.objects.filter(pk=alert.pk).update(message=alert.message % params, params={})


class Migration(migrations.Migration):
    dependencies = [
        ("clinical", "0009_alert_dose_after_correction"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
