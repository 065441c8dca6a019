"""Mapping between the shared record and FHIR R4 (validated with the R4B models).

What comes in is checked against R2 before anything else: a resource must
carry one permitted data category (``meta.tag`` in :data:`CATEGORY_SYSTEM`),
be of the type that category uses, and hold nothing outside it — no
psychiatric diagnosis in any coding anywhere in it, contained resources and
extensions included, each judged by its system (:mod:`consent.classifications`),
no hospital contact with more than the department, the period and the class.
What goes out is rebuilt from the stored body plus
``id``, ``meta`` (versionId, lastUpdated, the category tag) and the source
organisation extension.

The municipal help a citizen receives (home help, personal care, home
nursing) is an **EpisodeOfCare**: it is about one patient, runs over a
period, is managed by an organisation (the municipality or its home nursing)
and is typed by the service — which is exactly what the shared record holds.
HealthcareService describes an offer, not a citizen's help, and
ServiceRequest/Task are what ``acute`` uses for referrals and assignments.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.resource import Resource
from pydantic import BaseModel, ValidationError

from consent.classifications import (
    ICD10,
    ICPC2,
    SKS,
    SKS_DIAGNOSES,
    Classification,
    classification_of,
    is_diagnosis_code,
    is_psychiatric,
    is_valid_code,
    normalised_code,
    system_key,
)
from consent.models import ConsentDirective, DataCategory, RecordResource
from core.cpr import CPR_SYSTEM, cpr_facts, validate_cpr
from core.errors import InvalidInput
from core.fhir.patient import DK_MUNICIPALITY_EXTENSION
from core.models import MUNICIPALITY_CODE_SYSTEM

CATEGORY_SYSTEM = "urn:tvaerakut:data-category"
SOURCE_EXTENSION = "urn:tvaerakut:fhir:source-organisation"
MUNICIPAL_SERVICE_SYSTEM = "urn:tvaerakut:municipal-service"
CONDITION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-category"

# Which resource type each category uses.
TYPE_BY_CATEGORY = {
    DataCategory.SOMATIC_DIAGNOSIS: "Condition",
    DataCategory.NURSING_PROBLEM: "Condition",
    DataCategory.MUNICIPAL_HELP: "EpisodeOfCare",
    DataCategory.CARE_PLAN: "CarePlan",
    DataCategory.HOSPITAL_CONTACT: "Encounter",
}
RECORD_TYPES = frozenset(TYPE_BY_CATEGORY.values())

MUNICIPAL_SERVICES = {
    "home-help": "Praktisk hjælp (home help)",
    "personal-care": "Personlig pleje (personal care)",
    "home-nursing": "Hjemmesygepleje (home nursing)",
}

# R2: a hospital contact is counted per department, nothing more.
ENCOUNTER_ELEMENTS = frozenset(
    {"resourceType", "id", "meta", "status", "class", "subject", "serviceProvider", "period"}
)


class RecordRefused(InvalidInput):
    """Refused at the door by R2 (a 400 naming the rule)."""

    def __init__(self, code: str, message: str, *, field: str | None = None):
        super().__init__(code, f"R2 permitted data only: {message}", field=field, rule="R2")


@dataclass
class ParsedResource:
    resource_type: str
    category: str
    body: dict[str, Any]
    citizen_ref: tuple[str, str]  # ("id", "12") or ("cpr", "...")
    code_system: str
    code: str
    effective_at: dt.datetime | None
    source_organisation_id: int | None = None  # serviceProvider for hospital contacts


def validate_fhir(data: dict[str, Any], *, expected_type: str | None = None) -> dict[str, Any]:
    """R4B validation; the error lists places and reasons, never the values sent."""
    return _validated(data, expected_type=expected_type).model_dump(mode="json", exclude_none=True)


def _validated(data: dict[str, Any], *, expected_type: str | None = None) -> BaseModel:
    resource_type = data.get("resourceType")
    if not isinstance(resource_type, str):
        raise InvalidInput("fhir.invalid", "resourceType is missing.", field="resourceType")
    if expected_type and resource_type != expected_type:
        raise InvalidInput(
            "fhir.type_mismatch",
            f"This endpoint takes {expected_type}, not {resource_type}.",
            field="resourceType",
        )
    try:
        model = get_fhir_model_class(resource_type)
    except KeyError:
        raise RecordRefused(
            "record.type_not_permitted",
            f"resource type {resource_type[:40]!r} is not part of the shared record.",
            field="resourceType",
        ) from None
    try:
        validated: BaseModel = model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or resource_type}: {err['msg']}"
            for err in exc.errors()[:5]
        )
        raise InvalidInput("fhir.invalid", f"Not a valid {resource_type}: {problems}") from None
    return validated


def _codings(concept: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list((concept or {}).get("coding") or [])


# --- R2: every coded value, judged by its system ---------------------------------

DIAGNOSIS_SYSTEMS_TEXT = "ICD-10 (or a national form of it), SKS or ICPC-2"
# Which classification carries a somatic diagnosis's main code, best first:
# ICD-10 is what analyses count by.
MAIN_DIAGNOSIS_ORDER = (ICD10, SKS_DIAGNOSES, SKS, ICPC2)


@dataclass(frozen=True)
class CodedValue:
    """One system/code pair somewhere in a resource (a Coding, or a Quantity's unit)."""

    expression: str  # FHIRPath-like place, e.g. Condition.code.coding[1]
    system: str
    code: str
    is_coding: bool
    # A diagnosis's own code (Condition.code): its system must be one R2 can judge.
    diagnosis: bool


def coded_values(resource: BaseModel, *, diagnosis: bool) -> list[CodedValue]:
    """Every Coding in ``resource`` — contained resources, extensions and
    primitive extensions included — with where it sits. ``diagnosis`` says
    whether the resource's own ``Condition.code`` is a diagnosis; a contained
    Condition's always is."""
    assert isinstance(resource, Resource)
    root = str(resource.get_resource_type())
    return list(_walk(resource, root, diagnosis_at=_diagnosis_place(resource, root, diagnosis)))


def _diagnosis_place(resource: Resource, where: str, diagnosis: bool) -> re.Pattern[str] | None:
    """Where a Condition's own codes sit (``<where>.code.coding[n]``)."""
    if not diagnosis or resource.get_resource_type() != "Condition":
        return None
    return re.compile(re.escape(where) + r"\.code\.coding\[[0-9]+\]")


def _walk(
    node: BaseModel, path: str, *, diagnosis_at: re.Pattern[str] | None
) -> Iterator[CodedValue]:
    fields = type(node).model_fields
    for name, info in fields.items():
        value = getattr(node, name, None)
        if value is None or name == "fhir_comments":
            continue
        # Primitive extensions (``_code``) are addressed as the element itself.
        element = (info.alias or name).lstrip("_")
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            if not isinstance(item, BaseModel):
                continue
            where = f"{path}.{element}[{index}]" if isinstance(value, list) else f"{path}.{element}"
            if isinstance(item, Resource):
                # A contained resource: its own Condition.code is a diagnosis.
                yield from _walk(item, where, diagnosis_at=_diagnosis_place(item, where, True))
                continue
            item_fields = type(item).model_fields
            if isinstance(item, Coding) or ("system" in item_fields and "code" in item_fields):
                yield CodedValue(
                    expression=where,
                    system=str(getattr(item, "system", None) or ""),
                    code=str(getattr(item, "code", None) or ""),
                    is_coding=isinstance(item, Coding),
                    diagnosis=bool(diagnosis_at and diagnosis_at.fullmatch(where)),
                )
            yield from _walk(item, where, diagnosis_at=diagnosis_at)


def judge_codings(values: list[CodedValue]) -> None:
    """R2 on every coded value: a psychiatric code is refused whatever element,
    contained resource or extension carries it; a code that names no system
    cannot be judged; a diagnosis is coded in a classification R2 knows."""
    for value in values:
        classification = classification_of(value.system) if value.system.strip() else None
        if classification and is_psychiatric(classification, normalised_code(value.code)):
            raise RecordRefused(
                "record.psychiatric_diagnosis",
                f"{value.expression} is coded in {classification.psychiatric_label}; "
                "psychiatric diagnoses are not shared.",
                field=value.expression,
            )
    for value in values:
        if not value.system.strip():
            if value.is_coding and (value.code.strip() or value.diagnosis):
                raise RecordRefused(
                    "record.code_system_missing",
                    f"{value.expression} has no system; a code is judged by its system, "
                    "so every coding names it.",
                    field=value.expression,
                )
            continue
        classification = classification_of(value.system)
        if classification is None:
            if value.diagnosis:
                raise RecordRefused(
                    "record.diagnosis_system_unknown",
                    f"{value.expression} is in a system R2 cannot judge; a diagnosis is "
                    f"coded in {DIAGNOSIS_SYSTEMS_TEXT}.",
                    field=value.expression,
                )
            continue
        if not value.code.strip():
            raise RecordRefused(
                "record.diagnosis_code_required",
                f"{value.expression} names {classification.name} but no code, "
                "so it cannot be judged.",
                field=value.expression,
            )
        if not is_valid_code(classification, normalised_code(value.code)):
            raise RecordRefused(
                "record.diagnosis_code_invalid",
                f"{value.expression} is not shaped as a {classification.name} code, "
                "so it cannot be judged.",
                field=value.expression,
            )


def _stored_code(value: CodedValue) -> tuple[str, str]:
    """The main code as the record stores it: a classification's code
    normalised under its normalised system, anything else as sent."""
    classification = classification_of(value.system) if value.system.strip() else None
    if classification is None:
        return value.system.strip(), value.code.strip()
    return system_key(value.system), normalised_code(value.code)


def _at(values: list[CodedValue], place: str) -> list[CodedValue]:
    """The codings sitting exactly at ``place`` (a regular expression)."""
    return [v for v in values if re.fullmatch(place, v.expression)]


def _main_diagnosis(own: list[CodedValue]) -> CodedValue | None:
    """The code a somatic diagnosis is stored, searched and counted by."""
    for wanted in MAIN_DIAGNOSIS_ORDER:
        for value in own:
            found: Classification | None = classification_of(value.system)
            if found is wanted and is_diagnosis_code(found, normalised_code(value.code)):
                return value
    return None


def _category_of(data: dict[str, Any]) -> str:
    tags = [
        t for t in (data.get("meta") or {}).get("tag") or [] if t.get("system") == CATEGORY_SYSTEM
    ]
    if not tags:
        raise RecordRefused(
            "record.category_missing",
            f"every resource must carry its data category as meta.tag in {CATEGORY_SYSTEM}.",
            field="meta.tag",
        )
    codes = {t.get("code") for t in tags}
    if len(codes) != 1:
        raise RecordRefused(
            "record.category_ambiguous",
            "a resource has exactly one data category.",
            field="meta.tag",
        )
    code = codes.pop()
    if code not in DataCategory.values:
        raise RecordRefused(
            "record.category_not_permitted",
            f"{str(code)[:40]!r} is not a permitted category ({', '.join(DataCategory.values)}).",
            field="meta.tag",
        )
    return str(code)


def _reference_id(ref: dict[str, Any] | None, kind: str, field: str) -> str:
    reference = str((ref or {}).get("reference") or "")
    prefix = f"{kind}/"
    if not reference.startswith(prefix) or not reference[len(prefix) :].isdigit():
        raise InvalidInput(
            "record.reference_invalid", f"{field} must reference {kind}/<id>.", field=field
        )
    return reference[len(prefix) :]


def _subject(data: dict[str, Any], field: str) -> tuple[str, str]:
    ref = data.get(field)
    if not isinstance(ref, dict):
        raise InvalidInput("record.subject_required", f"{field} is required.", field=field)
    identifier = ref.get("identifier") or {}
    if identifier.get("system") == CPR_SYSTEM and identifier.get("value"):
        return ("cpr", str(identifier["value"]))
    return ("id", _reference_id(ref, "Patient", field))


def _instant(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value[:10])
        if day is None:
            return None
        parsed = dt.datetime(day.year, day.month, day.day)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, dt.UTC)
    return parsed


