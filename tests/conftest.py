"""Test set-up: which real services this run has, and a real Celery worker.

With ``TVAERAKUT_REQUIRE_SERVICES=1`` (CI) the run stops at once unless it is
on PostgreSQL and Redis answers: nothing is skipped there. Without it (a
laptop on SQLite), tests marked ``postgres`` or ``integration`` are skipped
with the reason.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = os.environ.get("TVAERAKUT_REQUIRE_SERVICES") == "1"

# Property-based tests: the same examples on every run and machine, few enough
# per route to keep the whole walk over the write routes near a minute. For a
# longer, random hunt: HYPOTHESIS_PROFILE=hunt.
hypothesis_settings.register_profile(
    "ci",
    max_examples=6,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
hypothesis_settings.register_profile(
    "hunt",
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "200")),
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "core.postgres"


def _redis_reachable() -> bool:
    if not settings.REDIS_URL:
        return False
    parsed = urlparse(settings.REDIS_URL)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=2
        ) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def pytest_sessionstart(session: pytest.Session) -> None:
    if not REQUIRE_SERVICES:
        return
    problems = []
    if not _on_postgres():
        problems.append("DATABASE_URL does not point at PostgreSQL")
    if not _redis_reachable():
        problems.append("Redis at REDIS_URL does not answer")
    if problems:
        pytest.exit("Required services missing: " + "; ".join(problems), returncode=3)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if REQUIRE_SERVICES:
        return
    no_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (CI always does)")
    no_redis = pytest.mark.skip(
        reason="needs Redis and PostgreSQL: set REDIS_URL and DATABASE_URL (CI always does)"
    )
    pg, redis = _on_postgres(), _redis_reachable()
    for item in items:
        if "postgres" in item.keywords and not pg:
            item.add_marker(no_pg)
        if "integration" in item.keywords and not (pg and redis):
            item.add_marker(no_redis)


# --- the database: created and migrated by its owner, used by the platform's role


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings: None) -> None:
    """With two roles (``DATABASE_OWNER_URL``), the test database is created and
    migrated by the owner, as production's is; the tests then run as the
    platform's role (``django_db_setup`` below)."""
    from core.dbroles import act_as_owner

    act_as_owner()


# Test databases only: the tests' stand-in for someone with superuser rights
# behind the platform's back (tests/consent/audit/conftest.py), in the test's
# own transaction. Optionally with every trigger switched off.
_AS_OWNER_SQL = """
CREATE OR REPLACE FUNCTION tvaerakut_test_as_owner(statement text, bypass_triggers boolean)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF current_database() NOT LIKE 'test\\_%' THEN
        RAISE EXCEPTION 'test databases only';
    END IF;
    IF bypass_triggers THEN
        PERFORM set_config('session_replication_role', 'replica', true);
    END IF;
    EXECUTE statement;
    PERFORM set_config('session_replication_role', 'origin', true);
END $$;
REVOKE ALL ON FUNCTION tvaerakut_test_as_owner(text, boolean) FROM PUBLIC;
"""


_KEPT_ON_FLUSH = {'"django_content_type"', '"auth_permission"'}


def _as_deletes(sql_list: list[str]) -> list[str] | None:
    """Django's flush as one DELETE a table, where it is a plain TRUNCATE of
    tables (no identities restarted, nothing cascaded); otherwise None.

    TRUNCATE gives every table, partition and index of the log new files, which
    costs seconds after each transactional test; the few rows a test leaves are
    deleted in milliseconds. With the triggers off (session replication role),
    the order of the tables does not matter and the append-only log lets go."""
    if len(sql_list) != 1 or not sql_list[0].startswith("TRUNCATE "):
        return None
    statement = sql_list[0].rstrip().rstrip(";")
    if statement.endswith((" RESTART IDENTITY", " CASCADE")):
        return None
    tables = [name.strip() for name in statement.removeprefix("TRUNCATE ").split(",")]
    # Content types and permissions stay: they are what migrate made, and the
    # flush's post-migrate signal would only write them again.
    return [f"DELETE FROM {table}" for table in tables if table not in _KEPT_ON_FLUSH]  # noqa: S608 (names from Django's own flush)


def _reference_data_restore() -> None:
    """What the migrations write as data, written again after a flush empties
    it: the predefined tests and procedures (R7), which every later test in
    the process may need whatever ran before it."""
    import importlib

    from django.apps import apps

    importlib.import_module("acute.clinical.migrations.0002_seed_catalogue").seed(apps, None)


