"""R2 on every coded value, judged by its system: a psychiatric code is refused
wherever it sits — any element, contained resources and extensions included —
a code that names no system cannot be judged, and a diagnosis is coded in a
classification R2 knows (:mod:`consent.classifications`). Also which coding a
resource is stored, searched and counted by."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext_lazy, gettext_noop
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.resource import Resource
from pydantic import BaseModel

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
    psychiatric_code_in_text,
    system_key,
)
from consent.fhir.datatypes import RecordRefused
from consent.models import RecordResource
from core.errors import InvalidInput

# English in the error's message; the reader sees DIAGNOSIS_SYSTEMS_LABEL.
DIAGNOSIS_SYSTEMS_TEXT = gettext_noop("ICD-10 (or a national form of it), SKS or ICPC-2")
DIAGNOSIS_SYSTEMS_LABEL = gettext_lazy(DIAGNOSIS_SYSTEMS_TEXT)
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
                params={
                    "element": value.expression,
                    "classification": classification.psychiatric_label_text,
                },
            )
    for value in values:
        if not value.system.strip():
            if value.is_coding and (value.code.strip() or value.diagnosis):
                raise RecordRefused(
                    "record.code_system_missing",
                    f"{value.expression} has no system; a code is judged by its system, "
                    "so every coding names it.",
                    field=value.expression,
                    params={"element": value.expression},
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
                    params={"element": value.expression, "systems": DIAGNOSIS_SYSTEMS_LABEL},
                )
            continue
        if not value.code.strip():
            raise RecordRefused(
                "record.diagnosis_code_required",
                f"{value.expression} needs a code in {classification.name}, "
                "or it cannot be judged.",
                field=value.expression,
                params={"element": value.expression, "systems": classification.name},
            )
        if not is_valid_code(classification, normalised_code(value.code)):
            raise RecordRefused(
                "record.diagnosis_code_invalid",
                f"{value.expression} is not shaped as a {classification.name} code, "
                "so it cannot be judged.",
                field=value.expression,
                params={"element": value.expression, "classification": classification.name},
            )


def judge_free_text(text: str, *, element: str) -> None:
    """R2 on free text that is disclosed beyond the acute function or stored
    in the shared record: a psychiatric diagnosis written as a code (ICD-10
    chapter F, SKS ``DF…``; :data:`consent.classifications.PSYCHIATRIC_CODE_IN_TEXT`)
    is refused as a coded one is. Words are not judged. One function for every
    door: the visit's assessment, the episode's outcome note, the reason for
    declining a referral, a care-thread reply, the shared record's text
    elements."""
    found = psychiatric_code_in_text(text)
    if found is not None:
        raise RecordRefused(
            "record.psychiatric_code_in_text",
            f"the text names the psychiatric diagnosis code {found[:12]}; "
            "psychiatric diagnoses are not shared.",
            field=element,
            params={"code": found[:12]},
        )


def stored_code(value: CodedValue) -> tuple[str, str]:
    """The main code as the record stores it: a classification's code
    normalised under its normalised system, anything else as sent. One
    longer than its column keeps is refused: cut to fit, the resource would
    be searched and counted by another code than the one it carries."""
    classification = classification_of(value.system) if value.system.strip() else None
    if classification is None:
        system, code = value.system.strip(), value.code.strip()
    else:
        system, code = system_key(value.system), normalised_code(value.code)
    for column, text, part in (("code_system", system, "system"), ("code", code, "code")):
        most = getattr(RecordResource._meta.get_field(column), "max_length", None)
        if most is not None and len(text) > most:
            element = f"{value.expression}.{part}"
            raise InvalidInput(
                "record.code_too_long",
                f"{element} holds at most {most} characters; nothing was written.",
                field=element,
                params={"element": element, "most": most},
            )
    return system, code


def coded_at(values: list[CodedValue], place: str) -> list[CodedValue]:
    """The codings sitting exactly at ``place`` (a regular expression)."""
    return [v for v in values if re.fullmatch(place, v.expression)]


def main_diagnosis(own: list[CodedValue]) -> CodedValue | None:
    """The code a somatic diagnosis is stored, searched and counted by."""
    for wanted in MAIN_DIAGNOSIS_ORDER:
        for value in own:
            found: Classification | None = classification_of(value.system)
            if found is wanted and is_diagnosis_code(found, normalised_code(value.code)):
                return value
    return None