def period_bound(value: str | None, *, end: bool, field: str) -> dt.datetime | None:
    """A Period bound as an aware instant. A bare date is a whole Danish calendar
    day: a start is that day's first moment in Copenhagen, an end the first
    moment of the next day (FHIR reads ``end: 2025-03-31`` as "through the
    31st"), so the end is exclusive in the store."""
    if not value:
        return None
    if len(value) <= 10:
        day = parse_date(value) if len(value) == 10 else None
        if day is None:
            raise InvalidInput("fhir.invalid", f"{field} is a date or a date-time.", field=field)
        if end:
            day += dt.timedelta(days=1)
        # The platform's local time zone (settings.TIME_ZONE, Europe/Copenhagen).
        return timezone.make_aware(dt.datetime(day.year, day.month, day.day))
    parsed = _instant(value)
    if parsed is None:
        raise InvalidInput("fhir.invalid", f"{field} is a date or a date-time.", field=field)
    return parsed


def clinical_date(resource_type: str, body: dict[str, Any]) -> dt.datetime | None:
    """The clinically relevant date of a record resource (searches by ``date``,
    analyses, and refusals by data period match it)."""
    if resource_type == "Condition":
        return _instant(body.get("onsetDateTime") or body.get("recordedDate"))
    if resource_type == "CarePlan":
        return _instant((body.get("period") or {}).get("start") or body.get("created"))
    return _instant((body.get("period") or {}).get("start"))


