"""Each database is its own log to the witness `make run` starts: a newcomer
who resets the demo database, or moves from SQLite to PostgreSQL in the same
checkout, gets a witness that starts afresh, not one that refuses the new
log as a fork of the last one it saw (same origin, same local key)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from consent.audit.log import log_instance
from consent.audit.models import LogInstance
from core.dbroles import two_roles
from core.management.commands.run_platform import _audit_log_children
from tests.conftest import worker_env


@pytest.mark.django_db
def test_a_database_names_its_log_once() -> None:
    first = log_instance()
    assert log_instance() == first
    assert str(LogInstance.objects.get().uid) == first
    if two_roles():
        # Drawn once and never changed: the platform's role may not.
        with pytest.raises(DatabaseError), transaction.atomic():
            LogInstance.objects.update(uid="00000000-0000-4000-8000-000000000000")
        assert log_instance() == first


def _witness_storage() -> Path:
    children = _audit_log_children("127.0.0.1", 8100)
    witness = next(child for child in children if child.name == "witness")
    argv = list(witness.argv)
    return Path(argv[argv.index("--storage") + 1])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_make_runs_witness_keeps_its_state_per_database(monkeypatch, settings, tmp_path) -> None:
    # `make run`'s commands, on the test database, with this test's var/.
    for name, value in worker_env(VAR_DIR=str(tmp_path)).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AUDIT_WITNESS_KEYS", "")
    settings.VAR_DIR = tmp_path

    storage = _witness_storage()
    assert storage == tmp_path / "witness" / str(LogInstance.objects.get().uid)
    assert any(storage.iterdir())  # the witness's own key, made there

    # A new database (its log's name not yet drawn): another witness state.
    with connection.cursor() as cursor:
        cursor.execute("SELECT tvaerakut_test_as_owner('DELETE FROM audit_log_instance', false)")
    assert not LogInstance.objects.exists()
    fresh = _witness_storage()
    assert fresh != storage
    assert fresh == tmp_path / "witness" / str(LogInstance.objects.get().uid)
    assert any(storage.iterdir())  # the first database's witness is kept for it
