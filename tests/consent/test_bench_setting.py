"""The benchmark-only switch (gate and audit off for record reads) can never run in production."""

from __future__ import annotations

import os
import subprocess
import sys

from django.test import override_settings

from consent.audit.models import AuditEntry
from tests import factories as f
from tests.conftest import ROOT
from tests.consent.conftest import World


def _settings_load(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k != "DEBUG"},
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": "x" * 60,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bare_reads_are_refused_at_start_without_debug() -> None:
    refused = _settings_load(DEBUG="0", CONSENT_BENCH_BARE_READS="1")
    assert refused.returncode != 0
    assert "CONSENT_BENCH_BARE_READS is a benchmark setting" in refused.stderr
    assert _settings_load(DEBUG="0", CONSENT_BENCH_BARE_READS="0").returncode == 0
    typo = _settings_load(DEBUG="1", CONSENT_BENCH_BARE_READS="maybe")
    assert typo.returncode != 0


def test_bare_reads_skip_gate_and_audit_only_with_debug_on(world: World) -> None:
    url = f"/fhir/Condition/{world.diagnosis.pk}"
    stranger = f.client_for(world.analyst)
    with override_settings(CONSENT_BENCH_BARE_READS=True, DEBUG=False):
        assert stranger.get(url).status_code == 404  # flipped at run time: still refused
    with override_settings(CONSENT_BENCH_BARE_READS=True, DEBUG=True):
        before = AuditEntry.objects.count()
        assert stranger.get(url).status_code == 200
        assert AuditEntry.objects.count() == before
    assert stranger.get(url).status_code == 404
