"""Reads of the shared record, consent and the insight report — each through the gate."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from consent.audit.fhir import audit_event_resource
from consent.audit.models import AuditEntry
from consent.audit.selectors import Disclosure, audit_entries_for_citizen
from consent.audit.services import Action, Outcome, Purpose, audit_record
from consent.fhir import (
    CATEGORY_SYSTEM,
    RECORD_JSON_FIELDS,
    clinical_date,
    consent_resource,
    record_json,
    record_resource,
)
from consent.gate import (
    CATEGORY_CONSENT,
    CATEGORY_INSIGHT,
    CATEGORY_PATIENT,
    CATEGORY_SUMMARY,
    CLINICAL_ROLES,
    PERMITTED_PURPOSES,
    Decision,
    HiddenPeriod,
    access_citizen,
    access_record,
    audit_listed,
    record_fetch,
    visible_record,
)
from consent.models import (
    BreakGlass,
    ConsentDirective,
    DataCategory,
    PatientVersion,
    RecordResource,
    record_data_date,
)
from core.actors import Actor
from core.cpr import CPR_SYSTEM
from core.errors import InvalidInput, NotFoundOrNotAllowed
from core.fhir.patient import patient_resource
from core.models import Citizen
from core.sql import CompiledQuery

INSIGHT_YEARS = 2


def record_read(
    *, actor: Actor, resource_type: str, resource_id: str, purpose: str
) -> RecordResource:
    """One resource, if the gate permits reading its citizen's data of its category."""
    return access_record(
        actor=actor, resource_type=resource_type, resource_id=resource_id, purpose=purpose
    )


def record_version_read(
    *, actor: Actor, resource_type: str, resource_id: str, version_id: int, purpose: str
) -> tuple[RecordResource, str]:
    """An earlier version (history is kept): the resource carrying that version's
    body, and the name of that version's source. A refusal of a data period
    covering the current version or this one hides it."""
    resource = (
        RecordResource.objects.filter(
            pk=int(resource_id) if resource_id.isdigit() else -1, resource_type=resource_type
        )
        .only("pk", "citizen_id", "category", "resource_type", "effective_at", "created_at")
        .first()
    )
    version = (
        resource.versions.select_related("source_organisation")
        .filter(version_id=version_id)
        .first()
        if resource is not None
        else None
    )
    dates: tuple[dt.datetime, ...] = ()
    if resource is not None:
        dates = (resource.data_date,)
        if version is not None:
            dates += (clinical_date(resource_type, version.body) or resource.created_at,)
    access_citizen(
        actor=actor,
        citizen_id=resource.citizen_id if resource else -1,
        action=Action.READ,
        category=resource.category if resource else "",
        purpose=purpose,
        resource_type=resource_type,
        resource_id=resource_id,
        data_dates=dates,
        detail={"version": version_id},
    )
    if resource is None or version is None:
        raise NotFoundOrNotAllowed()
    resource.body = version.body
    resource.version_id = version.version_id
    resource.updated_at = version.recorded_at
    resource.source_organisation_id = version.source_organisation_id
    return resource, version.source_organisation.name


def without_hidden_data(
    qs: QuerySet[RecordResource], hidden: dict[int, tuple[HiddenPeriod, ...]]
) -> QuerySet[RecordResource]:
    """Leave out the resources dated inside a data period the citizen refused to
    this reader (R4), in the query itself so totals and pages agree."""
    if not hidden:
        return qs
    covered = Q()
    for citizen_id, periods in hidden.items():
        for start, end in periods:
            one = Q(citizen_id=citizen_id)
            if start is not None:
                one &= Q(dated__gte=start)
            if end is not None:
                one &= Q(dated__lt=end)
            covered |= one
    return qs.annotate(dated=record_data_date()).exclude(covered)


def _hidden_for(citizen: Citizen) -> dict[int, tuple[HiddenPeriod, ...]]:
    decision = getattr(citizen, "gate_decision", None)
    periods = decision.hidden_periods if decision is not None else ()
    return {citizen.pk: periods} if periods else {}