def parse_record_resource(
    data: dict[str, Any], *, expected_type: str | None = None
) -> ParsedResource:
    """Check R2, then validate; return what the store needs."""
    resource_type = data.get("resourceType")
    if isinstance(resource_type, str) and resource_type not in RECORD_TYPES:
        raise RecordRefused(
            "record.type_not_permitted",
            f"{resource_type[:40]} is not part of the shared record.",
            field="resourceType",
        )
    category = _category_of(data)
    wanted = TYPE_BY_CATEGORY[DataCategory(category)]
    if resource_type != wanted:
        raise RecordRefused(
            "record.category_type_mismatch",
            f"category {category} is held as {wanted}, not {resource_type}.",
            field="resourceType",
        )
    validated = _validated(data, expected_type=expected_type)
    # Every coding, wherever it sits, before anything is read from the body.
    values = coded_values(validated, diagnosis=category == DataCategory.SOMATIC_DIAGNOSIS)
    judge_codings(values)
    body = validated.model_dump(mode="json", exclude_none=True)
    extensions = [e for e in body.get("extension") or [] if e.get("url") != SOURCE_EXTENSION]
    body.pop("id", None)
    body.pop("meta", None)
    if extensions:
        body["extension"] = extensions
    else:
        body.pop("extension", None)
    code_system, code = "", ""
    source_id: int | None = None
    if resource_type == "Condition":
        own = _at(values, r"Condition\.code\.coding\[[0-9]+\]")
        if category == DataCategory.SOMATIC_DIAGNOSIS:
            main = _main_diagnosis(own)
            if main is None:
                raise RecordRefused(
                    "record.diagnosis_code_required",
                    f"a somatic diagnosis needs a code in {DIAGNOSIS_SYSTEMS_TEXT}.",
                    field="Condition.code",
                )
            code_system, code = _stored_code(main)
        else:
            if not own and not (body.get("code") or {}).get("text"):
                raise InvalidInput(
                    "record.code_required",
                    "A nursing problem needs a code or a text.",
                    field="code",
                )
            if own:
                code_system, code = _stored_code(own[0])
        subject = _subject(body, "subject")
    elif resource_type == "EpisodeOfCare":
        services = [
            c
            for concept in body.get("type") or []
            for c in _codings(concept)
            if c.get("system") == MUNICIPAL_SERVICE_SYSTEM
        ]
        if not services or services[0].get("code") not in MUNICIPAL_SERVICES:
            raise RecordRefused(
                "record.service_not_permitted",
                "municipal help is typed in "
                f"{MUNICIPAL_SERVICE_SYSTEM} as one of {', '.join(MUNICIPAL_SERVICES)}.",
                field="type",
            )
        code_system, code = MUNICIPAL_SERVICE_SYSTEM, str(services[0]["code"])
        subject = _subject(body, "patient")
    elif resource_type == "CarePlan":
        plan_categories = _at(values, r"CarePlan\.category\[[0-9]+\]\.coding\[[0-9]+\]")
        if plan_categories:
            code_system, code = _stored_code(plan_categories[0])
        subject = _subject(body, "subject")
    else:  # Encounter: a contact with one hospital department
        extra = sorted(set(body) - ENCOUNTER_ELEMENTS - {"extension"})
        if extra:
            raise RecordRefused(
                "record.contact_detail_not_permitted",
                "a hospital contact holds only department, period, class and status; "
                f"not {', '.join(extra)}.",
                field=extra[0],
            )
        source_id = int(
            _reference_id(body.get("serviceProvider"), "Organization", "serviceProvider")
        )
        code_system, code = "Organization", str(source_id)
        subject = _subject(body, "subject")
    return ParsedResource(
        resource_type=str(resource_type),
        category=category,
        body=body,
        citizen_ref=subject,
        code_system=code_system[:100],
        code=code[:64],
        effective_at=clinical_date(str(resource_type), body),
        source_organisation_id=source_id,
    )


