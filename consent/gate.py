"""The access gate: the one function every read and write of citizen data passes.

``access_decide`` answers permit/deny with a reason and touches nothing.
``access_citizen`` decides, records the decision in the audit log, and either
returns the citizen or raises :class:`core.errors.NotFoundOrNotAllowed` — the
same error whether the citizen does not exist or may not be seen.
``visible_citizens`` is the same decision for many citizens at once, for
searches: it never lets a hidden citizen through, not even into a total.

A permit needs (R1, R3, R4):

1. a role that may receive shared data, for a purpose defined for it (R3);
2. a care relationship (R1): the acute nurse's own visit or referral, the
   coordinator's organisation-level referral, the citizen's own GP practice,
   the home nursing serving the citizen's municipality, a hospital department
   with an open contact, or a recorded relationship of the organisation;
3. no refusal by the citizen that covers this recipient, professional,
   purpose and moment (R4) — unless the citizen's own consent lifts it.

A refusal with a data period (FHIR ``provision.dataPeriod``) does not refuse
the citizen: the decision permits and carries the periods in
``Decision.hidden_periods``; readers leave out every record resource dated
inside them (:func:`in_hidden_period`), and a read of one such resource is
refused outright (pass ``data_dates``).

Break-the-glass (*værdispring*) replaces 2 and 3 for one clinician, one
citizen, a short time. Every access that the override alone made possible —
a read, a write, a search hit, a citizen counted in a total, a list — is
recorded with purpose ``emergency``, the reason ``break_glass``, and the
override's id and stated reason in the entry's detail, which is what flags it
for the auditors and shows it in the citizen's insight report. The decision
says so (``Decision.break_glass_id``); for searches ``VisibleRecord.overrides``
names the citizens only the override shows, and :func:`audit_listed` records
them.

Ask the gate *before* opening a write's transaction: a denial is recorded at
once and must not be rolled back with the refused write.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Exists, F, JSONField, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from consent.audit.services import Action, Outcome, Purpose, audit_record, audit_record_many
from consent.models import (
    BreakGlass,
    CareRelationship,
    ConsentDirective,
    DataCategory,
    RecordResource,
)
from core.actors import Actor
from core.errors import NotFoundOrNotAllowed
from core.models import Citizen, Membership, Organisation, Role, User
from core.sql import CompiledQuery

__all__ = [
    "CATEGORY_CONSENT",
    "CATEGORY_INSIGHT",
    "CATEGORY_PATIENT",
    "CATEGORY_SUMMARY",
    "CLINICAL_ROLES",
    "RECORD_CATEGORIES",
    "Action",
    "Decision",
    "HiddenPeriod",
    "Purpose",
    "access_citizen",
    "access_decide",
    "audit_listed",
    "consent_in_force",
    "in_hidden_period",
    "patient_create_decide",
    "refusal_for",
    "visible_citizens",
    "visible_record",
]

CATEGORY_PATIENT = "patient"  # identity and address (Patient)
CATEGORY_SUMMARY = "summary"  # every permitted category at once ($everything)
CATEGORY_CONSENT = "consent"  # the citizen's refusals and consents
CATEGORY_INSIGHT = "insight"  # the insight report (R5)
RECORD_CATEGORIES = frozenset({*DataCategory.values, CATEGORY_PATIENT, CATEGORY_SUMMARY})

CLINICAL_ROLES = frozenset({Role.ACUTE_NURSE, Role.COORDINATOR, Role.PHYSICIAN, Role.HOME_NURSE})

# R3: the purposes each recipient role may state. ``emergency`` is only ever
# granted together with an open break-the-glass.
PERMITTED_PURPOSES: dict[str, frozenset[str]] = {
    Role.ACUTE_NURSE: frozenset({Purpose.TREATMENT, Purpose.EMERGENCY}),
    Role.COORDINATOR: frozenset({Purpose.TREATMENT, Purpose.OPERATIONS, Purpose.EMERGENCY}),
    Role.PHYSICIAN: frozenset({Purpose.TREATMENT, Purpose.EMERGENCY}),
    Role.HOME_NURSE: frozenset({Purpose.TREATMENT, Purpose.EMERGENCY}),
}


# Background work on behalf of a partner organisation (no person, no role).
SYSTEM_PURPOSES = frozenset({Purpose.TREATMENT, Purpose.OPERATIONS})


# A data period refused to this reader: [start, end), either end open.
HiddenPeriod = tuple[dt.datetime | None, dt.datetime | None]

# The categories whose resources carry a date a data-period refusal can cover.
DATED_CATEGORIES = frozenset({*DataCategory.values, CATEGORY_SUMMARY})


@dataclass(frozen=True)
class Decision:
    permitted: bool
    reason_code: str  # why: "care_relationship", "refused", "purpose_not_permitted", ...
    basis: str = ""
    # Set when the override alone permitted: the open break-the-glass and its reason.
    break_glass_id: int | None = None
    break_glass_reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # Record data the reader may not see although the citizen is permitted.
    hidden_periods: tuple[HiddenPeriod, ...] = ()

    def audit_purpose(self, asked: str) -> str:
        """The purpose the audit entry states: ``emergency`` whenever the
        override alone permitted, whatever purpose the caller asked with."""
        return Purpose.EMERGENCY if self.break_glass_id else asked


def in_hidden_period(when: dt.datetime | None, periods: Iterable[HiddenPeriod]) -> bool:
    if when is None:
        return False
    return any(
        (start is None or when >= start) and (end is None or when < end) for start, end in periods
    )


def _org_ancestor_ids(organisation: Organisation) -> set[int]:
    """The organisation and every parent above it (a department's hospital)."""
    ids = {organisation.pk}
    parent_id = organisation.parent_id
    while parent_id is not None and parent_id not in ids:
        ids.add(parent_id)
        parent_id = (
            Organisation.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
        )
    return ids


def _open_relationships(actor: Actor, now: dt.datetime | None = None) -> QuerySet[CareRelationship]:
    """Open care relationships that count for this actor (R1)."""
    now = now or timezone.now()
    organisation = actor.organisation
    qs = CareRelationship.objects.filter(organisation=organisation, started_at__lte=now).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=now)
    )
    if actor.role == Role.ACUTE_NURSE:
        # Her own visit or referral only; another nurse's visit is not hers.
        return qs.filter(user=actor.user)
    if actor.role == Role.COORDINATOR:
        return qs.filter(user__isnull=True)
    return qs.filter(Q(user__isnull=True) | Q(user=actor.user))


