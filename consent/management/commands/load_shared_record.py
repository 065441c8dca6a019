"""Load a transaction Bundle from a municipal or hospital system into the
shared record: every entry checked against R2, all or nothing, audited as
background work on behalf of the source organisation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from consent.audit.services import Purpose
from consent.services import record_transaction
from core.actors import Actor
from core.boundary import check_json_value
from core.errors import PlatformError
from core.models import Organisation


class Command(BaseCommand):
    help = "Load a FHIR transaction Bundle (JSON file) into the shared record, all or nothing."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("bundle", type=Path, help="Path to a Bundle of type transaction.")
        parser.add_argument(
            "--source-sor",
            required=True,
            help="SOR code of the organisation whose system the data comes from.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        source = Organisation.objects.filter(sor_code=options["source_sor"]).first()
        if source is None:
            raise CommandError("No organisation has that SOR code.")
        try:
            bundle = json.loads(Path(options["bundle"]).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(f"Cannot read the bundle: {exc.__class__.__name__}") from None
        actor = Actor.system("consent.load_shared_record", partner=source)
        try:
            # The same text rules as a Bundle posted to /fhir/.
            check_json_value(bundle)
            created = record_transaction(actor=actor, bundle=bundle, purpose=Purpose.OPERATIONS)
        except PlatformError as exc:
            raise CommandError(f"Nothing loaded: {exc.code}: {exc.message}") from None
        self.stdout.write(f"Loaded {len(created)} resources from {source.name}.")