def with_subject(body: dict[str, Any], resource_type: str, citizen_id: int) -> dict[str, Any]:
    """The stored body points at the citizen by id, never by CPR number."""
    field = "patient" if resource_type == "EpisodeOfCare" else "subject"
    return {**body, field: {"reference": f"Patient/{citizen_id}"}}


def etag(version_id: int) -> str:
    return f'W/"{version_id}"'


def record_resource(resource: RecordResource, *, source_name: str | None = None) -> dict[str, Any]:
    """The stored resource as FHIR JSON (body already validated when written)."""
    return record_json(
        resource.pk,
        resource.resource_type,
        resource.version_id,
        resource.updated_at,
        resource.category,
        resource.body,
        resource.source_organisation_id,
        source_name if source_name is not None else resource.source_organisation.name,
    )


# What record_json needs, in its order: for lists read as plain rows.
RECORD_JSON_FIELDS = (
    "pk",
    "resource_type",
    "version_id",
    "updated_at",
    "category",
    "body",
    "source_organisation_id",
    "source_organisation__name",
)


_CATEGORY_TAGS = {
    c.value: {"system": CATEGORY_SYSTEM, "code": c.value, "display": c.label} for c in DataCategory
}


def record_json(
    pk: int,
    resource_type: str,
    version_id: int,
    updated_at: dt.datetime,
    category: str,
    body: dict[str, Any],
    source_organisation_id: int,
    source_name: str,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": resource_type,
        "id": str(pk),
        "meta": {
            "versionId": str(version_id),
            "lastUpdated": updated_at.isoformat(),
            "tag": [dict(_CATEGORY_TAGS[category])],
        },
        **body,
    }
    out["extension"] = [
        *(body.get("extension") or []),
        {
            "url": SOURCE_EXTENSION,
            "valueReference": {
                "reference": f"Organization/{source_organisation_id}",
                "display": source_name,
            },
        },
    ]
    return out