def record_read_bare(*, resource_type: str, resource_id: str) -> RecordResource:
    """Benchmark only (``CONSENT_BENCH_BARE_READS``, refused outside a bench_*
    database): the same read with no gate and no audit, to measure what they cost."""
    bench_database = str(connection.settings_dict["NAME"]).startswith("bench_")
    if not (settings.CONSENT_BENCH_BARE_READS and bench_database):
        raise NotFoundOrNotAllowed()
    found = record_fetch(resource_type, resource_id)
    if found is None:
        raise NotFoundOrNotAllowed()
    return found


@dataclass
class SearchParams:
    patient: str | None = None
    category: str | None = None
    code: str | None = None
    dates: list[str] = field(default_factory=list)


SEARCH_PARAMS = {"patient", "subject", "category", "code", "date", "_count", "_offset"}
DATE_PREFIXES = {"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"}


def parse_search(query: Any) -> SearchParams:
    unknown = sorted(set(query.keys()) - SEARCH_PARAMS)
    if unknown:
        raise InvalidInput(
            "search.param_unknown",
            f"Unsupported search parameter(s): {', '.join(p[:30] for p in unknown)}.",
            field=unknown[0],
        )
    patient = query.get("patient") or query.get("subject")
    if patient is not None:
        patient = patient.removeprefix("Patient/")
        if not patient.isdigit():
            raise InvalidInput(
                "search.patient_invalid",
                "patient is a Patient id (CPR search is POST /fhir/Patient/_search).",
                field="patient",
            )
    return SearchParams(
        patient=patient,
        category=query.get("category"),
        code=query.get("code"),
        dates=query.getlist("date") if hasattr(query, "getlist") else [],
    )


def _date_filter(value: str) -> Q:
    prefix = value[:2] if value[:2] in DATE_PREFIXES else "eq"
    raw = value[2:] if value[:2] in DATE_PREFIXES else value
    try:
        day = dt.date.fromisoformat(raw[:10])
    except ValueError:
        raise InvalidInput(
            "search.date_invalid", "date is [prefix]YYYY-MM-DD, e.g. ge2024-01-01.", field="date"
        ) from None
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=1)
    if prefix in ("gt", "sa"):
        return Q(effective_at__gte=end)
    if prefix in ("lt", "eb"):
        return Q(effective_at__lt=start)
    if prefix == "ge":
        return Q(effective_at__gte=start)
    if prefix == "le":
        return Q(effective_at__lt=end)
    if prefix == "ne":
        return ~Q(effective_at__gte=start, effective_at__lt=end)
    return Q(effective_at__gte=start, effective_at__lt=end)


def _filtered(qs: QuerySet[RecordResource], params: SearchParams) -> QuerySet[RecordResource]:
    if params.category:
        code = params.category.rsplit("|", 1)[-1]
        system = params.category.rsplit("|", 1)[0] if "|" in params.category else None
        if system not in (None, CATEGORY_SYSTEM) or code not in DataCategory.values:
            return qs.none()
        qs = qs.filter(category=code)
    if params.code:
        if "|" in params.code:
            system, code = params.code.rsplit("|", 1)
            qs = qs.filter(code=code, **({"code_system": system} if system else {}))
        else:
            qs = qs.filter(code=params.code)
    for value in params.dates:
        qs = qs.filter(_date_filter(value))
    return qs


