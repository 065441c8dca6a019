"""What the gate reads with a citizen, in one query: the citizen, whether any
refusal or consent is in force, the municipality's code and the actor's open
care relationship — and, for a read of one record resource, the resource and
its source organisation in the same query.

The ORM builds every statement from the very rules in :mod:`consent.gate.rules`;
on PostgreSQL each is compiled once per shape of actor and run with the
caller's values on a kept cursor (``core/sql.py``), since compiling costs more
than running. Nothing here decides: :mod:`consent.gate` does, with what this
returns."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.db import connection
from django.db.models import Exists, F, JSONField, OuterRef, QuerySet, Subquery
from django.utils import timezone

from consent.gate.rules import consent_in_force, open_relationships
from consent.models import RecordResource
from core.actors import Actor
from core.models import Citizen, Membership, Organisation, User
from core.sql import CompiledQuery
from core.validation import row_id_text


def _facts(actor: Actor, now: dt.datetime, citizen: str = "") -> dict[str, Any]:
    """What the gate reads with the citizen: whether any directive is in
    force, the actor's open relationship basis and, with the citizen itself
    (``citizen`` ""), the municipality's code, which the Patient resource
    names it by; a record resource (``citizen`` "citizen__") serves no
    Patient and leaves it out."""
    ref = OuterRef(f"{citizen}id")
    annotations: dict[str, Any] = {
        "has_directives": Exists(consent_in_force(now).filter(citizen=ref)),
    }
    if not citizen:
        annotations["municipality_code"] = F("municipality__municipality_code")
    if actor.organisation is not None:
        annotations["open_basis"] = Subquery(
            open_relationships(actor, now)
            .filter(citizen=ref)
            .order_by("started_at")
            .values("basis")[:1]
        )
    return annotations


def facts_queryset(actor: Actor, citizen_id: int, now: dt.datetime) -> QuerySet[Citizen]:
    """The citizen with its facts, in one query (the gate sits on every read)."""
    return Citizen.objects.annotate(**_facts(actor, now)).filter(pk=citizen_id)


# Stand-in values for compiling the queries once per shape of actor; each call
# puts the real values in their places (core/sql.py).
_STAND_IN_NOW = dt.datetime(1901, 2, 3, 4, 5, 6, 424242, tzinfo=dt.UTC)
_STAND_IN_CITIZEN = -424_242_424
_STAND_IN_ORGANISATION = -535_353_535
_STAND_IN_USER = -646_464_646
_STAND_IN_RECORD = -757_575_757
_STAND_IN_TYPE = "stand-in resource type"
# The organisation or the user is not in every actor's query (a coordinator's
# relationships are the organisation's, not a user's).
_ACTOR_STAND_INS = (_STAND_IN_NOW, _STAND_IN_ORGANISATION, _STAND_IN_USER)
_OPTIONAL = (_STAND_IN_ORGANISATION, _STAND_IN_USER)


def _columns(model: type[Any]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields)


_CITIZEN_COLUMNS = _columns(Citizen)
# What the decision reads of a citizen (consent/gate/rules.py): a record read
# brings only these with its resource; the citizen's other fields, never
# needed to serve a record resource, stay deferred (read if ever asked for).
_DECISION_CITIZEN_COLUMNS = ("id", "municipality_id", "gp_practice_id")
_RECORD_COLUMNS = _columns(RecordResource)
_ORGANISATION_COLUMNS = _columns(Organisation)
# Rows are read in binary, without the ORM's value converters: the only ones
# these models need are JSON's, and JSON read in binary arrives parsed. A
# field that needs another sends the queries the ORM's way instead.
_PLAIN_COLUMNS = all(
    not hasattr(f, "from_db_value") or isinstance(f, JSONField)
    for model in (Citizen, RecordResource, Organisation)
    for f in model._meta.concrete_fields
)

# What the compiled query of an actor depends on: role, whether it has a user
# and its organisation's kind ("" without one): which of the organisation's
# relationships count is settled by its kind (rules.py).
Shape = tuple[str, str, bool]


def _shape(actor: Actor) -> Shape:
    organisation = actor.organisation
    return actor.role, organisation.kind if organisation else "", actor.user is not None


def _actor_values(actor: Actor, now: dt.datetime) -> tuple[Any, ...]:
    """The real values for :data:`_ACTOR_STAND_INS`."""
    organisation, user = actor.organisation, actor.user
    return now, organisation.pk if organisation else None, user.pk if user else None


def _stand_in_actor(shape: Shape, organisation_id: int, user_id: int) -> Actor:
    role, kind, with_user = shape
    return Actor(
        user=User(pk=user_id) if with_user else None,
        membership=(
            Membership(role=role, organisation=Organisation(pk=organisation_id, kind=kind))
            if kind
            else None
        ),
    )


def _fact_columns(shape: Shape, *, municipality: bool = True) -> list[str]:
    return [
        "has_directives",
        *(["municipality_code"] if municipality else []),
        *(["open_basis"] if shape[1] else []),
    ]


@functools.cache
def _facts_query(shape: Shape) -> CompiledQuery:
    """:func:`facts_queryset` for one shape of actor. The ORM builds it from
    the very same rules; compiling it costs more than running it, so it is
    compiled once per process."""

    def build(citizen_id: int, now: dt.datetime, organisation_id: int, user_id: int) -> QuerySet:
        actor = _stand_in_actor(shape, organisation_id, user_id)
        return facts_queryset(actor, citizen_id, now).values_list(
            *_CITIZEN_COLUMNS, *_fact_columns(shape)
        )

    return CompiledQuery(build, _STAND_IN_CITIZEN, *_ACTOR_STAND_INS, optional=_OPTIONAL)


def _record_queryset(resource_type: str, resource_id: int) -> QuerySet[RecordResource]:
    return RecordResource.objects.filter(pk=resource_id, resource_type=resource_type)


_SOURCE_COLUMNS = [
    *_RECORD_COLUMNS,
    *(f"source_organisation__{c}" for c in _ORGANISATION_COLUMNS),
]
# A record resource with its source organisation: the read with no decision.
_RECORD_QUERY = CompiledQuery(
    lambda resource_id, resource_type: _record_queryset(resource_type, resource_id).values_list(
        *_SOURCE_COLUMNS
    ),
    _STAND_IN_RECORD,
    _STAND_IN_TYPE,
)


@functools.cache
def _record_with_facts_query(shape: Shape) -> CompiledQuery:
    """A record resource with its source organisation, its citizen and what
    the gate reads with the citizen (for one shape of actor): the read and the
    gate's question in one query."""

    def build(
        resource_id: int,
        resource_type: str,
        now: dt.datetime,
        organisation_id: int,
        user_id: int,
    ) -> QuerySet:
        actor = _stand_in_actor(shape, organisation_id, user_id)
        return (
            _record_queryset(resource_type, resource_id)
            .annotate(**_facts(actor, now, "citizen__"))
            .values_list(
                *_SOURCE_COLUMNS,
                *(f"citizen__{c}" for c in _DECISION_CITIZEN_COLUMNS),
                *_fact_columns(shape, municipality=False),
            )
        )

    return CompiledQuery(
        build, _STAND_IN_RECORD, _STAND_IN_TYPE, *_ACTOR_STAND_INS, optional=_OPTIONAL
    )