# --- Consent -------------------------------------------------------------------

PURPOSE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
# Platform purposes <-> HL7 v3 PurposeOfUse.
PURPOSE_CODES = {
    "treatment": "TREAT",
    "emergency": "ETREAT",
    "operations": "HOPERAT",
    "analysis": "HRESCH",
    "audit": "HSYSADMIN",
}
PURPOSE_BY_CODE = {v: k for k, v in PURPOSE_CODES.items()}
GIVEN_HOW_EXTENSION = "urn:tvaerakut:fhir:consent-given-how"
SUB_UNITS_EXTENSION = "urn:tvaerakut:fhir:consent-include-sub-units"
RECORDED_BY_EXTENSION = "urn:tvaerakut:fhir:recorded-by"
WITHDRAWN_EXTENSION = "urn:tvaerakut:fhir:consent-withdrawn"


def consent_resource(directive: ConsentDirective) -> dict[str, Any]:
    withdrawal = getattr(directive, "withdrawal", None)
    provision: dict[str, Any] = {
        "type": directive.provision,
        "period": {
            "start": directive.period_start.isoformat(),
            **({"end": directive.period_end.isoformat()} if directive.period_end else {}),
        },
    }
    actors = [
        {
            "role": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                        "code": "IRCP",
                    }
                ]
            },
            "reference": {"reference": f"Organization/{o.pk}", "display": o.name},
        }
        for o in directive.recipient_organisations.all()
    ] + [
        {
            "role": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                        "code": "IRCP",
                    }
                ]
            },
            "reference": {"reference": f"Practitioner/{u.pk}", "display": u.display_name},
        }
        for u in directive.recipient_users.all()
    ]
    if actors:
        provision["actor"] = actors
    if directive.data_period_start or directive.data_period_end:
        provision["dataPeriod"] = {
            **(
                {"start": directive.data_period_start.isoformat()}
                if directive.data_period_start
                else {}
            ),
            **({"end": directive.data_period_end.isoformat()} if directive.data_period_end else {}),
        }
    if directive.purposes:
        provision["purpose"] = [
            {"system": PURPOSE_SYSTEM, "code": PURPOSE_CODES[p]} for p in directive.purposes
        ]
    extensions: list[dict[str, Any]] = [
        {"url": GIVEN_HOW_EXTENSION, "valueCode": directive.given_how},
        {"url": SUB_UNITS_EXTENSION, "valueBoolean": directive.include_sub_units},
        {
            "url": RECORDED_BY_EXTENSION,
            "valueReference": {
                "reference": f"Practitioner/{directive.recorded_by_id}",
                "display": directive.recorded_by.display_name,
            },
        },
    ]
    if withdrawal is not None:
        extensions.append(
            {
                "url": WITHDRAWN_EXTENSION,
                "extension": [
                    {"url": "at", "valueDateTime": withdrawal.recorded_at.isoformat()},
                    {"url": "how", "valueCode": withdrawal.given_how},
                    {
                        "url": "by",
                        "valueReference": {
                            "reference": f"Practitioner/{withdrawal.recorded_by_id}"
                        },
                    },
                ],
            }
        )
    return {
        "resourceType": "Consent",
        "id": str(directive.pk),
        "extension": extensions,
        "status": "inactive" if withdrawal is not None else "active",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{directive.citizen_id}"},
        "dateTime": directive.recorded_at.isoformat(),
        "organization": [
            {
                "reference": f"Organization/{directive.recorded_by_organisation_id}",
                "display": directive.recorded_by_organisation.name,
            }
        ],
        "policyRule": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTOUT"}
            ]
        }
        if directive.provision == ConsentDirective.Provision.DENY
        else {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}
            ]
        },
        "provision": provision,
    }


