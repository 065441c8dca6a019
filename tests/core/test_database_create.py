"""``manage.py migrate`` (and so ``make run``) on a PostgreSQL server where the
configured database does not exist yet creates it, as the owner, instead of
stopping with a traceback."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from django.conf import settings
from django.db import connections

from core.dbroles import database_ensure

pytestmark = [pytest.mark.postgres]


def _databases(settings_dict: dict) -> set[str]:
    with psycopg.connect(
        dbname="postgres",
        host=settings_dict["HOST"],
        port=str(settings_dict["PORT"]),
        user=settings_dict["USER"],
        autocommit=True,
    ) as server:
        return {row[0] for row in server.execute("SELECT datname FROM pg_database")}


def _drop(settings_dict: dict, name: str) -> None:
    with psycopg.connect(
        dbname="postgres",
        host=settings_dict["HOST"],
        port=str(settings_dict["PORT"]),
        user=settings_dict["USER"],
        autocommit=True,
    ) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}"')


def test_a_missing_database_is_created_once_and_then_used(django_db_blocker) -> None:
    owner = settings.DATABASE_OWNER_LOGIN or {
        "USER": connections["default"].settings_dict["USER"],
        "PASSWORD": connections["default"].settings_dict["PASSWORD"],
    }
    name = f"tvaerakut_fresh_{uuid.uuid4().hex[:10]}"
    fresh = {**connections["default"].settings_dict, "NAME": name, **owner}
    db = connections["default"].__class__(fresh, alias="fresh")
    try:
        assert name not in _databases(fresh)
        with django_db_blocker.unblock():
            assert database_ensure(db) is True
            assert name in _databases(fresh)
            with db.cursor() as cursor:
                cursor.execute("SELECT current_database()")
                assert cursor.fetchone() == (name,)
            assert database_ensure(db) is False
    finally:
        db.close()
        _drop(fresh, name)
