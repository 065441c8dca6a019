"""The shared record's resources over FHIR. What comes in is checked against R2
before anything else: a resource must carry one permitted data category
(``meta.tag`` in :data:`CATEGORY_SYSTEM`), be of the type that category uses,
and hold nothing outside it — no psychiatric diagnosis in any coding anywhere
in it (:mod:`consent.fhir.codings`), no hospital contact with more than the
department, the period and the class. What goes out is rebuilt from the stored
body plus ``id``, ``meta`` (versionId, lastUpdated, the category tag) and the
source organisation extension.

The municipal help a citizen receives (home help, personal care, home
nursing) is an **EpisodeOfCare**: it is about one patient, runs over a
period, is managed by an organisation (the municipality or its home nursing)
and is typed by the service — which is exactly what the shared record holds.
HealthcareService describes an offer, not a citizen's help, and
ServiceRequest/Task are what ``acute`` uses for referrals and assignments.

One module, longer than most: it is R2 as the shared record's FHIR resources
meet it, checked on the way in and rebuilt on the way out, and both ways
must agree on the same categories, types and elements.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy

from consent.classifications import classification_of, system_key
from consent.fhir.codings import (
    DIAGNOSIS_SYSTEMS_LABEL,
    DIAGNOSIS_SYSTEMS_TEXT,
    CodedValue,
    coded_at,
    coded_values,
    judge_codings,
    judge_free_text,
    main_diagnosis,
    stored_code,
)
from consent.fhir.datatypes import (
    RecordRefused,
    codings,
    instant,
    reference_id,
    validated_model,
)
from consent.models import DataCategory, RecordResource
from core.cpr import CPR_SYSTEM, is_replacement_cpr_system, normalise_replacement_cpr
from core.errors import InvalidInput
from core.fhir.references import LocalReference, reference_targets_checked
from core.times import fhir_instant

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
# What a contact's class may not be, in the reader's language (core.messages).
CLASS_OUTSIDE = gettext_lazy("a class outside %(system)s")
# A contact's class is the kind of contact (ambulatory, inpatient, emergency …).
ENCOUNTER_CLASS_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# The kinds of contact (HL7 v3 ActEncounterCode) with HL7's display for each:
# a class is one of them, and a display beside the code is that one, never
# a free text (the reason for the contact) carried along with the count.
ENCOUNTER_CLASSES = {
    "AMB": "ambulatory",
    "EMER": "emergency",
    "FLD": "field",
    "HH": "home health",
    "IMP": "inpatient encounter",
    "ACUTE": "inpatient acute",
    "NONAC": "inpatient non-acute",
    "OBSENC": "observation encounter",
    "PRENC": "pre-admission",
    "SS": "short stay",
    "VR": "virtual",
}
CLASS_NOT_A_KIND = gettext_lazy("a class that is not a kind of contact (%(codes)s)")
# What each element of a contact may hold: the department named by its
# reference, the period's bounds, the class's code. A display, an identifier
# or an element id beside them is text the count does not need.
ENCOUNTER_ELEMENT_PARTS = {
    "class": frozenset({"system", "version", "code", "display", "userSelected"}),
    "serviceProvider": frozenset({"reference", "type"}),
    "period": frozenset({"start", "end"}),
}
# A nursing problem is not a diagnosis: a Condition saying it is one is a
# diagnosis, shared as somatic-diagnosis and judged as one (R2).
DIAGNOSIS_CONDITION_CATEGORIES = frozenset({"encounter-diagnosis"})
# What of a plan's activity is a medicine: the product and its amounts.
# Medication is not among the permitted categories, and a product (an
# antipsychotic, say) tells what the diagnosis R2 refuses would.
MEDICATION_DETAIL_ELEMENTS = (
    "productCodeableConcept",
    "productReference",
    "dailyAmount",
    "quantity",
)
# What a record resource may contain: the conditions a plan, an episode or a
# problem addresses, a plan's goals, and who wrote or carries it out (staff and
# organisations, not the citizen). Anything else (a medication, an
# observation, the citizen or a relative) is data outside the permitted
# categories.
CONTAINED_TYPES = frozenset(
    {"Condition", "Goal", "Organization", "Practitioner", "PractitionerRole"}
)


@dataclass
class ParsedResource:
    resource_type: str
    category: str
    body: dict[str, Any]
    citizen_ref: tuple[
        str, str
    ]  # ("id", "12"), ("cpr", "...") or ("replacement_cpr", "system|value")
    code_system: str
    code: str
    effective_at: dt.datetime | None
    source_organisation_id: int | None = None  # serviceProvider for hospital contacts
    # The references to this server's resources, looked up once the gate let the writer in.
    references: list[LocalReference] = dataclasses.field(default_factory=list)


def _category_of(data: dict[str, Any]) -> str:
    # Read before the resource is validated (R2 is judged first): each step
    # checks the shape it reads.
    meta = data.get("meta") or {}
    if not isinstance(meta, dict):
        raise InvalidInput("fhir.invalid", "meta must be an object (Meta).", field="meta")
    given = meta.get("tag") or []
    if not isinstance(given, list) or not all(isinstance(t, dict) for t in given):
        raise InvalidInput(
            "fhir.invalid", "meta.tag must be a list of Coding objects.", field="meta.tag"
        )
    tags = [t for t in given if t.get("system") == CATEGORY_SYSTEM]
    if not tags:
        raise RecordRefused(
            "record.category_missing",
            f"every resource must carry its data category as meta.tag in {CATEGORY_SYSTEM}.",
            field="meta.tag",
            params={"system": CATEGORY_SYSTEM},
        )
    if not all(isinstance(t.get("code"), str) for t in tags):
        raise InvalidInput("fhir.invalid", "meta.tag.code must be a string.", field="meta.tag")
    codes = {t["code"] for t in tags}
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
            params={"category": repr(str(code)[:40]), "allowed": ", ".join(DataCategory.values)},
        )
    return str(code)


def _subject(data: dict[str, Any], field: str) -> tuple[str, str]:
    ref = data.get(field)
    if not isinstance(ref, dict):
        raise InvalidInput(
            "record.subject_required",
            f"{field} is required.",
            field=field,
            params={"element": field},
        )
    identifier = ref.get("identifier") or {}
    if identifier.get("system") == CPR_SYSTEM and identifier.get("value"):
        return ("cpr", str(identifier["value"]))
    if is_replacement_cpr_system(identifier.get("system")) and identifier.get("value"):
        try:
            number = normalise_replacement_cpr(identifier["value"], identifier["system"])
        except InvalidInput as exc:
            raise InvalidInput(exc.code, exc.message, field=field, params=exc.params) from None
        return ("replacement_cpr", f"{number.system}|{number.value}")
    return ("id", reference_id(ref, "Patient", field))


def clinical_date(resource_type: str, body: dict[str, Any]) -> dt.datetime | None:
    """The clinically relevant date of a record resource (searches by ``date``,
    analyses, and refusals by data period match it)."""
    if resource_type == "Condition":
        field = "onsetDateTime" if body.get("onsetDateTime") else "recordedDate"
        return instant(body.get(field), field=f"Condition.{field}")
    period_start = (body.get("period") or {}).get("start")
    if resource_type == "CarePlan" and not period_start:
        return instant(body.get("created"), field="CarePlan.created")
    return instant(period_start, field=f"{resource_type}.period.start")


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
            params={"type": resource_type[:40]},
        )
    category = _category_of(data)
    wanted = TYPE_BY_CATEGORY[DataCategory(category)]
    if resource_type != wanted:
        raise RecordRefused(
            "record.category_type_mismatch",
            f"category {category} is held as {wanted}, not {resource_type}.",
            field="resourceType",
            params={"category": category, "wanted": wanted, "type": str(resource_type)[:40]},
        )
    validated = validated_model(data, expected_type=expected_type)
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
    _check_contained(body, str(resource_type))
    references = check_reference_targets(body, type(validated))
    _check_no_cpr_inside(body, str(resource_type))
    _check_free_text(body, str(resource_type))
    code_system, code = "", ""
    source_id: int | None = None
    if resource_type == "Condition":
        own = coded_at(values, r"Condition\.code\.coding\[[0-9]+\]")
        if category == DataCategory.SOMATIC_DIAGNOSIS:
            main = main_diagnosis(own)
            if main is None:
                raise RecordRefused(
                    "record.diagnosis_code_required",
                    f"Condition.code needs a code in {DIAGNOSIS_SYSTEMS_TEXT}, "
                    "or it cannot be judged.",
                    field="Condition.code",
                    params={"element": "Condition.code", "systems": DIAGNOSIS_SYSTEMS_LABEL},
                )
            code_system, code = stored_code(main)
        else:
            _check_not_a_diagnosis(values)
            if not own and not (body.get("code") or {}).get("text"):
                raise InvalidInput(
                    "record.code_required",
                    "A nursing problem needs a code or a text.",
                    field="code",
                )
            if own:
                code_system, code = stored_code(own[0])
        subject = _subject(body, "subject")
    elif resource_type == "EpisodeOfCare":
        services = [
            c
            for concept in body.get("type") or []
            for c in codings(concept)
            if c.get("system") == MUNICIPAL_SERVICE_SYSTEM
        ]
        if not services or services[0].get("code") not in MUNICIPAL_SERVICES:
            raise RecordRefused(
                "record.service_not_permitted",
                "every type of municipal help is one of "
                f"{', '.join(MUNICIPAL_SERVICES)} in {MUNICIPAL_SERVICE_SYSTEM}.",
                field="type",
                params={
                    "services": ", ".join(MUNICIPAL_SERVICES),
                    "system": MUNICIPAL_SERVICE_SYSTEM,
                },
            )
        _check_every_service(body)
        code_system, code = MUNICIPAL_SERVICE_SYSTEM, str(services[0]["code"])
        subject = _subject(body, "patient")
    elif resource_type == "CarePlan":
        _check_no_medication(body)
        plan_categories = coded_at(values, r"CarePlan\.category\[[0-9]+\]\.coding\[[0-9]+\]")
        if plan_categories:
            code_system, code = stored_code(plan_categories[0])
        subject = _subject(body, "subject")
    else:  # Encounter: a contact with one hospital department
        extra = sorted(set(body) - ENCOUNTER_ELEMENTS - {"extension"})
        if extra:
            raise RecordRefused(
                "record.contact_detail_not_permitted",
                "a hospital contact holds only department, period, class and status; "
                f"not {', '.join(extra)}.",
                field=extra[0],
                params={"elements": ", ".join(extra)},
            )
        _check_contact_elements(body)
        source_id = int(
            reference_id(body.get("serviceProvider"), "Organization", "serviceProvider")
        )
        code_system, code = "Organization", str(source_id)
        subject = _subject(body, "subject")
    return ParsedResource(
        resource_type=str(resource_type),
        category=category,
        body=body,
        citizen_ref=subject,
        code_system=code_system,
        code=code,
        effective_at=clinical_date(str(resource_type), body),
        source_organisation_id=source_id,
        references=references,
    )


def check_reference_targets(
    body: dict[str, Any], model: type[Any], local: dict[str, str] | None = None
) -> list[LocalReference]:
    """Every Reference in ``body`` names a resource of a type its element
    takes (``Condition.encounter`` an Encounter): one that names another is
    refused, never stored as if it named what the element means. In a
    transaction ``local`` gives each entry's fullUrl its type. The
    references to this server's resources are handed back, for the write to
    look each up once the gate has let it at the citizen."""
    return reference_targets_checked(body, model, local)


def _check_contained(body: dict[str, Any], resource_type: str) -> None:
    for index, item in enumerate(body.get("contained") or []):
        kind = str(item.get("resourceType"))
        if kind not in CONTAINED_TYPES:
            raise RecordRefused(
                "record.contained_not_permitted",
                f"a {kind[:40]} is not part of the shared record; a record resource contains "
                f"only {', '.join(sorted(CONTAINED_TYPES))}.",
                field=f"{resource_type}.contained[{index}]",
                params={"kind": kind[:40], "allowed": ", ".join(sorted(CONTAINED_TYPES))},
            )


def _is_cpr_system(system: object) -> bool:
    return isinstance(system, str) and (
        system_key(system) == system_key(CPR_SYSTEM) or is_replacement_cpr_system(system.strip())
    )


def _elements(
    node: Any,
    where: str,
    *,
    member: str | None = None,
    leave_out: Callable[[dict[str, Any], str], bool] | None = None,
) -> Iterator[tuple[str | None, Any, str]]:
    """Every element of a resource's JSON from ``node`` down, each before what
    it holds: its member name (None for a list's items), the element, and
    where it stands (``Condition.note[0].text``). A member ``leave_out(object,
    name)`` picks is passed over with all it holds."""
    yield member, node, where
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _elements(item, f"{where}[{index}]", leave_out=leave_out)
    elif isinstance(node, dict):
        for key, value in node.items():
            if leave_out is None or not leave_out(node, key):
                yield from _elements(value, f"{where}.{key}", member=key, leave_out=leave_out)


def _check_no_cpr_inside(body: dict[str, Any], resource_type: str) -> None:
    """A CPR number names the citizen in ``subject``/``patient`` only, where it
    is resolved and replaced by the citizen's id. Anywhere else it would be
    stored and shown to every reader of the record (a person's identity is
    the Patient's category, behind its own gate)."""
    own = "patient" if resource_type == "EpisodeOfCare" else "subject"
    for key, value in body.items():
        if key == own:
            continue
        for _member, node, where in _elements(value, f"{resource_type}.{key}"):
            if isinstance(node, dict) and _is_cpr_system(node.get("system")):
                raise RecordRefused(
                    "record.cpr_not_permitted",
                    "a CPR number names the citizen in the resource's "
                    f"{own} only, never elsewhere in it.",
                    field=where,
                    params={"element": own},
                )


# What is a machine's value, not text a person wrote: a code is judged by its
# system (F70 is the eye in ICPC-2), a system, reference or id names things.
MACHINE_ELEMENTS = frozenset({"system", "code", "url", "reference", "id", "version", "language"})


def _check_free_text(body: dict[str, Any], resource_type: str) -> None:
    """R2 on what a person wrote: a psychiatric diagnosis code in any text
    (``text``, ``note[].text``, a narrative, a description, a coding's
    display) is refused as the coded one is. The display of a coding in a
    classification R2 knows is its code's name and judged with the code."""
    for key, value in body.items():
        if key in MACHINE_ELEMENTS:
            continue
        for _member, node, where in _elements(
            value, f"{resource_type}.{key}", leave_out=_not_written_by_a_person
        ):
            if isinstance(node, str):
                judge_free_text(node, element=where)


def _not_written_by_a_person(node: dict[str, Any], key: str) -> bool:
    """A member that is a machine's value, or a coding's display in a
    classification R2 knows (its code's name, judged with the code)."""
    if key in MACHINE_ELEMENTS:
        return True
    system = node.get("system")
    return key == "display" and isinstance(system, str) and classification_of(system) is not None


def _check_not_a_diagnosis(values: list[CodedValue]) -> None:
    """A nursing problem whose category says it is a diagnosis is one: shared
    under nursing-problem it would escape the judging of its code (a
    psychiatric disorder coded in SNOMED CT, say)."""
    for value in coded_at(values, r"Condition\.category\[[0-9]+\]\.coding\[[0-9]+\]"):
        if (
            system_key(value.system) == system_key(CONDITION_CATEGORY_SYSTEM)
            and value.code.strip() in DIAGNOSIS_CONDITION_CATEGORIES
        ):
            raise RecordRefused(
                "record.nursing_problem_is_diagnosis",
                f"{value.expression} says the condition is a diagnosis; a diagnosis is "
                f"shared as {DataCategory.SOMATIC_DIAGNOSIS.value}, coded in "
                f"{DIAGNOSIS_SYSTEMS_TEXT}.",
                field=value.expression,
                params={
                    "element": value.expression,
                    "category": DataCategory.SOMATIC_DIAGNOSIS.value,
                    "systems": DIAGNOSIS_SYSTEMS_LABEL,
                },
            )


def _check_no_medication(body: dict[str, Any]) -> None:
    """A care plan's activities say what is done, not which medicine is given:
    medication is outside the permitted categories."""
    for index, activity in enumerate(body.get("activity") or []):
        detail = activity.get("detail") or {}
        for element in MEDICATION_DETAIL_ELEMENTS:
            if element in detail:
                where = f"CarePlan.activity[{index}].detail.{element}"
                raise RecordRefused(
                    "record.medication_not_permitted",
                    f"{where} is a medicine; medication is not part of the shared record.",
                    field=where,
                    params={"element": where},
                )


def _check_every_service(body: dict[str, Any]) -> None:
    """Every type of municipal help is one R2 permits: another service in the
    same resource (social psychiatry, say) would be shared beside it."""
    for index, concept in enumerate(body.get("type") or []):
        found = [c for c in codings(concept) if c.get("system") == MUNICIPAL_SERVICE_SYSTEM]
        if not found or any(c.get("code") not in MUNICIPAL_SERVICES for c in found):
            raise RecordRefused(
                "record.service_not_permitted",
                "every type of municipal help is one of "
                f"{', '.join(MUNICIPAL_SERVICES)} in {MUNICIPAL_SERVICE_SYSTEM}.",
                field=f"EpisodeOfCare.type[{index}]",
                params={
                    "services": ", ".join(MUNICIPAL_SERVICES),
                    "system": MUNICIPAL_SERVICE_SYSTEM,
                },
            )


def _check_contact_elements(body: dict[str, Any]) -> None:
    """A hospital contact's elements carry nothing beside them: no extension
    (a reason, a diagnosis) on any of them, and a class that is the kind of
    contact, not a code of some other system."""
    if body.get("extension"):
        raise RecordRefused(
            "record.contact_detail_not_permitted",
            "a hospital contact holds only department, period, class and status; no extensions.",
            field="Encounter.extension[0]",
        )
    for key in sorted(ENCOUNTER_ELEMENTS & set(body)):
        for member, _node, where in _elements(body[key], f"Encounter.{key}"):
            if member is not None and (
                member in ("extension", "modifierExtension") or member.startswith("_")
            ):
                raise RecordRefused(
                    "record.contact_detail_not_permitted",
                    "a hospital contact holds only department, period, class and "
                    "status; no extensions on them.",
                    field=where,
                )
    for key, parts in ENCOUNTER_ELEMENT_PARTS.items():
        value = body.get(key)
        extra = sorted(set(value) - parts) if isinstance(value, dict) else []
        if extra:
            where = f"{key}.{extra[0]}"
            raise RecordRefused(
                "record.contact_detail_not_permitted",
                f"a hospital contact holds only department, period, class and status; not {where}.",
                field=f"Encounter.{where}",
                params={"elements": where},
            )
    klass = body.get("class") or {}
    system = klass.get("system")
    if not isinstance(system, str) or system_key(system) != system_key(ENCOUNTER_CLASS_SYSTEM):
        raise RecordRefused(
            "record.contact_detail_not_permitted",
            f"a hospital contact's class is coded in {ENCOUNTER_CLASS_SYSTEM}.",
            field="Encounter.class",
            params={"elements": CLASS_OUTSIDE, "system": ENCOUNTER_CLASS_SYSTEM},
        )
    code = klass.get("code")
    if code not in ENCOUNTER_CLASSES:
        raise RecordRefused(
            "record.contact_detail_not_permitted",
            f"a hospital contact's class is a kind of contact ({', '.join(ENCOUNTER_CLASSES)}).",
            field="Encounter.class.code",
            params={"elements": CLASS_NOT_A_KIND, "codes": ", ".join(ENCOUNTER_CLASSES)},
        )
    display = klass.get("display")
    if display is not None and str(display).strip().lower() != ENCOUNTER_CLASSES[code]:
        raise RecordRefused(
            "record.contact_detail_not_permitted",
            "a hospital contact holds only department, period, class and status; "
            "not class.display.",
            field="Encounter.class.display",
            params={"elements": "class.display"},
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
            "lastUpdated": fhir_instant(updated_at),
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