def _relationship_basis(actor: Actor, citizen: Citizen) -> str:
    organisation = actor.organisation
    assert organisation is not None
    if organisation.kind == Organisation.Kind.GP_PRACTICE and citizen.gp_practice_id == (
        organisation.pk
    ):
        return "own_gp"
    if (
        organisation.kind == Organisation.Kind.HOME_NURSING
        and organisation.serves.filter(pk=citizen.municipality_id).exists()
    ):
        return "home_nursing_of_municipality"
    if hasattr(citizen, "open_basis"):  # fetched with the citizen by access_citizen
        return citizen.open_basis or ""
    relationship = (
        _open_relationships(actor)
        .filter(citizen=citizen)
        .order_by("started_at")
        .values_list("basis", flat=True)
        .first()
    )
    return relationship or ""


def consent_in_force(now: dt.datetime | None = None) -> QuerySet[ConsentDirective]:
    """Refusals and consents in force at ``now``: not withdrawn, within their period."""
    now = now or timezone.now()
    return ConsentDirective.objects.filter(withdrawal__isnull=True, period_start__lte=now).filter(
        Q(period_end__isnull=True) | Q(period_end__gt=now)
    )


def _active_directives(citizen_ids: Iterable[int] | QuerySet[Any]) -> list[ConsentDirective]:
    return list(
        consent_in_force()
        .filter(citizen_id__in=citizen_ids)
        .prefetch_related("recipient_organisations", "recipient_users")
    )