@dataclass
class ParsedConsent:
    citizen_id: str
    provision: str
    organisation_ids: list[int]
    user_ids: list[int]
    purposes: list[str]
    period_start: dt.datetime | None
    period_end: dt.datetime | None
    given_how: str
    include_sub_units: bool
    data_period_start: dt.datetime | None = None
    data_period_end: dt.datetime | None = None


def parse_consent(data: dict[str, Any]) -> ParsedConsent:
    body = validate_fhir(data, expected_type="Consent")
    citizen_id = _reference_id(body.get("patient"), "Patient", "patient")
    provision = body.get("provision") or {}
    kind = provision.get("type") or "deny"
    if kind not in ("deny", "permit"):
        raise InvalidInput("consent.provision_invalid", "provision.type is deny or permit.")
    org_ids: list[int] = []
    user_ids: list[int] = []
    for index, actor in enumerate(provision.get("actor") or []):
        reference = str((actor.get("reference") or {}).get("reference") or "")
        kind_, _, ident = reference.partition("/")
        if kind_ == "Organization" and ident.isdigit():
            org_ids.append(int(ident))
        elif kind_ == "Practitioner" and ident.isdigit():
            user_ids.append(int(ident))
        else:
            raise InvalidInput(
                "consent.actor_invalid",
                "provision.actor references Organization/<id> or Practitioner/<id>.",
                field=f"provision.actor[{index}]",
            )
    purposes = []
    for coding in provision.get("purpose") or []:
        purpose = PURPOSE_BY_CODE.get(coding.get("code", ""))
        if purpose is None:
            raise InvalidInput(
                "consent.purpose_unknown",
                f"provision.purpose codes are {', '.join(PURPOSE_BY_CODE)}.",
                field="provision.purpose",
            )
        purposes.append(purpose)
    extensions = {e.get("url"): e for e in body.get("extension") or []}
    how = (extensions.get(GIVEN_HOW_EXTENSION) or {}).get("valueCode")
    if how not in ("oral", "written"):
        raise InvalidInput(
            "consent.given_how_required",
            f"Say how the citizen gave it: extension {GIVEN_HOW_EXTENSION} = oral or written.",
            field="extension",
        )
    sub_units = (extensions.get(SUB_UNITS_EXTENSION) or {}).get("valueBoolean")
    period = provision.get("period") or {}
    data_period = provision.get("dataPeriod") or {}
    data_start = period_bound(
        data_period.get("start"), end=False, field="provision.dataPeriod.start"
    )
    data_end = period_bound(data_period.get("end"), end=True, field="provision.dataPeriod.end")
    if data_start and data_end and data_end <= data_start:
        raise InvalidInput(
            "consent.data_period_invalid",
            "provision.dataPeriod ends before it starts.",
            field="provision.dataPeriod",
        )
    if (data_start or data_end) and kind != "deny":
        # A consent lifts a refusal for its recipients as a whole; lifting it
        # for some dates only is not modelled, so it is refused rather than
        # silently widened.
        raise InvalidInput(
            "consent.data_period_on_permit",
            "provision.dataPeriod is supported on refusals (provision.type deny) only.",
            field="provision.dataPeriod",
        )
    period_start = period_bound(period.get("start"), end=False, field="provision.period.start")
    period_end = period_bound(period.get("end"), end=True, field="provision.period.end")
    if period_start and period_end and period_end <= period_start:
        raise InvalidInput(
            "consent.period_invalid",
            "provision.period ends before it starts.",
            field="provision.period",
        )
    return ParsedConsent(
        citizen_id=citizen_id,
        provision=kind,
        organisation_ids=org_ids,
        user_ids=user_ids,
        purposes=sorted(set(purposes)),
        period_start=period_start,
        period_end=period_end,
        given_how=how,
        include_sub_units=True if sub_units is None else bool(sub_units),
        data_period_start=data_start,
        data_period_end=data_end,
    )