def record_search(
    *,
    actor: Actor,
    resource_type: str,
    params: SearchParams,
    purpose: str,
    count: int,
    offset: int,
) -> tuple[list[RecordResource], int]:
    """A page of matches and the total — both counting only what the actor may see."""
    qs = RecordResource.objects.filter(resource_type=resource_type)
    overrides: dict[int, Decision] = {}
    if params.patient is not None:
        try:
            citizen = access_citizen(
                actor=actor,
                citizen_id=int(params.patient),
                action=Action.SEARCH,
                category=params.category.rsplit("|", 1)[-1]
                if params.category
                else CATEGORY_SUMMARY,
                purpose=purpose,
                resource_type=resource_type,
            )
        except NotFoundOrNotAllowed:
            return [], 0  # an empty result, exactly as for an unknown patient
        qs = without_hidden_data(qs.filter(citizen_id=citizen.pk), _hidden_for(citizen))
    else:
        if actor.role not in CLINICAL_ROLES or purpose not in PERMITTED_PURPOSES[actor.role]:
            # Nothing can match; the refused attempt is still recorded (R9).
            audit_record(
                actor=actor,
                action=Action.SEARCH,
                purpose=purpose,
                citizen_id=None,
                outcome=Outcome.DENIED,
                resource_type=resource_type,
                reason_code="role_not_permitted"
                if actor.role not in CLINICAL_ROLES
                else "purpose_not_permitted",
            )
            return [], 0
        visible = visible_record(actor=actor, category=CATEGORY_SUMMARY, purpose=purpose)
        overrides = visible.overrides
        qs = without_hidden_data(
            qs.filter(citizen__in=visible.citizens.values("pk")).exclude(
                citizen_id__in=visible.refused
            ),
            visible.hidden,
        )
    qs = _filtered(qs, params)
    total = qs.count()
    page = list(
        qs.select_related("source_organisation").order_by("-effective_at", "-pk")[
            offset : offset + count
        ]
    )
    if params.patient is None:
        # A citizen the override alone let into the total discloses as much as
        # one on the page (that such records exist), so each is recorded too.
        counted = (
            qs.filter(citizen_id__in=list(overrides))
            .order_by()
            .values_list("citizen_id", flat=True)
            .distinct()
            if overrides
            else []
        )
        audit_listed(
            actor=actor,
            action=Action.SEARCH,
            purpose=purpose,
            citizen_ids=[*(r.citizen_id for r in page), *sorted(counted)],
            overrides=overrides,
            category=CATEGORY_SUMMARY,
            resource_type=resource_type,
            detail={"category": params.category or "", "code": params.code or ""},
        )
    return page, total


def patient_read(*, actor: Actor, citizen_id: str, purpose: str) -> dict[str, Any]:
    citizen = access_citizen(
        actor=actor,
        citizen_id=int(citizen_id) if citizen_id.isdigit() else -1,
        action=Action.READ,
        category=CATEGORY_PATIENT,
        purpose=purpose,
        resource_type="Patient",
        resource_id=citizen_id,
    )
    return versioned_patient(citizen)


def patient_version(citizen_id: int) -> int:
    """The current version of a citizen's Patient (1 until first updated over FHIR)."""
    found = PatientVersion.objects.filter(citizen_id=citizen_id).aggregate(v=Max("version_id"))
    return int(found["v"] or 1)


def versioned_patient(citizen: Citizen) -> dict[str, Any]:
    """The Patient with ``meta.versionId``, which an update names in ``If-Match``."""
    return {
        **patient_resource(citizen),
        "meta": {
            "versionId": str(patient_version(citizen.pk)),
            "lastUpdated": citizen.updated_at.isoformat(),
        },
    }


def patient_search_by_cpr(*, actor: Actor, cpr: str, purpose: str) -> list[dict[str, Any]]:
    """CPR search (only ever from a POST body). A citizen the actor may not see
    is an empty result, like an unknown number."""
    found = Citizen.objects.filter(cpr=cpr).values_list("pk", flat=True).first()
    try:
        citizen = access_citizen(
            actor=actor,
            citizen_id=found if found is not None else -1,
            action=Action.SEARCH,
            category=CATEGORY_PATIENT,
            purpose=purpose,
            resource_type="Patient",
        )
    except NotFoundOrNotAllowed:
        return []
    return [patient_resource(citizen)]


# --- Patient search by the ordinary parameters (GET, as FHIR clients send it) ----

