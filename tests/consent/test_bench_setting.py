"""The benchmark-only switch (gate and audit off for record reads) works only on a
benchmark's own database, so it can never run where real citizens are."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.test import override_settings

from consent.audit.models import AuditEntry
from tests import factories as f
from tests.conftest import ROOT
from tests.consent.conftest import World


def _settings_load(**env: str) -> subprocess.CompletedProcess[str]:
    """Load the settings in a process of their own, as every start does first
    (the check is in them; the apps need not be loaded to see it)."""
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.DEBUG"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_OWNER_URL"}},
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": "x" * 60,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


PLATFORM_DB = "postgres://postgres@127.0.0.1:5432/tvaerakut"
BENCH_DB = "postgres://postgres@127.0.0.1:5432/bench_consent"


def test_bare_reads_are_refused_at_start_outside_a_bench_database() -> None:
    for debug in ("0", "1"):
        refused = _settings_load(
            DEBUG=debug, DATABASE_URL=PLATFORM_DB, CONSENT_BENCH_BARE_READS="1"
        )
        assert refused.returncode != 0
        assert "CONSENT_BENCH_BARE_READS is a benchmark setting" in refused.stderr
    started = _settings_load(DEBUG="0", DATABASE_URL=PLATFORM_DB, CONSENT_BENCH_BARE_READS="0")
    assert started.returncode == 0, started.stderr
    bench = _settings_load(DEBUG="0", DATABASE_URL=BENCH_DB, CONSENT_BENCH_BARE_READS="1")
    assert bench.returncode == 0, bench.stderr
    typo = _settings_load(DEBUG="1", DATABASE_URL=BENCH_DB, CONSENT_BENCH_BARE_READS="maybe")
    assert typo.returncode != 0
    # The floor's extra insert only goes with the bare reads (so only on a bench database).
    alone = _settings_load(DEBUG="0", DATABASE_URL=BENCH_DB, CONSENT_BENCH_FLOOR_WRITE="1")
    assert alone.returncode != 0
    assert "CONSENT_BENCH_FLOOR_WRITE goes with CONSENT_BENCH_BARE_READS" in alone.stderr
    floor = _settings_load(
        DEBUG="0",
        DATABASE_URL=BENCH_DB,
        CONSENT_BENCH_BARE_READS="1",
        CONSENT_BENCH_FLOOR_WRITE="1",
    )
    assert floor.returncode == 0, floor.stderr


def test_bare_reads_skip_gate_and_audit_only_on_a_bench_database(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import connection

    url = f"/fhir/Condition/{world.diagnosis.pk}"
    stranger = f.client_for(world.other_nurse)  # no care relationship with her
    with override_settings(CONSENT_BENCH_BARE_READS=True, DEBUG=True):
        assert stranger.get(url).status_code == 404  # flipped at run time: still refused
    # The name the platform checks, as a benchmark's database would have it.
    monkeypatch.setitem(connection.settings_dict, "NAME", "bench_consent")
    with override_settings(CONSENT_BENCH_BARE_READS=True):
        before = AuditEntry.objects.count()
        assert stranger.get(url).status_code == 200
        assert AuditEntry.objects.count() == before
    assert stranger.get(url).status_code == 404


@pytest.mark.postgres  # the floor's statement is prepared on PostgreSQL's cursor
def test_the_floor_write_is_sent_as_the_audit_entry_is(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The floor a benchmark compares the audited read with differs from it
    only by what the platform adds: its one durable insert goes as the entry's
    append does, prepared on the server from the first read on."""
    from django.db import connection

    from consent.selectors.record import BENCH_FLOOR_INSERT

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_read_floor (id bigserial PRIMARY KEY, at timestamptz)"
        )
    url = f"/fhir/Condition/{world.diagnosis.pk}"
    reader = f.client_for(world.other_nurse)
    monkeypatch.setitem(connection.settings_dict, "NAME", "bench_consent")
    with override_settings(CONSENT_BENCH_BARE_READS=True, CONSENT_BENCH_FLOOR_WRITE=True):
        before = AuditEntry.objects.count()
        assert reader.get(url).status_code == 200
        assert AuditEntry.objects.count() == before
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_read_floor")
        assert cursor.fetchone() == (1,)
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement = %s",
            [BENCH_FLOOR_INSERT],
        )
        assert cursor.fetchone() == (1,)