# --- Patient -------------------------------------------------------------------

GEOLOCATION_EXTENSION = "http://hl7.org/fhir/StructureDefinition/geolocation"


@dataclass
class ParsedPatient:
    """What a Patient written over FHIR says about the citizen. The CPR number
    is held only here and on the citizen; it never goes into a message."""

    cpr: str
    given_name: str
    family_name: str
    address_line: str
    postal_code: str
    city: str
    latitude: Decimal
    longitude: Decimal
    municipality_code: str
    gp_practice_id: int | None
    phone: str
    deceased_at: dt.datetime | None
    id: str | None


def _patient_cpr(body: dict[str, Any]) -> str:
    numbers = [
        i.get("value")
        for i in body.get("identifier") or []
        if i.get("system") == CPR_SYSTEM and i.get("value")
    ]
    if len(numbers) != 1:
        raise InvalidInput(
            "patient.cpr_required",
            f"A Patient carries exactly one CPR number as identifier ({CPR_SYSTEM}).",
            field="identifier",
        )
    try:
        return validate_cpr(numbers[0])
    except InvalidInput as exc:
        # core's message names the problem, never the number.
        raise InvalidInput(exc.code, exc.message, field="identifier") from None


def _geolocation(address: dict[str, Any]) -> tuple[Decimal, Decimal]:
    geo: dict[str, Any] = next(
        (e for e in address.get("extension") or [] if e.get("url") == GEOLOCATION_EXTENSION), {}
    )
    parts = {e.get("url"): e.get("valueDecimal") for e in geo.get("extension") or []}
    try:
        latitude = Decimal(str(parts["latitude"]))
        longitude = Decimal(str(parts["longitude"]))
    except (KeyError, InvalidOperation):
        raise InvalidInput(
            "patient.geolocation_required",
            "The home address needs its position (extension "
            f"{GEOLOCATION_EXTENSION} with latitude and longitude): nurses drive there.",
            field="address.extension",
        ) from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise InvalidInput(
            "patient.geolocation_invalid",
            "latitude is -90..90 and longitude -180..180.",
            field="address.extension",
        )
    return latitude.quantize(Decimal("0.000001")), longitude.quantize(Decimal("0.000001"))