PATIENT_STRING_PARAMS = ("name", "family", "given")
PATIENT_SEARCH_PARAMS = frozenset(
    {*PATIENT_STRING_PARAMS, "_id", "birthdate", "gender", "_count", "_offset"}
)
STRING_MODIFIERS = ("", "exact", "contains")
# How the answer is written, not what matches; FHIR clients add them (fhirpy's
# count() sends _totalMethod). The total is always exact, the format JSON.
PRESENTATION_PARAMS = frozenset({"_format", "_pretty", "_total", "_totalMethod"})
# Ten digits, bare or as DDMMYY-SSSS, anywhere in a key or value of the query.
CPR_LIKE = re.compile(r"(?<![0-9])[0-9]{6}-?[0-9]{4}(?![0-9])")
MAX_IDS = 50
GENDER_SYSTEM = "http://hl7.org/fhir/administrative-gender"


@dataclass
class PatientSearch:
    """A Patient search as parsed: conditions on the citizen, all of which must hold."""

    ids: set[int] | None = None  # asked for by _id: each is its own gate decision
    filters: list[Q] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # the parameters used, for the audit entry


def cpr_in_query(query: Any) -> bool:
    """A CPR number in a query string: asked by identifier, or anything shaped like one."""
    if any(key.split(":", 1)[0] == "identifier" for key in query):
        return True
    return any(
        CPR_LIKE.search(key) or any(CPR_LIKE.search(str(v)) for v in query.getlist(key))
        for key in query
    )


def patient_search_refused_in_url(*, actor: Actor, purpose: str) -> InvalidInput:
    """A CPR number came in a URL: refused and, as every denied attempt, audited
    (R9) — without resolving the number to a citizen."""
    audit_record(
        actor=actor,
        action=Action.SEARCH,
        purpose=purpose,
        citizen_id=None,
        outcome=Outcome.DENIED,
        resource_type="Patient",
        reason_code="cpr_in_url",
    )
    return InvalidInput(
        "search.use_post",
        "A CPR number never goes in a URL. Search by CPR with POST /fhir/Patient/_search, "
        f"identifier={CPR_SYSTEM}|<CPR number> in the form body "
        "(application/x-www-form-urlencoded); name, birthdate, gender and _id may be "
        "searched with GET.",
        field="identifier",
    )


def parse_patient_search(query: Any) -> PatientSearch:
    """``_id``, ``name``/``family``/``given`` (``:exact``, ``:contains``),
    ``birthdate`` (with eq/ne/gt/lt/ge/le/sa/eb) and ``gender``. A comma is OR,
    a repeated parameter AND, as in FHIR."""
    parsed = PatientSearch()
    for key in sorted(query):
        base, _, modifier = key.partition(":")
        if base == "_format" and not all("json" in v for v in query.getlist(key)):
            raise InvalidInput(
                "search.param_invalid", "The platform answers in FHIR JSON.", field="_format"
            )
        if base in PRESENTATION_PARAMS:
            continue
        if base not in PATIENT_SEARCH_PARAMS:
            raise InvalidInput(
                "search.param_unknown",
                f"Unsupported search parameter: {base[:30]}. Patient is searched by "
                f"{', '.join(sorted(PATIENT_SEARCH_PARAMS))}.",
                field=base[:30],
            )
        if modifier and (base not in PATIENT_STRING_PARAMS or modifier not in STRING_MODIFIERS):
            raise InvalidInput(
                "search.modifier_unsupported",
                f"{base} takes no :{modifier[:20]} here (name, family and given take "
                ":exact and :contains).",
                field=key[:40],
            )
        if base in ("_count", "_offset"):
            continue
        parsed.names.append(base)
        for value in query.getlist(key):
            ors = [part.strip() for part in str(value).split(",") if part.strip()]
            if not ors:
                raise InvalidInput("search.param_invalid", f"{base} needs a value.", field=base)
            if base == "_id":
                if not all(part.isdigit() and len(part) <= 18 for part in ors):
                    raise InvalidInput(
                        "search.param_invalid", "_id is a Patient id (digits).", field="_id"
                    )
                ids = {int(part) for part in ors}
                parsed.ids = ids if parsed.ids is None else parsed.ids & ids
                continue
            either = Q()
            for part in ors:
                if base == "birthdate":
                    either |= _birthdate_q(part)
                elif base == "gender":
                    # A citizen's legal sex is female or male; other and unknown match none.
                    either |= Q(sex=part.removeprefix(f"{GENDER_SYSTEM}|"))
                else:
                    either |= _string_q(base, modifier, part)
            parsed.filters.append(either)
    if parsed.ids is not None and len(parsed.ids) > MAX_IDS:
        raise InvalidInput(
            "search.param_invalid", f"At most {MAX_IDS} ids in one search.", field="_id"
        )
    return parsed


