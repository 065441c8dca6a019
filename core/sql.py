"""ORM queries compiled to SQL once, then run with new values on every call.

For the few queries that every request makes (the bearer token, the access
gate's citizen and record, the records of ``$everything``; the audit append
runs its own SQL through :func:`run_prepared`), turning the query into SQL
costs more than running it, prepared, on PostgreSQL. A :class:`CompiledQuery`
is built by an ORM function called once with stand-in values; each call then
runs the same SQL with its own values in their places. The query stays written once, in the ORM, and
other databases (SQLite for trying the platform out) run it the ORM's way.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import orjson
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import JSONField, Model, QuerySet
from psycopg.types.json import set_json_loads


def _cursor(db: BaseDatabaseWrapper) -> Any:
    """The psycopg cursor kept with this thread's connection for the hot
    statements: making a cursor costs about as much as the client's side of
    a short statement. Django's connection object is per thread, and a new
    connection (after a close or a reconnect) gets a new cursor."""
    raw = db.connection
    kept = getattr(db, "_hot_cursor", None)
    if kept is not None and kept.connection is raw and not kept.closed:
        return kept
    cursor = raw.cursor()
    # JSON read in binary comes back parsed, by orjson.
    set_json_loads(orjson.loads, cursor)
    db._hot_cursor = cursor  # type: ignore[attr-defined]
    return cursor


def run_prepared(
    sql: str, params: Sequence[Any], *, binary: bool = False, db: BaseDatabaseWrapper | None = None
) -> list[tuple[Any, ...]]:
    """Run one of the statements every request makes, prepared on the server,
    on the connection's kept psycopg cursor, inside whatever transaction
    Django has open (PostgreSQL only). As with Django's own cursors: the
    connection's health check runs first, a broken transaction is refused,
    and errors surface as Django's ``DatabaseError``; with DEBUG, or while a
    test counts queries, the statement is logged as Django logs its own.
    ``binary`` reads the results in PostgreSQL's binary format: no text to
    parse, and JSON comes back parsed (with Django's cursors, as text)."""
    db = db or connections[DEFAULT_DB_ALIAS]
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_no_broken_transaction()
    started = time.monotonic()
    try:
        with db.wrap_database_errors:
            cursor = _cursor(db)
            cursor.execute(sql, params, prepare=True, binary=binary)
            return cursor.fetchall()
    finally:
        if db.queries_logged:
            db.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})


class CompiledQuery:
    """``build(*stand_ins)`` gives the query; ``rows(*values)`` runs its SQL with
    ``values`` where the stand-ins were. Stand-ins must be values that occur
    nowhere else in the query. Each must appear in it, unless it is one of
    ``optional`` (a query built for some actors leaves some out). Rows come
    back as the driver reads them, without the ORM's converters: PostgreSQL
    only."""

    def __init__(
        self, build: Callable[..., QuerySet[Any]], *stand_ins: Any, optional: Sequence[Any] = ()
    ) -> None:
        self._build = build
        self._stand_ins = stand_ins
        self._optional = optional
        self._compiled: _Compiled | None = None

    def _sql(self) -> _Compiled:
        """The SQL, and for each of its parameters the stand-in it takes (or
        the constant it stays, if that could not be written in)."""
        if self._compiled is None:
            query = self._build(*self._stand_ins).query
            sql, params = query.get_compiler(DEFAULT_DB_ALIAS).as_sql()
            slots = tuple(
                next((i for i, s in enumerate(self._stand_ins) if _same(p, s)), None)
                for p in params
            )
            missing = [
                i
                for i, s in enumerate(self._stand_ins)
                if i not in slots and not any(_same(s, o) for o in self._optional)
            ]
            if missing:
                raise ValueError(f"stand-ins {missing} do not appear in the query")
            self._compiled = _with_constants_written_in(sql, params, slots)
        return self._compiled

    def rows(self, *values: Any, binary: bool = False) -> list[tuple[Any, ...]]:
        sql, slots, constants = self._sql()
        if constants is None:
            # Every parameter is a stand-in's place.
            places = cast("tuple[int, ...]", slots)
            return run_prepared(sql, [values[slot] for slot in places], binary=binary)
        bound = [c if s is None else values[s] for s, c in zip(slots, constants, strict=True)]
        return run_prepared(sql, bound, binary=binary)


# The SQL; each parameter's stand-in (None: a constant); the constants that
# stay parameters, in their places (None if there are none).
_Compiled = tuple[str, tuple[int | None, ...], tuple[Any, ...] | None]


# The query's own constants that are written into its SQL rather than sent
# with every call: numbers, truth values and plain words (the names of kinds
# and states), nothing that needs quoting beyond its two quotes.
_PLACEHOLDER = re.compile(r"%%|%s")
_PLAIN_WORD = re.compile(r"[A-Za-z0-9_.-]*")


def _literal(value: Any) -> str | None:
    """``value`` as an SQL literal, if it is one of the plain kinds."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):  # in brackets: a minus sign after another is no comment
        return f"({int.__repr__(value)})" if value < 0 else int.__repr__(value)
    if isinstance(value, str) and _PLAIN_WORD.fullmatch(value):
        return f"'{str.__str__(value)}'"  # a choice's own text
    return None


def _with_constants_written_in(
    sql: str, params: Sequence[Any], slots: Sequence[int | None]
) -> _Compiled:
    """The query's constants (parameters that are not stand-ins) written into
    its SQL where they are plain: fewer values to send on every call. Other
    constants stay parameters, as each stand-in's place does."""
    kept: list[int | None] = []
    constants: list[Any] = []
    places = iter(zip(params, slots, strict=True))

    def place(match: re.Match[str]) -> str:
        if match.group() == "%%":
            return "%%"
        param, slot = next(places)
        literal = _literal(param) if slot is None else None
        if literal is not None:
            return literal
        kept.append(slot)
        constants.append(param)
        return "%s"

    sql = _PLACEHOLDER.sub(place, sql)
    if next(places, None) is not None:
        raise ValueError("the query has more parameters than placeholders")
    return sql, tuple(kept), tuple(constants) if None in kept else None


def _same(param: Any, stand_in: Any) -> bool:
    """A parameter is a stand-in if it equals it and is of its type (so that
    ``True`` is never taken for ``1``)."""
    return type(param) is type(stand_in) and param == stand_in


# A row read as model instances: each model with the path that reaches it
# from the queried one ("" for that one itself, "organisation__" for its
# organisation), in the order their columns are selected.
Parts = Sequence[tuple[type[Model], str]]


def columns_of(parts: Parts) -> list[str]:
    """The columns to select (``values_list``) for ``parts``' instances."""
    return [prefix + f.attname for model, prefix in parts for f in model._meta.concrete_fields]


@functools.cache
def plain_columns(parts: Parts) -> bool:
    """Whether ``parts``' rows can be read without the ORM's value converters:
    no field needs one, or the only ones are JSON, which a binary read
    (``rows(..., binary=True)``) gives back parsed."""
    return not any(
        hasattr(f, "from_db_value") and not isinstance(f, JSONField)
        for model, _ in parts
        for f in model._meta.concrete_fields
    )


def instances_of(row: Sequence[Any], parts: Parts) -> list[Model]:
    """The instances of ``parts`` a row selected with :func:`columns_of` holds."""
    loaded: list[Model] = []
    at = 0
    for model, _ in parts:
        names = tuple(f.attname for f in model._meta.concrete_fields)
        loaded.append(model.from_db(DEFAULT_DB_ALIAS, names, row[at : at + len(names)]))
        at += len(names)
    return loaded