def _compiled_ways(actor: Actor | None) -> bool:
    """Whether the compiled statements serve: on PostgreSQL, for a person's
    request. SQLite's values need the ORM's converters, and a partner's
    background work is rare: both take the ORM's way."""
    return (
        connection.vendor == "postgresql"
        and _PLAIN_COLUMNS
        and not (actor is not None and actor.membership is None and actor.organisation is not None)
    )


def _first(rows: list[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    return rows[0] if rows else None


def _citizen_from_row(
    actor: Actor,
    row: tuple[Any, ...],
    columns: tuple[str, ...] = _CITIZEN_COLUMNS,
    *,
    municipality: bool = True,
) -> Citizen:
    """The citizen (its ``columns``) and its facts from the end of a row
    (with the municipality's code, unless ``municipality`` is False)."""
    size = len(columns)
    citizen = Citizen.from_db(connection.alias, columns, row[:size])
    facts = iter(row[size:])
    citizen.has_directives = next(facts)  # type: ignore[attr-defined]
    if municipality:
        _known_municipality(citizen, next(facts))
    if actor.organisation is not None:
        citizen.open_basis = next(facts)  # type: ignore[attr-defined]
    return citizen


def citizen_with_facts(actor: Actor, citizen_id: int) -> Citizen | None:
    now = timezone.now()
    if not _compiled_ways(actor):
        found = facts_queryset(actor, citizen_id, now).first()
        if found is not None:
            _known_municipality(found, found.municipality_code)  # type: ignore[attr-defined]
        return found
    row = _first(
        _facts_query(_shape(actor)).rows(citizen_id, *_actor_values(actor, now), binary=True)
    )
    return _citizen_from_row(actor, row) if row is not None else None


def _record_from_row(row: tuple[Any, ...]) -> tuple[RecordResource, tuple[Any, ...]]:
    """The record resource and its source organisation; the rest of the row."""
    size, org_size = len(_RECORD_COLUMNS), len(_ORGANISATION_COLUMNS)
    resource = RecordResource.from_db(connection.alias, _RECORD_COLUMNS, row[:size])
    resource.source_organisation = Organisation.from_db(
        connection.alias, _ORGANISATION_COLUMNS, row[size : size + org_size]
    )
    return resource, row[size + org_size :]


def row_id(resource_id: str) -> int:
    """An id from a URL as a row's id: anything but a row id as the platform
    writes one (:func:`core.validation.row_id_text`; ``07`` is none) is -1,
    which names no row, so it is refused exactly as an unknown id is."""
    found = row_id_text(resource_id)
    return -1 if found is None else found


def record_fetch(resource_type: str, resource_id: str) -> RecordResource | None:
    """A record resource and its source organisation, with no decision: only
    for :func:`consent.gate.access_record`'s ORM way, which asks the gate next, and the
    benchmark's bare read (``CONSENT_BENCH_BARE_READS``, bench databases only)."""
    pk = row_id(resource_id)
    if not _compiled_ways(None):
        return _record_queryset(resource_type, pk).select_related("source_organisation").first()
    row = _first(_RECORD_QUERY.rows(pk, resource_type, binary=True))
    return _record_from_row(row)[0] if row is not None else None


def _known_municipality(citizen: Citizen, code: str) -> None:
    """Give ``citizen`` its municipality as read with it: the id and the code,
    with every other field deferred (read from the database if asked for)."""
    citizen.municipality = Organisation.from_db(
        connection.alias, ["id", "municipality_code"], [citizen.municipality_id, code]
    )


def record_with_citizen(
    actor: Actor, resource_type: str, resource_id: str
) -> tuple[RecordResource | None, Citizen | None]:
    """A record resource, its source organisation, its citizen and what the
    gate reads with the citizen: on the compiled way, in one query."""
    if not _compiled_ways(actor):
        resource = record_fetch(resource_type, resource_id)
        return resource, citizen_with_facts(actor, resource.citizen_id) if resource else None
    row = _first(
        _record_with_facts_query(_shape(actor)).rows(
            row_id(resource_id), resource_type, *_actor_values(actor, timezone.now()), binary=True
        )
    )
    if row is None:
        return None, None
    resource, rest = _record_from_row(row)
    citizen = _citizen_from_row(actor, rest, _DECISION_CITIZEN_COLUMNS, municipality=False)
    resource.citizen = citizen
    return resource, citizen