def _string_q(element: str, modifier: str, value: str) -> Q:
    fields = {"family": ("family_name",), "given": ("given_name",)}.get(
        element, ("family_name", "given_name")
    )
    q = Q()
    for name in fields:
        if modifier == "exact":
            q |= Q(**{name: value})
        elif modifier == "contains":
            q |= Q(**{f"{name}__icontains": value})
        else:
            # FHIR's default: the start of the name, or of any word in it.
            q |= (
                Q(**{f"{name}__istartswith": value})
                | Q(**{f"{name}__icontains": f" {value}"})
                | Q(**{f"{name}__icontains": f"-{value}"})
            )
    return q


BIRTHDATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")


def _birthdate_q(value: str) -> Q:
    prefix = value[:2] if value[:2] in BIRTHDATE_PREFIXES else "eq"
    raw = value[2:] if value[:2] in BIRTHDATE_PREFIXES else value
    try:
        if len(raw) == 4:
            start = dt.date(int(raw), 1, 1)
            end = dt.date(start.year + 1, 1, 1)
        elif len(raw) == 7:
            start = dt.date(int(raw[:4]), int(raw[5:7]), 1)
            end = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
        else:
            start = dt.date.fromisoformat(raw)
            end = start + dt.timedelta(days=1)
    except ValueError:
        raise InvalidInput(
            "search.date_invalid",
            "birthdate is [prefix]YYYY, YYYY-MM or YYYY-MM-DD, e.g. ge1940-01-01.",
            field="birthdate",
        ) from None
    return {
        "eq": Q(birth_date__gte=start, birth_date__lt=end),
        "ne": ~Q(birth_date__gte=start, birth_date__lt=end),
        "gt": Q(birth_date__gte=end),
        "sa": Q(birth_date__gte=end),
        "lt": Q(birth_date__lt=start),
        "eb": Q(birth_date__lt=start),
        "ge": Q(birth_date__gte=start),
        "le": Q(birth_date__lt=end),
    }[prefix]


