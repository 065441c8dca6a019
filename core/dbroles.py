"""The platform's database role and the owner's (PostgreSQL).

The platform's processes connect as a role that owns nothing: it reads and
writes the ordinary tables, and only what an app declares for its own tables
(the audit log: select and insert). The owner runs migrations, owns every
table, and after each ``migrate`` creates the platform's role if it is
missing and grants it exactly its rights again, so tables added by later
migrations are covered. Partitions get no grants of their own: the platform
reaches them only through their parent, under the parent's rights.

Without ``DATABASE_OWNER_URL`` (SQLite, or one PostgreSQL role) nothing here
does anything. See docs/decisions/0008-two-database-roles.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, DatabaseError, OperationalError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import errors, sql

# The ordinary rights on a table.
DML = ("SELECT", "INSERT", "UPDATE", "DELETE")

# Tables whose rights are narrower than DML, by name: declared by the app
# that owns them (``table_privileges_restrict``), in its ready().
_restricted: dict[str, tuple[str, ...]] = {"django_migrations": ("SELECT",)}


def table_privileges_restrict(table: str, privileges: tuple[str, ...]) -> None:
    """The platform's role gets only ``privileges`` on ``table`` (and nothing on
    its partitions)."""
    unknown = set(privileges) - set(DML)
    if unknown:
        raise ValueError(f"unknown table privileges: {sorted(unknown)}")
    _restricted[table] = tuple(privileges)


def table_privileges(table: str) -> tuple[str, ...]:
    return _restricted.get(table, DML)


# Sequences the platform's role may only draw from (``nextval``), never set
# back (``setval`` needs UPDATE): declared by the app that owns them.
_draw_only: set[str] = set()


def sequence_draw_only(sequence: str) -> None:
    """The platform's role may take the next value of ``sequence`` but not set it."""
    _draw_only.add(sequence)


def two_roles() -> bool:
    return settings.DATABASE_OWNER_LOGIN is not None


def platform_role() -> str | None:
    login = settings.DATABASE_PLATFORM_LOGIN
    return login["USER"] if login else None


def _connect_as(login: dict[str, str] | None) -> None:
    db = connections[DEFAULT_DB_ALIAS]
    if login is None or db.settings_dict.get("USER") == login["USER"]:
        return
    if db.in_atomic_block:
        raise RuntimeError("The database role cannot change inside a transaction.")
    db.close()
    # Connections read this same dict when they open.
    database = settings.DATABASES[DEFAULT_DB_ALIAS]
    database["USER"], database["PASSWORD"] = login["USER"], login["PASSWORD"]


def act_as_owner() -> None:
    """From here on this process speaks to the database as the owner (a
    command that migrates or archives). Nothing changes with one role."""
    _connect_as(settings.DATABASE_OWNER_LOGIN)


def act_as_platform() -> None:
    """Back to the platform's role."""
    _connect_as(settings.DATABASE_PLATFORM_LOGIN)


def database_ensure(db: BaseDatabaseWrapper | None = None) -> bool:
    """Create the configured PostgreSQL database if it does not exist yet, so
    that ``make run`` on a fresh PostgreSQL needs nothing but ``DATABASE_URL``
    (and the owner's). True when it was created. Run as the owner; another
    process creating it at the same moment is no error."""
    db = db or connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        return False
    try:
        db.ensure_connection()
        return False
    except OperationalError as exc:
        if f'database "{db.settings_dict["NAME"]}" does not exist' not in str(exc):
            raise
    return database_create(db.settings_dict)


def database_unreachable(exc: BaseException, db: BaseDatabaseWrapper | None = None) -> str:
    """One line saying which database could not be reached and why, naming
    the variable that configures it (never its password), for a command that
    stops on it instead of a traceback."""
    db = db or connections[DEFAULT_DB_ALIAS]
    where = db.settings_dict
    variable = "DATABASE_OWNER_URL" if two_roles() else "DATABASE_URL"
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    password = str(where.get("PASSWORD") or "")
    if password:
        reason = reason.replace(password, "***")
    if isinstance(exc, errors.InsufficientPrivilege):
        advice = "Create the database, or give this role CREATEDB"
    else:
        advice = f"Check that PostgreSQL is running there and that {variable} is right"
    return (
        f"Cannot use the database {variable} names "
        f'("{where.get("NAME")}" on {where.get("HOST") or "localhost"}:{where.get("PORT") or 5432} '
        f'as "{where.get("USER")}"): {reason}. {advice}, '
        "or leave DATABASE_URL unset for the SQLite file in var/."
    )