def _facts(actor: Actor, now: dt.datetime, citizen: str = "") -> dict[str, Any]:
    """What the gate reads with the citizen: whether any directive is in
    force, the municipality's code and the actor's open relationship basis.
    ``citizen`` is the path from the queried model to the citizen ("" when
    the citizen itself is queried, "citizen__" from a record resource)."""
    ref = OuterRef(f"{citizen}id")
    annotations: dict[str, Any] = {
        "has_directives": Exists(consent_in_force(now).filter(citizen=ref)),
        # The Patient resource names the municipality by its code.
        "municipality_code": F(f"{citizen}municipality__municipality_code"),
    }
    if actor.organisation is not None:
        annotations["open_basis"] = Subquery(
            _open_relationships(actor, now)
            .filter(citizen=ref)
            .order_by("started_at")
            .values("basis")[:1]
        )
    return annotations


def _facts_queryset(actor: Actor, citizen_id: int, now: dt.datetime) -> QuerySet[Citizen]:
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

# What the compiled query of an actor depends on: role, and whether it has an
# organisation and a user.
Shape = tuple[str, bool, bool]


def _shape(actor: Actor) -> Shape:
    return actor.role, actor.organisation is not None, actor.user is not None


def _actor_values(actor: Actor, now: dt.datetime) -> tuple[Any, ...]:
    """The real values for :data:`_ACTOR_STAND_INS`."""
    organisation, user = actor.organisation, actor.user
    return now, organisation.pk if organisation else None, user.pk if user else None


def _stand_in_actor(shape: Shape, organisation_id: int, user_id: int) -> Actor:
    role, with_organisation, with_user = shape
    return Actor(
        user=User(pk=user_id) if with_user else None,
        membership=(
            Membership(role=role, organisation=Organisation(pk=organisation_id))
            if with_organisation
            else None
        ),
    )


def _fact_columns(with_organisation: bool) -> list[str]:
    return ["has_directives", "municipality_code", *(["open_basis"] if with_organisation else [])]


