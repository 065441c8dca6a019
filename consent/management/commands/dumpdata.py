"""``manage.py dumpdata`` for the configuration only.

Django's own command writes every row of every table it is given, or of all
of them when given none: citizens with their CPR numbers, the shared record,
visits and the audit log, to a terminal or a file, past the gate and the
audit log (R9, decision 0002). Here it dumps only the configuration the
administration keeps (``consent.management.configuration``: organisations,
staff and roles, the formulary, the test catalogue and the stock's
locations); asked for anything else it dumps nothing, says which models it
refused, and the refused export is in the audit log.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import CommandError
from django.core.management.commands import dumpdata
from django.core.management.utils import parse_apps_and_model_labels
from django.db import models

from consent.audit.services import Action
from consent.management.configuration import configuration_only, table_label

TASK = "consent.dumpdata"
REFUSED = "dump.citizen_data"


def models_to_dump(labels: tuple[str, ...], excludes: list[str]) -> list[type[models.Model]]:
    """The models Django's dumpdata would write for these labels and
    exclusions (``app`` or ``app.Model``; none: every app). Raises
    ``LookupError`` or ``CommandError`` for a label that names nothing."""
    excluded_models, excluded_apps = parse_apps_and_model_labels(excludes)
    chosen: list[type[models.Model]] = []
    if not labels:
        for app_config in apps.get_app_configs():
            if app_config.models_module is not None and app_config not in excluded_apps:
                chosen.extend(app_config.get_models())
    for label in labels:
        app_label, _, model_label = label.partition(".")
        app_config = apps.get_app_config(app_label)
        if model_label:
            chosen.append(app_config.get_model(model_label))
        elif app_config not in excluded_apps:
            chosen.extend(app_config.get_models())
    return [model for model in chosen if model not in excluded_models]


class Command(dumpdata.Command):
    help = (
        "Output the platform's configuration (organisations, staff and roles, the formulary,"
        " the test catalogue, the stock's locations) as a fixture; citizens' data is never dumped."
    )

    def handle(self, *app_labels: str, **options: Any) -> None:
        try:
            chosen = models_to_dump(app_labels, options.get("exclude") or [])
        except (LookupError, ValueError, CommandError):
            # A label that names nothing: Django's command says so, dumping nothing.
            chosen = []
        configuration_only(
            task=TASK,
            action=Action.EXPORT,
            reason=REFUSED,
            asked={table_label(model) for model in chosen},
            told="Nothing dumped: dumpdata writes the configuration only, never citizens' data.",
        )
        super().handle(*app_labels, **options)