def patient_search(
    *, actor: Actor, params: PatientSearch, purpose: str, count: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Citizens matching ``params`` among those the gate lets the actor see, and
    how many — never counting a hidden one. Asked by ``_id``, each citizen is one
    gate decision (a refusal audited as such); otherwise the search runs over the
    visible citizens and every citizen shown is audited (an emergency access
    where only an override showed the citizen)."""
    overrides: dict[int, Decision] = {}
    if params.ids is not None:
        permitted: list[int] = []
        for citizen_id in sorted(params.ids):
            try:
                access_citizen(
                    actor=actor,
                    citizen_id=citizen_id,
                    action=Action.SEARCH,
                    category=CATEGORY_PATIENT,
                    purpose=purpose,
                    resource_type="Patient",
                    detail={"params": params.names},
                )
            except NotFoundOrNotAllowed:
                continue  # an empty result, exactly as for an unknown id
            permitted.append(citizen_id)
        qs = Citizen.objects.filter(pk__in=permitted)
    else:
        if actor.role not in CLINICAL_ROLES or purpose not in PERMITTED_PURPOSES[actor.role]:
            audit_record(
                actor=actor,
                action=Action.SEARCH,
                purpose=purpose,
                citizen_id=None,
                outcome=Outcome.DENIED,
                resource_type="Patient",
                reason_code="role_not_permitted"
                if actor.role not in CLINICAL_ROLES
                else "purpose_not_permitted",
            )
            return [], 0
        visible = visible_record(actor=actor, category=CATEGORY_PATIENT, purpose=purpose)
        qs = visible.citizens.exclude(pk__in=visible.refused)
        overrides = visible.overrides
    for condition in params.filters:
        qs = qs.filter(condition)
    total = qs.count()
    page = list(
        qs.select_related("municipality", "gp_practice").order_by(
            "family_name", "given_name", "pk"
        )[offset : offset + count]
    )
    if params.ids is None:
        # As for record searches: whom the override alone let into the total
        # is disclosed too (that such a citizen exists), and is an emergency access.
        counted = (
            list(qs.filter(pk__in=list(overrides)).order_by().values_list("pk", flat=True))
            if overrides
            else []
        )
        if page or counted:
            audit_listed(
                actor=actor,
                action=Action.SEARCH,
                purpose=purpose,
                citizen_ids=[*(c.pk for c in page), *sorted(counted)],
                overrides=overrides,
                category=CATEGORY_PATIENT,
                resource_type="Patient",
                detail={"params": params.names},
            )
    return [patient_resource(c) for c in page], total


def _everything_query(
    citizen_id: int, hidden: dict[int, tuple[HiddenPeriod, ...]] | None = None
) -> QuerySet[RecordResource, tuple[Any, ...]]:
    return (
        without_hidden_data(RecordResource.objects.filter(citizen_id=citizen_id), hidden or {})
        .order_by("category", "-effective_at", "-pk")
        .values_list(*RECORD_JSON_FIELDS)
    )


# A citizen with no data period refused: the query every nurse's summary
# makes, compiled once (core/sql.py). The stand-in is no citizen's id.
_EVERYTHING = CompiledQuery(_everything_query, -7_349_221_877)


def patient_everything(*, actor: Actor, citizen_id: str, purpose: str) -> list[dict[str, Any]]:
    """The consent-filtered summary a nurse reads before a visit: the Patient and
    every resource of the shared record, newest first, one audited decision."""
    citizen = access_citizen(
        actor=actor,
        citizen_id=int(citizen_id) if citizen_id.isdigit() else -1,
        action=Action.READ,
        category=CATEGORY_SUMMARY,
        purpose=purpose,
        resource_type="Patient",
        resource_id=citizen_id,
        detail={"operation": "$everything"},
    )
    hidden = _hidden_for(citizen)
    # Plain rows, not model instances: this is the page a nurse opens before every visit.
    if connection.vendor == "postgresql" and not hidden:
        rows = _EVERYTHING.rows(citizen.pk, binary=True)  # bodies arrive parsed
    else:
        rows = list(_everything_query(citizen.pk, hidden))
    records = [record_json(*row) for row in rows]
    return [patient_resource(citizen), *records]


def _consents(citizen_id: int) -> QuerySet[ConsentDirective]:
    return (
        ConsentDirective.objects.filter(citizen_id=citizen_id)
        .select_related("withdrawal", "recorded_by", "recorded_by_organisation")
        .prefetch_related("recipient_organisations", "recipient_users")
        .order_by("-recorded_at", "-pk")
    )


def consent_read(*, actor: Actor, consent_id: str, purpose: str) -> dict[str, Any]:
    citizen_id = (
        ConsentDirective.objects.filter(pk=int(consent_id) if consent_id.isdigit() else -1)
        .values_list("citizen_id", flat=True)
        .first()
    )
    access_citizen(
        actor=actor,
        citizen_id=citizen_id if citizen_id is not None else -1,
        action=Action.READ,
        category=CATEGORY_CONSENT,
        purpose=purpose,
        resource_type="Consent",
        resource_id=consent_id,
    )
    return consent_resource(_consents(citizen_id or -1).get(pk=int(consent_id)))


def consent_search(*, actor: Actor, patient: str, purpose: str) -> list[dict[str, Any]]:
    """A citizen's refusals and consents, withdrawn ones included (history kept)."""
    try:
        access_citizen(
            actor=actor,
            citizen_id=int(patient) if patient.isdigit() else -1,
            action=Action.SEARCH,
            category=CATEGORY_CONSENT,
            purpose=purpose,
            resource_type="Consent",
        )
    except NotFoundOrNotAllowed:
        return []
    return [consent_resource(d) for d in _consents(int(patient))]


# --- Insight report (R5, *Min Log*) --------------------------------------------


@dataclass
class InsightReport:
    citizen: Citizen
    generated_at: dt.datetime
    since: dt.datetime
    holdings: list[dict[str, Any]]
    resources: list[RecordResource]
    consents: list[ConsentDirective]
    accesses: list[Disclosure]
    break_glasses: list[BreakGlass]


def insight_report(
    *, actor: Actor, citizen_id: int, at: dt.datetime | None = None
) -> InsightReport:
    """What the record holds (by category and source) and every access and
    disclosure of the two years up to ``at`` (now), break-the-glass flagged."""
    citizen = access_citizen(
        actor=actor,
        citizen_id=citizen_id,
        action=Action.EXPORT,
        category=CATEGORY_INSIGHT,
        purpose=Purpose.AUDIT,
        resource_type="Patient",
        resource_id=str(citizen_id),
        detail={"operation": "insight"},
    )
    now = at or timezone.now()
    since = now - dt.timedelta(days=365 * INSIGHT_YEARS)
    holdings: list[dict[str, Any]] = [
        {**row, "category_label": DataCategory(row["category"]).label}
        for row in RecordResource.objects.filter(citizen=citizen)
        .values("category", "source_organisation__name")
        .annotate(count=Count("pk"))
        .order_by("category", "source_organisation__name")
    ]
    accesses = [
        d
        for d in audit_entries_for_citizen(citizen_id=citizen.pk, since=since)
        if d.outcome == "permitted" and d.at <= now
    ]
    return InsightReport(
        citizen=citizen,
        generated_at=now,
        since=since,
        holdings=holdings,
        resources=list(
            RecordResource.objects.filter(citizen=citizen)
            .select_related("source_organisation")
            .order_by("category", "-effective_at")
        ),
        consents=list(_consents(citizen.pk)),
        accesses=accesses,
        break_glasses=list(
            BreakGlass.objects.filter(citizen=citizen, started_at__gte=since, started_at__lte=now)
            .select_related("user", "organisation")
            .order_by("-started_at")
        ),
    )


def _audit_events(report: InsightReport) -> list[dict[str, Any]]:
    """The accesses as AuditEvents (the audit log's own mapping); overrides are
    flagged so the citizen sees them."""
    entries = AuditEntry.objects.filter(pk__in=[d.entry_id for d in report.accesses]).order_by(
        "-recorded_at", "-id"
    )
    events = []
    for entry in entries:
        event = audit_event_resource(entry)
        if (
            entry.action == Action.BREAK_GLASS
            or entry.purpose == Purpose.EMERGENCY
            or entry.reason_code == "break_glass"
        ):
            event.setdefault("subtype", []).append(
                {"system": "urn:tvaerakut:audit-flag", "code": "break-the-glass"}
            )
        events.append(event)
    return events


def insight_bundle(report: InsightReport) -> dict[str, Any]:
    """The insight report as a FHIR collection Bundle: Patient, the record,
    the citizen's directives, and one AuditEvent per access."""
    resources: list[dict[str, Any]] = [
        patient_resource(report.citizen),
        *(record_resource(r) for r in report.resources),
        *(consent_resource(d) for d in report.consents),
        *_audit_events(report),
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": report.generated_at.isoformat(),
        "entry": [
            {"fullUrl": f"urn:tvaerakut:{r['resourceType']}/{r['id']}", "resource": r}
            for r in resources
        ],
    }
