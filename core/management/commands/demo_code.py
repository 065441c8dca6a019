"""The demo users' current TOTP code, for logging in to the demo without an app."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django_otp.oath import TOTP

from core.demo import demo_totp_hex


class Command(BaseCommand):
    help = "Print the code every demo user's TOTP app shows now (demo data only)."

    def handle(self, *args: Any, **options: Any) -> None:
        totp = TOTP(bytes.fromhex(demo_totp_hex()))
        left = 30 - int(time.time()) % 30
        self.stdout.write(f"{totp.token():06d}  (valid for {left} more seconds)")