def database_create(settings_dict: Mapping[str, Any]) -> bool:
    """``CREATE DATABASE`` named as in ``settings_dict``, connecting to the
    server's ``postgres`` database with the same login. False if it exists."""
    login = {
        key: str(settings_dict[name])
        for key, name in (
            ("host", "HOST"),
            ("port", "PORT"),
            ("user", "USER"),
            ("password", "PASSWORD"),
        )
        if settings_dict.get(name)
    }
    conninfo = psycopg.conninfo.make_conninfo(dbname="postgres", **login)
    with psycopg.connect(conninfo, autocommit=True) as server:
        try:
            server.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(settings_dict["NAME"]))
            )
        except errors.DuplicateDatabase:
            return False
    return True


def _acting_as_owner(alias: str) -> bool:
    db = connections[alias]
    return (
        two_roles()
        and db.vendor == "postgresql"
        and db.settings_dict.get("USER") != platform_role()
    )


def _role_ensure(cursor: Any, alias: str, role: str, password: str) -> None:
    """Create the platform's role if missing: it may log in, nothing more.
    Another run creating it at the same moment is no error."""
    cursor.execute(
        "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls OR rolreplication "
        "FROM pg_roles WHERE rolname = %s",
        [role],
    )
    row = cursor.fetchone()
    if row is None:
        statement = sql.SQL(
            "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
        ).format(sql.Identifier(role))
        if password:
            statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
        try:
            with transaction.atomic(using=alias):
                cursor.execute(statement.as_string(connections[alias].connection))
        except DatabaseError:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                raise
        return
    if row[0]:
        raise ImproperlyConfigured(
            "The platform's database role (DATABASE_URL) must not be a superuser nor "
            "create roles or databases, replicate or bypass row security."
        )


# Every table, view and partition of the schema, with the table it is a
# partition of (its root), if any.
_TABLES_SQL = """
SELECT c.relname, CASE WHEN c.relispartition THEN pg_partition_root(c.oid)::text END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm')
ORDER BY c.relname
"""


def database_roles_grant(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """As the owner: make sure the platform's role exists and has exactly its
    rights on every table of the schema. Idempotent; run after each migrate."""
    role = platform_role()
    if role is None or not _acting_as_owner(using):
        return
    login = settings.DATABASE_PLATFORM_LOGIN
    assert login is not None
    db = connections[using]
    with transaction.atomic(using=using), db.cursor() as cursor:
        _role_ensure(cursor, using, role, login.get("PASSWORD", ""))
        raw = db.connection
        grantee = sql.Identifier(role)
        cursor.execute("SELECT current_database(), current_schema()")
        database, schema = cursor.fetchone()
        statements = [
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), grantee),
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), grantee),
            sql.SQL("REVOKE CREATE ON SCHEMA {} FROM {}").format(sql.Identifier(schema), grantee),
            sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(
                sql.Identifier(schema), grantee
            ),
        ]
        for sequence in sorted(_draw_only):
            cursor.execute("SELECT to_regclass(%s)", [sequence])
            if cursor.fetchone()[0] is not None:
                name = sql.Identifier(sequence)
                statements.append(
                    sql.SQL("REVOKE ALL ON SEQUENCE {} FROM {}").format(name, grantee)
                )
                statements.append(sql.SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(name, grantee))
        cursor.execute(_TABLES_SQL)
        for table, root in cursor.fetchall():
            name = sql.Identifier(table)
            statements.append(sql.SQL("REVOKE ALL ON TABLE {} FROM {}").format(name, grantee))
            if root is not None:
                continue  # reached through its parent only
            privileges = sql.SQL(", ").join(sql.SQL(p) for p in table_privileges(table))
            statements.append(
                sql.SQL("GRANT {} ON TABLE {} TO {}").format(privileges, name, grantee)
            )
        cursor.execute("; ".join(s.as_string(raw) for s in statements))


def grant_after_migrate(sender: Any, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    database_roles_grant(using=using)
