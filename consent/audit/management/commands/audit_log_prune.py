"""``manage.py audit_log_prune``: remove superseded tile copies, as the owner.

A tile that grows is stored again, wider, each time the log is signed; once
a wider copy exists the narrower ones serve no proof (docs/decisions/0017).
Run it as the database's owner (it connects with ``DATABASE_OWNER_URL`` when
set), daily or after a quiet spell; the platform's role may not delete
tiles, and the tile table's trigger refuses, for anyone, the removal of a
tile's widest copy.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from consent.audit.log import tiles_prune
from core.dbroles import act_as_owner


class Command(BaseCommand):
    help = "Remove the audit log's tile copies that a wider copy supersedes (as the owner)."

    def handle(self, *args: Any, **options: Any) -> None:
        act_as_owner()
        self.stdout.write(f"superseded tile copies removed: {tiles_prune()}")