def parse_patient(data: dict[str, Any]) -> ParsedPatient:
    """Validate a Patient (R4B) and read the citizen's facts from it (DK-core:
    CPR identifier, municipality code extension, home address with position)."""
    body = validate_fhir(data, expected_type="Patient")
    cpr = _patient_cpr(body)
    names = body.get("name") or []
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = " ".join(name.get("given") or []).strip()
    family = str(name.get("family") or "").strip()
    if not given or not family:
        raise InvalidInput(
            "patient.name_required", "name needs family and given names.", field="name"
        )
    facts = cpr_facts(cpr)
    if "birthDate" in body and body["birthDate"] != facts.birth_date.isoformat():
        raise InvalidInput(
            "patient.cpr_mismatch",
            "birthDate does not agree with the CPR number; leave it out or correct it.",
            field="birthDate",
        )
    # "other"/"unknown" are accepted; the platform keeps the legal sex the CPR number carries.
    if body.get("gender") in ("male", "female") and body["gender"] != facts.sex:
        raise InvalidInput(
            "patient.cpr_mismatch",
            "gender does not agree with the CPR number; leave it out or correct it.",
            field="gender",
        )
    addresses = body.get("address") or []
    address = next(
        (a for a in addresses if a.get("use") == "home"), addresses[0] if addresses else {}
    )
    line = " ".join(address.get("line") or []).strip()
    postal_code = str(address.get("postalCode") or "").strip()
    city = str(address.get("city") or "").strip()
    if not line or not city or not (len(postal_code) == 4 and postal_code.isdigit()):
        raise InvalidInput(
            "patient.address_required",
            "A home address needs line, a four-digit postalCode and city.",
            field="address",
        )
    latitude, longitude = _geolocation(address)
    municipality = next(
        (
            str(c.get("code") or "")
            for e in body.get("extension") or []
            if e.get("url") == DK_MUNICIPALITY_EXTENSION
            for c in _codings(e.get("valueCodeableConcept"))
            if c.get("system") == MUNICIPALITY_CODE_SYSTEM
        ),
        "",
    )
    if not municipality:
        raise InvalidInput(
            "patient.municipality_required",
            f"The municipality of residence is the extension {DK_MUNICIPALITY_EXTENSION} "
            f"with a code in {MUNICIPALITY_CODE_SYSTEM}.",
            field="extension",
        )
    practitioners = body.get("generalPractitioner") or []
    gp_id = (
        int(_reference_id(practitioners[0], "Organization", "generalPractitioner"))
        if practitioners
        else None
    )
    phone = next(
        (str(t.get("value")) for t in body.get("telecom") or [] if t.get("system") == "phone"), ""
    )
    deceased = body.get("deceasedDateTime")
    return ParsedPatient(
        cpr=cpr,
        given_name=given[:120],
        family_name=family[:120],
        address_line=line[:200],
        postal_code=postal_code,
        city=city[:100],
        latitude=latitude,
        longitude=longitude,
        municipality_code=municipality,
        gp_practice_id=gp_id,
        phone=phone[:32],
        deceased_at=_instant(deceased) if isinstance(deceased, str) else None,
        id=body.get("id"),
    )