@functools.cache
def _facts_query(shape: Shape) -> CompiledQuery:
    """:func:`_facts_queryset` for one shape of actor. The ORM builds it from
    the very same rules; compiling it costs more than running it, so it is
    compiled once per process."""

    def build(citizen_id: int, now: dt.datetime, organisation_id: int, user_id: int) -> QuerySet:
        actor = _stand_in_actor(shape, organisation_id, user_id)
        return _facts_queryset(actor, citizen_id, now).values_list(
            *_CITIZEN_COLUMNS, *_fact_columns(shape[1])
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
                *(f"citizen__{c}" for c in _CITIZEN_COLUMNS),
                *_fact_columns(shape[1]),
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


def _citizen_from_row(actor: Actor, row: tuple[Any, ...]) -> Citizen:
    """The citizen and its facts from the end of a row."""
    size = len(_CITIZEN_COLUMNS)
    citizen = Citizen.from_db(connection.alias, _CITIZEN_COLUMNS, row[:size])
    citizen.has_directives = row[size]  # type: ignore[attr-defined]
    _known_municipality(citizen, row[size + 1])
    if actor.organisation is not None:
        citizen.open_basis = row[size + 2]  # type: ignore[attr-defined]
    return citizen


def _citizen_with_facts(actor: Actor, citizen_id: int) -> Citizen | None:
    now = timezone.now()
    if not _compiled_ways(actor):
        found = _facts_queryset(actor, citizen_id, now).first()
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


def _record_id(resource_id: str) -> int:
    return int(resource_id) if resource_id.isdigit() else -1


def record_fetch(resource_type: str, resource_id: str) -> RecordResource | None:
    """A record resource and its source organisation, with no decision: only
    for :func:`access_record`'s ORM way, which asks the gate next, and the
    benchmark's bare read (``CONSENT_BENCH_BARE_READS``, bench databases only)."""
    pk = _record_id(resource_id)
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


def directive_covers(
    directive: ConsentDirective, *, actor: Actor, purpose: str, org_ids: set[int] | None = None
) -> bool:
    """Does this refusal or consent apply to this recipient, professional and purpose?"""
    organisation = actor.organisation
    orgs = {o.pk for o in directive.recipient_organisations.all()}
    if orgs:
        if organisation is None:
            return False
        reach = (
            (org_ids if org_ids is not None else _org_ancestor_ids(organisation))
            if directive.include_sub_units
            else {organisation.pk}
        )
        if not orgs & reach:
            return False
    users = {u.pk for u in directive.recipient_users.all()}
    if users and (actor.user is None or actor.user.pk not in users):
        return False
    return not directive.purposes or purpose in directive.purposes


def _has_data_period(directive: ConsentDirective) -> bool:
    return directive.data_period_start is not None or directive.data_period_end is not None


def refusal_for(
    directives: list[ConsentDirective], actor: Actor, purpose: str
) -> tuple[bool, tuple[HiddenPeriod, ...]]:
    """(the citizen is refused to this reader, the data periods refused to it),
    from the citizen's directives in force. The citizen's consent covering the
    reader lifts both. For deciders outside the gate (hand-offs) as well."""
    if not directives:
        return False, ()
    org_ids = _org_ancestor_ids(actor.organisation) if actor.organisation else set()
    covering = [
        d for d in directives if directive_covers(d, actor=actor, purpose=purpose, org_ids=org_ids)
    ]
    if any(d.provision == ConsentDirective.Provision.PERMIT for d in covering):
        return False, ()
    denials = [d for d in covering if d.provision == ConsentDirective.Provision.DENY]
    whole = any(not _has_data_period(d) for d in denials)
    periods = tuple(
        sorted(
            {(d.data_period_start, d.data_period_end) for d in denials if _has_data_period(d)},
            key=lambda p: (p[0] is not None, p[0] or dt.datetime.min.replace(tzinfo=dt.UTC)),
        )
    )
    return whole, periods


def _open_break_glass(actor: Actor, citizen_id: int) -> BreakGlass | None:
    if actor.user is None:
        return None
    return (
        BreakGlass.objects.filter(
            user=actor.user, citizen_id=citizen_id, expires_at__gt=timezone.now()
        )
        .order_by("-expires_at")
        .first()
    )


def _override_decision(glass: BreakGlass) -> Decision:
    return Decision(True, "break_glass", "break_glass", glass.pk, glass.reason)


def _break_glass_decision(actor: Actor, citizen: Citizen, otherwise: Decision) -> Decision:
    glass = _open_break_glass(actor, citizen.pk)
    if glass is None:
        return otherwise
    return _override_decision(glass)


def access_decide(
    *,
    actor: Actor,
    citizen: Citizen,
    action: str,
    category: str,
    purpose: str,
    data_dates: tuple[dt.datetime, ...] = (),
) -> Decision:
    """Permit or deny; no side effects. ``data_dates`` are the dates of the
    record data asked for, if one resource is (its current version, and the
    version read): a data-period refusal covering any of them refuses."""
    if actor.membership is None:
        if not actor.task:
            return Decision(False, "no_actor")
        if actor.partner is None:
            return Decision(False, "role_not_permitted")
        # Loading from a partner's own system: storage, not disclosure.
        if action == Action.CREATE and category in DataCategory.values:
            return Decision(True, "import_from_source", "partner_system")
        # Background work for a partner organisation (a hand-off): the
        # organisation's own relationship and the citizen's refusals decide.
        if category not in RECORD_CATEGORIES:
            return Decision(False, "category_not_permitted")
        if purpose not in SYSTEM_PURPOSES:
            return Decision(False, "purpose_not_permitted")
        return _relationship_and_refusals(actor, citizen, category, purpose, data_dates)
    role = actor.role
    if role == Role.AUDITOR:
        if category == CATEGORY_INSIGHT and purpose == Purpose.AUDIT:
            return Decision(True, "right_of_insight", "auditor")
        return Decision(False, "role_not_permitted")
    if role == Role.ADMINISTRATOR:
        if category == CATEGORY_CONSENT and purpose == Purpose.OPERATIONS:
            return Decision(True, "consent_administration", "administrator")
        return Decision(False, "role_not_permitted")
    if role not in CLINICAL_ROLES or actor.organisation is None:
        return Decision(False, "role_not_permitted")
    if category not in RECORD_CATEGORIES and category != CATEGORY_CONSENT:
        return Decision(False, "category_not_permitted")
    if purpose not in PERMITTED_PURPOSES[role]:
        return Decision(False, "purpose_not_permitted")
    if purpose == Purpose.EMERGENCY:
        return _break_glass_decision(actor, citizen, Decision(False, "no_break_glass"))
    return _relationship_and_refusals(actor, citizen, category, purpose, data_dates)


# Who registers a citizen (Patient create): the acute function's coordinator
# at intake, for residents of a participating municipality, and municipal home
# nursing, for residents of the municipalities it serves. Everyone else finds
# citizens already registered; clinicians with a care relationship update them.
PATIENT_CREATORS = frozenset({Role.COORDINATOR, Role.HOME_NURSE})


def patient_create_decide(*, actor: Actor, municipality: Organisation, purpose: str) -> Decision:
    """May this actor register a new citizen resident in ``municipality``? No
    citizen exists yet, so the relationship is the one the actor's organisation
    has with the municipality."""
    organisation = actor.organisation
    if actor.membership is None or actor.role not in PATIENT_CREATORS or organisation is None:
        return Decision(False, "role_not_permitted")
    if purpose not in PERMITTED_PURPOSES[actor.role] or purpose == Purpose.EMERGENCY:
        return Decision(False, "purpose_not_permitted")
    if actor.role == Role.COORDINATOR:
        if organisation.kind == Organisation.Kind.ACUTE_FUNCTION and municipality.participates:
            return Decision(True, "patient_intake", "participating_municipality")
        return Decision(False, "municipality_not_served")
    if (
        organisation.kind == Organisation.Kind.HOME_NURSING
        and organisation.serves.filter(pk=municipality.pk).exists()
    ):
        return Decision(True, "patient_intake", "home_nursing_of_municipality")
    return Decision(False, "municipality_not_served")


def _relationship_and_refusals(
    actor: Actor,
    citizen: Citizen,
    category: str,
    purpose: str,
    data_dates: tuple[dt.datetime, ...] = (),
) -> Decision:
    basis = _relationship_basis(actor, citizen)
    if not basis:
        return _break_glass_decision(actor, citizen, Decision(False, "no_care_relationship"))
    if category == CATEGORY_CONSENT:
        # A refusal never stops staff from recording the citizen's own wishes.
        return Decision(True, "care_relationship", basis)
    has_directives = getattr(citizen, "has_directives", True)
    if not has_directives:
        return Decision(True, "care_relationship", basis)
    whole, periods = refusal_for(_active_directives([citizen.pk]), actor, purpose)
    if whole:
        return _break_glass_decision(actor, citizen, Decision(False, "refused", basis))
    if periods and category in DATED_CATEGORIES:
        # Only break-the-glass shows refused data; used, it is recorded as such.
        if any(in_hidden_period(when, periods) for when in data_dates):
            return _break_glass_decision(
                actor, citizen, Decision(False, "refused_data_period", basis)
            )
        return _break_glass_decision(
            actor, citizen, Decision(True, "care_relationship", basis, hidden_periods=periods)
        )
    return Decision(True, "care_relationship", basis)


def access_citizen(
    *,
    actor: Actor,
    citizen_id: int,
    action: str,
    category: str,
    purpose: str,
    resource_type: str = "",
    resource_id: str = "",
    audit_permit: bool = True,
    detail: dict[str, Any] | None = None,
    data_dates: tuple[dt.datetime, ...] = (),
) -> Citizen:
    """Decide, audit, and return the citizen — or raise "not found" for both unknown and refused.

    ``audit_permit=False`` is for writes: the caller records the permitted
    write inside its own transaction (a denial is still recorded here).
    The decision is left on the returned citizen as ``gate_decision``.
    """
    return _decide_and_audit(
        actor=actor,
        citizen=_citizen_with_facts(actor, citizen_id),
        action=action,
        category=category,
        purpose=purpose,
        resource_type=resource_type,
        resource_id=resource_id,
        audit_permit=audit_permit,
        detail=detail,
        data_dates=data_dates,
    )


def access_record(
    *, actor: Actor, resource_type: str, resource_id: str, purpose: str
) -> RecordResource:
    """One record resource, if the gate permits reading its citizen's data of
    its category; decided and audited as :func:`access_citizen` does. The
    resource, its citizen and what the gate reads with the citizen come in
    one query."""
    if not _compiled_ways(actor):
        resource = record_fetch(resource_type, resource_id)
        citizen = _citizen_with_facts(actor, resource.citizen_id) if resource else None
    else:
        now = timezone.now()
        row = _first(
            _record_with_facts_query(_shape(actor)).rows(
                _record_id(resource_id), resource_type, *_actor_values(actor, now), binary=True
            )
        )
        resource, citizen = None, None
        if row is not None:
            resource, rest = _record_from_row(row)
            citizen = _citizen_from_row(actor, rest)
            resource.citizen = citizen
    _decide_and_audit(
        actor=actor,
        citizen=citizen,
        action=Action.READ,
        category=resource.category if resource else "",
        purpose=purpose,
        resource_type=resource_type,
        resource_id=resource_id,
        data_dates=(resource.data_date,) if resource else (),
    )
    assert resource is not None  # the gate refuses an unknown citizen
    return resource


def _decide_and_audit(
    *,
    actor: Actor,
    citizen: Citizen | None,
    action: str,
    category: str,
    purpose: str,
    resource_type: str = "",
    resource_id: str = "",
    audit_permit: bool = True,
    detail: dict[str, Any] | None = None,
    data_dates: tuple[dt.datetime, ...] = (),
) -> Citizen:
    if citizen is None:
        audit_record(
            actor=actor,
            action=action,
            purpose=purpose,
            citizen_id=None,
            outcome=Outcome.DENIED,
            resource_type=resource_type,
            resource_id=resource_id,
            reason_code="unknown_citizen",
        )
        raise NotFoundOrNotAllowed()
    decision = access_decide(
        actor=actor,
        citizen=citizen,
        action=action,
        category=category,
        purpose=purpose,
        data_dates=data_dates,
    )
    if decision.permitted and not audit_permit:
        citizen.gate_decision = decision  # type: ignore[attr-defined]
        return citizen
    audit_record(
        actor=actor,
        action=action,
        purpose=decision.audit_purpose(purpose),
        citizen_id=citizen.pk,
        outcome=Outcome.PERMITTED if decision.permitted else Outcome.DENIED,
        resource_type=resource_type,
        resource_id=resource_id,
        reason_code=decision.reason_code,
        detail=audit_detail(decision, category, detail),
    )
    if not decision.permitted:
        raise NotFoundOrNotAllowed()
    citizen.gate_decision = decision  # type: ignore[attr-defined]
    return citizen


def audit_detail(
    decision: Decision, category: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"basis": decision.basis}
    if category:
        out["category"] = category
    if decision.break_glass_id:
        out["break_glass_id"] = decision.break_glass_id
        out["break_glass_reason"] = decision.break_glass_reason
    if decision.hidden_periods:
        # The reader got the record without the data the citizen refused by period.
        out["withheld"] = "data_period"
    if extra:
        out.update(extra)
    return out


@dataclass
class VisibleRecord:
    """The result of :func:`visible_record`."""

    citizens: QuerySet[Citizen]  # may be seen (a subquery)
    refused: set[int]  # ... except these, whom a refusal covers
    hidden: dict[int, tuple[HiddenPeriod, ...]]  # data periods refused, per citizen
    # The citizens only an open break-the-glass shows (or whose refused data
    # only it shows), with the gate's decision for each: what a search shows
    # of them is an emergency access (:func:`audit_listed`).
    overrides: dict[int, Decision] = field(default_factory=dict)


def visible_citizens(
    *, actor: Actor, category: str, purpose: str
) -> tuple[QuerySet[Citizen], set[int]]:
    """For searches across citizens: (citizens the actor may see, citizens to
    leave out after all because a refusal covers them). Same rules as
    :func:`access_decide`; used as subqueries so totals count only these."""
    found = visible_record(actor=actor, category=category, purpose=purpose)
    return found.citizens, found.refused


def _open_break_glasses(actor: Actor) -> dict[int, BreakGlass]:
    """The actor's open overrides by citizen; of two for one citizen, the one
    that runs longest (as :func:`_open_break_glass` picks)."""
    if actor.user is None:
        return {}
    found: dict[int, BreakGlass] = {}
    for glass in BreakGlass.objects.filter(user=actor.user, expires_at__gt=timezone.now()).order_by(
        "expires_at", "pk"
    ):
        found[glass.citizen_id] = glass
    return found


def visible_record(*, actor: Actor, category: str, purpose: str) -> VisibleRecord:
    """:func:`visible_citizens` with, in addition, the data periods each visible
    citizen has refused to this reader and the citizens only the override
    shows — for searches across the record."""
    none = VisibleRecord(Citizen.objects.none(), set(), {})
    if actor.membership is None or actor.role not in CLINICAL_ROLES:
        return none
    if category not in RECORD_CATEGORIES or actor.organisation is None:
        return none
    if purpose not in PERMITTED_PURPOSES[actor.role]:
        return none
    glasses = _open_break_glasses(actor)
    if purpose == Purpose.EMERGENCY:
        # As for one citizen: the emergency purpose reaches only the citizens
        # of an open override, and every one of them through it.
        return VisibleRecord(
            Citizen.objects.filter(pk__in=list(glasses)),
            set(),
            {},
            {cid: _override_decision(glass) for cid, glass in glasses.items()},
        )
    organisation = actor.organisation
    related = Q(pk__in=_open_relationships(actor).values("citizen_id"))
    if organisation.kind == Organisation.Kind.GP_PRACTICE:
        related |= Q(gp_practice=organisation)
    if organisation.kind == Organisation.Kind.HOME_NURSING:
        related |= Q(municipality__in=organisation.serves.all())
    candidates = Citizen.objects.filter(related)
    overrides: dict[int, Decision] = {}
    if glasses:
        # Without a care relationship only the override shows the citizen.
        with_relationship = set(
            candidates.filter(pk__in=list(glasses)).values_list("pk", flat=True)
        )
        for cid in glasses.keys() - with_relationship:
            overrides[cid] = _override_decision(glasses[cid])
    denying = {
        d.citizen_id
        for d in _active_directives(candidates.values("pk"))
        if d.provision == ConsentDirective.Provision.DENY
    }
    refused: set[int] = set()
    hidden: dict[int, tuple[HiddenPeriod, ...]] = {}
    if denying:
        directives = _active_directives(denying)
        for cid in denying:
            whole, periods = refusal_for(
                [d for d in directives if d.citizen_id == cid], actor, purpose
            )
            withheld = periods if category in DATED_CATEGORIES else ()
            if cid in glasses:
                # The override shows what the refusal withholds from everyone else.
                if whole or withheld:
                    overrides[cid] = _override_decision(glasses[cid])
            elif whole:
                refused.add(cid)
            elif withheld:
                hidden[cid] = withheld
    return VisibleRecord(
        Citizen.objects.filter(related | Q(pk__in=list(glasses))), refused, hidden, overrides
    )


def audit_listed(
    *,
    actor: Actor,
    action: str,
    purpose: str,
    citizen_ids: Iterable[int],
    overrides: Mapping[int, Decision],
    category: str,
    resource_type: str = "",
    reason_code: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Record what a search or list disclosed, one entry per citizen (IHE
    BALP). A citizen only the override showed (``overrides``, from
    :func:`visible_record`) is an emergency access, with the override's id and
    reason, as a read under it would be; the others are recorded as asked."""
    ids = list(dict.fromkeys(citizen_ids))
    ordinary = [cid for cid in ids if cid not in overrides]
    if ordinary:
        audit_record_many(
            actor=actor,
            action=action,
            purpose=purpose,
            citizen_ids=ordinary,
            resource_type=resource_type,
            reason_code=reason_code,
            detail=detail,
        )
    for cid in ids:
        decision = overrides.get(cid)
        if decision is not None:
            audit_record(
                actor=actor,
                action=action,
                purpose=decision.audit_purpose(purpose),
                citizen_id=cid,
                resource_type=resource_type,
                reason_code=decision.reason_code,
                detail=audit_detail(decision, category, detail),
            )
