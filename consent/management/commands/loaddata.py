"""``manage.py loaddata`` for the configuration only.

Django's own command saves every object of a fixture straight into its
table: citizens, the shared record, consents, visits, the audit log, past
R2's refusals, the services and the audit log. Here a fixture may hold only
the configuration the administration keeps, the same models ``dumpdata``
writes (``consent.management.configuration``). Every object of every fixture
named is read first, nothing saved; if any of them is anything else, nothing
is loaded, the command says which models it refused, and the refused load is
in the audit log.
"""

from __future__ import annotations

import io
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from django.core import serializers
from django.core.management.commands import loaddata
from django.core.serializers.base import DeserializedObject
from django.db import router
from django.utils.functional import cached_property

from consent.audit.services import Action
from consent.management.configuration import configuration_only, table_label

TASK = "consent.loaddata"
REFUSED = "load.citizen_data"


class Command(loaddata.Command):
    help = (
        "Load the platform's configuration (organisations, staff and roles, the formulary,"
        " the test catalogue, the stock's locations) from fixtures; anything else is refused"
        " and nothing is loaded."
    )

    # Set while every fixture is read through before anything is saved.
    _reading_through = False
    _stdin: str | None = None

    def handle(self, *fixture_labels: str, **options: Any) -> None:
        self._in_fixtures: set[str] = set()
        self._reading_through = True
        try:
            with warnings.catch_warnings():
                # An empty fixture is warned about once, when it is loaded.
                warnings.simplefilter("ignore", RuntimeWarning)
                super().handle(*fixture_labels, **{**options, "verbosity": 0})
        finally:
            self._reading_through = False
        configuration_only(
            task=TASK,
            action=Action.CREATE,
            reason=REFUSED,
            asked=self._in_fixtures,
            told="Nothing loaded: loaddata loads the configuration only, never citizens' data.",
        )
        super().handle(*fixture_labels, **options)

    def loaddata(self, fixture_labels: Sequence[str]) -> None:
        if not self._reading_through:
            super().loaddata(fixture_labels)
            return
        # Django's loading, less the saving, the constraint check and the
        # sequences: only which models the fixtures hold.
        self.serialization_formats = serializers.get_public_serializer_formats()
        self.fixture_count = self.loaded_object_count = self.fixture_object_count = 0
        self.models = set()
        self.objs_with_deferred_fields = []
        for fixture_label in fixture_labels:
            self.load_label(fixture_label)

    def save_obj(self, obj: DeserializedObject) -> bool:
        if not self._reading_through:
            return super().save_obj(obj)
        model = type(obj.object)
        excluded = model._meta.app_config in self.excluded_apps or model in self.excluded_models
        if not excluded and router.allow_migrate_model(self.using, model):
            self._in_fixtures.add(table_label(model))
        return False

    @cached_property
    def compression_formats(self) -> dict[Any, Any]:
        formats: dict[Any, Any] = dict(super().compression_formats)
        # A fixture from standard input is read twice: kept from the first reading.
        formats["stdin"] = (lambda *args: io.StringIO(self._stdin_text()), None)
        return formats

    def _stdin_text(self) -> str:
        if self._stdin is None:
            self._stdin = sys.stdin.read()
        return self._stdin