def _flush_as_owner(original):
    """Django's test runner empties the database after a transactional test with
    TRUNCATE, which the platform's role may not do: the owner does it, with
    DELETE where the owner may switch the triggers off (``_as_deletes``).
    Then the reference data the migrations wrote is written again."""

    def execute_sql_flush(self, sql_list):
        _flush(self, sql_list)
        _reference_data_restore()

    def _flush(self, sql_list):
        from django.conf import settings

        owner = settings.DATABASE_OWNER_LOGIN
        if self.connection.vendor != "postgresql" or owner is None:
            return original(self, sql_list)
        import psycopg

        db = self.connection.settings_dict
        deletes = _as_deletes(sql_list)
        for attempt in range(1, 6):
            try:
                with psycopg.connect(
                    host=db["HOST"] or "127.0.0.1",
                    port=db["PORT"] or 5432,
                    dbname=db["NAME"],
                    user=owner["USER"],
                    password=owner["PASSWORD"] or None,
                ) as conn:
                    superuser = conn.execute(
                        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
                    ).fetchone()
                    if deletes is not None and superuser and superuser[0]:
                        conn.execute("SET LOCAL session_replication_role = replica")
                        for statement in deletes:
                            conn.execute(statement)
                        return None
                    conn.execute("SET tvaerakut.test_flush = 'on'")
                    for statement in sql_list:
                        conn.execute(statement)
                return None
            except psycopg.errors.DeadlockDetected:
                # A live server of the test (gunicorn, a worker, the sequencer)
                # still reading as the tables are emptied: PostgreSQL rolled the
                # TRUNCATE back whole; the reader's transaction ends, try again.
                if attempt == 5:
                    raise
                time.sleep(0.2 * attempt)
        return None

    return execute_sql_flush


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker) -> Iterator[None]:
    from django.db import connection
    from django.db.backends.base.operations import BaseDatabaseOperations

    from core.dbroles import act_as_owner, act_as_platform, platform_role

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(_AS_OWNER_SQL)
            role = platform_role()
            if role:
                cursor.execute(
                    "GRANT EXECUTE ON FUNCTION tvaerakut_test_as_owner(text, boolean) TO "
                    + connection.ops.quote_name(role)
                )
    original = BaseDatabaseOperations.execute_sql_flush
    BaseDatabaseOperations.execute_sql_flush = _flush_as_owner(original)  # type: ignore[method-assign]
    act_as_platform()
    yield
    act_as_owner()
    BaseDatabaseOperations.execute_sql_flush = original  # type: ignore[method-assign]
    if connection.vendor == "postgresql":
        with django_db_blocker.unblock():
            _leftover_sessions_end(connection)


_OTHER_SESSIONS = """
SELECT pid FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND backend_type = 'client backend'
"""


def _leftover_sessions_end(connection) -> None:
    """Before the test database is dropped, the sessions its servers still
    hold end: a request thread of the session's live server keeps its database
    session until the browser that kept the connection alive lets go, which
    may be an instant after the server stopped, and a dropped database with a
    session on it fails the run's teardown. They get two seconds to end by
    themselves; what is left is ended (the database is this process's alone)."""
    with connection.cursor() as cursor:
        for attempt in range(40):
            cursor.execute(_OTHER_SESSIONS)
            left = [row[0] for row in cursor.fetchall()]
            if not left:
                break
            if attempt == 20:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [left]
                )
            time.sleep(0.1)
    connection.close()


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2 at its cheapest for every password the tests hash (tests/hashers.py)."""
    from django.test import override_settings

    with override_settings(
        PASSWORD_HASHERS=["tests.hashers.CheapArgon2PasswordHasher", *settings.PASSWORD_HASHERS]
    ):
        yield


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


class RunningWorker:
    def __init__(self, process: subprocess.Popen[bytes], log: Path):
        self.process = process
        self.log = log

    def alive(self) -> bool:
        return self.process.poll() is None


def worker_env(**extra: str) -> dict[str, str]:
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    user, host, port = db["USER"] or "postgres", db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    url = f"postgres://{user}@{host}:{port}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1", "PYTHONPATH": str(ROOT), **extra}
    owner = settings.DATABASE_OWNER_LOGIN
    if owner is not None:
        # The same two roles, on the test database.
        env["DATABASE_OWNER_URL"] = f"postgres://{owner['USER']}@{host}:{port}/{db['NAME']}"
    return env


def start_worker(
    tmp: Path, name: str, queues: str = "default,handoffs,dispatch,maintenance", **extra_env: str
) -> RunningWorker:
    return start_workers(tmp, [name], queues, **extra_env)[0]


def start_workers(
    tmp: Path,
    names: list[str],
    queues: str = "default,handoffs,dispatch,maintenance",
    **extra_env: str,
) -> list[RunningWorker]:
    """Workers named ``names``, started side by side (each takes seconds to
    boot) and each answering a ping before this returns."""
    started = [_worker_spawn(tmp, name, queues, **extra_env) for name in names]
    try:
        return [
            _worker_answering(name, worker) for name, worker in zip(names, started, strict=True)
        ]
    except BaseException:
        for worker in started:
            if worker.alive():
                worker.process.kill()
        raise


def _worker_spawn(tmp: Path, name: str, queues: str, **extra_env: str) -> RunningWorker:
    log = tmp / f"{name}.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker.celery:app",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "-Q",
            queues,
            "-n",
            f"{name}@%h",
            "-I",
            "tests.worker_probes",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=worker_env(**extra_env),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return RunningWorker(process, log)


def _worker_answering(name: str, worker: RunningWorker) -> RunningWorker:
    from worker.celery import app

    process, log = worker.process, worker.log
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{log.read_text()[-3000:]}")
        replies = app.control.ping(timeout=0.5, destination=[f"{name}@{socket.gethostname()}"])
        if replies:
            return worker
    process.kill()
    raise RuntimeError(f"worker did not answer within 30 s:\n{log.read_text()[-3000:]}")


def stop_worker(worker: RunningWorker) -> None:
    worker.process.terminate()
    try:
        worker.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.process.kill()


@pytest.fixture(scope="session")
def celery_worker(
    django_db_setup: None, django_db_blocker: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningWorker]:
    """A real worker process consuming from Redis, on the test database."""
    from worker.celery import app

    app.control.purge()
    worker = start_worker(tmp_path_factory.mktemp("worker"), "tests")
    yield worker
    stop_worker(worker)


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    return predicate()
