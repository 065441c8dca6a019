"""Load the demo: organisations, staff, fictitious citizens, and each app's own demo data."""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand

from core import demo


class Command(BaseCommand):
    help = (
        "Load idempotent demo data (fictitious citizens; every demo user has the password 'demo')."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        orgs = demo.load(self.stdout.write)
        # The partners first: a referral the demo accepts tells its referrer
        # (1813) at once, and with no partner yet the board would open with
        # a warning that 1813 could not be told.
        configs = sorted(apps.get_app_configs(), key=lambda c: c.name != "integrations")
        for config in configs:
            if config.name == "core":
                continue
            try:
                module = importlib.import_module(f"{config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name == f"{config.name}.demo":
                    continue
                raise
            module.load(self.stdout.write, orgs)
        self.stdout.write(self.style.SUCCESS("Demo data is in place."))
