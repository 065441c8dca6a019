"""FHIR R4's own required bindings on ``code`` elements (``Patient.gender``,
``Encounter.status``, ``Consent.status``, ``ContactPoint.system``,
``MessageHeader.response.code`` ...) and on CodeableConcept elements
(``Condition.clinicalStatus`` ...): a code outside its element's value set
is no FHIR, whoever sends it.

The ``fhir.resources`` models declare the codes of each such element
(``enum_values``) but do not hold a value to them, so this is a step of its
own, after the models (and :mod:`core.fhir.shape`, which must take exactly
what the models take) have taken the document. Where the models shorten the
list (``+``: "and more"), the whole of FHIR R4's value set is kept here
(:data:`COMPLETED`). Each model's code elements are read once per process;
a resource is then walked once, following only the elements that lead to one.

The models declare no codes for a CodeableConcept element, so FHIR R4's
required bindings on those are held here (:data:`CONCEPTS`), for the
resource types a write can carry (the shared record's, Patient, Consent,
ServiceRequest, Parameters, their contained resources and MedCom's message
entries): such a concept carries at least one coding of the bound system
with a code of the value set (terminologies.html#required: a text alone, or
codings of other systems only, is not enough).

Every door that takes FHIR asks it: the platform's own writes through
:func:`core.fhir.validation.fhir_validate`, a partner's MedCom message through
its validator (which words what is found as MedCom's rules).
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import BaseModel

# FHIR R4's value sets the models list only in part (``…, "+"``), by model
# and element: the codes of the whole value set.
_ENCOUNTER_STATUS = (
    "planned",
    "arrived",
    "triaged",
    "in-progress",
    "onleave",
    "finished",
    "cancelled",
    "entered-in-error",
    "unknown",
)
COMPLETED: dict[tuple[str, str], tuple[str, ...]] = {
    ("Encounter", "status"): _ENCOUNTER_STATUS,
    ("EncounterStatusHistory", "status"): _ENCOUNTER_STATUS,
    ("Observation", "status"): (
        "registered",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "cancelled",
        "entered-in-error",
        "unknown",
    ),
    ("DiagnosticReport", "status"): (
        "registered",
        "partial",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "appended",
        "cancelled",
        "entered-in-error",
        "unknown",
    ),
}
# FHIR R4's required bindings on CodeableConcept elements, by model and
# element: the value set's one code system and its codes. Of the resource
# types a write can carry, only these bind a CodeableConcept as required;
# the other concepts of those types are bound extensible, preferred or by
# example, which a code of another system satisfies.
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
CONCEPTS: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("Condition", "clinicalStatus"): (
        CONDITION_CLINICAL,
        ("active", "recurrence", "relapse", "inactive", "remission", "resolved"),
    ),
    ("Condition", "verificationStatus"): (
        CONDITION_VER_STATUS,
        ("unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"),
    ),
    ("AllergyIntolerance", "clinicalStatus"): (
        ALLERGY_CLINICAL,
        ("active", "inactive", "resolved"),
    ),
    ("AllergyIntolerance", "verificationStatus"): (
        ALLERGY_VERIFICATION,
        ("unconfirmed", "confirmed", "refuted", "entered-in-error"),
    ),
}
# What of a code outside its value set may be shown: a code's shape only
# (never free text, which may be personal data).
_SHOWN_CODE = re.compile(r"[A-Za-z0-9.\-_+]{1,40}")


@dataclass(frozen=True, slots=True)
class CodeOutside:
    """A code outside FHIR R4's required value set of its element.

    ``path``: the element as a profile names it, from the resource, without
    list positions (``contact.gender``); ``place``: the same element in the
    document, with its resource's type and the positions
    (``Patient.contact[0].gender``); ``allowed``: the value set's codes,
    sorted; ``found``: the code sent where it has a code's shape, else ''
    (never free text); ``system``: for a CodeableConcept element, the code
    system one of its codings must name ('' for a ``code`` element)."""

    resource_type: str
    path: str
    place: str
    allowed: tuple[str, ...]
    found: str = ""
    system: str = ""


class _Codes:
    """Of one model: the codes of each of its code elements (by JSON name),
    and the models of the elements under which one lies."""

    __slots__ = ("children", "codes", "concepts", "keys", "resources")

    def __init__(self) -> None:
        self.codes: dict[str, frozenset[str]] = {}
        # CodeableConcept elements bound as required: their system and codes.
        self.concepts: dict[str, tuple[str, frozenset[str]]] = {}
        self.children: dict[str, _Codes] = {}
        # Elements holding a resource (Bundle.entry.resource, contained).
        self.resources: set[str] = set()
        # The JSON names worth reading: code elements and those leading to one.
        self.keys: frozenset[str] = frozenset()

    def empty(self) -> bool:
        return not (self.codes or self.concepts or self.children or self.resources)


_COMPILED: dict[type[BaseModel], _Codes] = {}


def _element_model(annotation: Any) -> type[BaseModel] | None:
    """The model an element's annotation names (through Optional and List)."""
    for _ in range(3):
        if typing.get_origin(annotation) in (typing.Union, types.UnionType, list, typing.List):  # noqa: UP006
            inner = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(inner) != 1:
                return None
            annotation = inner[0]
    klass = getattr(annotation, "get_model_klass", None)
    if klass is None:
        return None
    model = klass()
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _codes_of(model: type[BaseModel]) -> _Codes:
    found = _COMPILED.get(model)
    if found is not None:
        return found
    found = _COMPILED[model] = _Codes()  # a model met again below it: the same
    for name, info in model.model_fields.items():
        key = info.alias or name
        concept = CONCEPTS.get((model.__name__, key))
        if concept is not None:
            found.concepts[key] = (concept[0], frozenset(concept[1]))
            continue
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        listed = extra.get("enum_values")
        if isinstance(listed, list) and listed:
            if "+" in listed:
                whole = COMPLETED.get((model.__name__, key))
                if whole is not None:
                    found.codes[key] = frozenset(whole)
            else:
                found.codes[key] = frozenset(str(code) for code in listed)
            continue
        child = _element_model(info.annotation)
        if child is None or child.__name__ == "Element":
            continue
        if child.__name__ == "Resource":
            found.resources.add(key)
            continue
        codes = _codes_of(child)
        found.children[key] = codes
    return found


def _prune(codes: _Codes, seen: set[int]) -> None:
    """Drop the elements under which no code element lies (walked for nothing)."""
    if id(codes) in seen:
        return
    seen.add(id(codes))
    for key, child in list(codes.children.items()):
        _prune(child, seen)
        if child.empty() and child is not codes:
            del codes.children[key]
    codes.keys = frozenset(codes.codes) | frozenset(codes.concepts) | frozenset(codes.children)


_RESOURCE_CODES: dict[str, _Codes | None] = {}


def _resource_codes(kind: Any) -> _Codes | None:
    if not isinstance(kind, str):
        return None
    if kind not in _RESOURCE_CODES:
        try:
            model = get_fhir_model_class(kind)
        except (KeyError, ValueError, AttributeError):
            _RESOURCE_CODES[kind] = None
            return None
        codes = _codes_of(model)
        _prune(codes, set())
        _RESOURCE_CODES[kind] = codes
    return _RESOURCE_CODES[kind]


def codes_outside(resource: Any, *, held: bool = False) -> list[CodeOutside]:
    """The codes of ``resource`` outside FHIR R4's required value set of
    their element, one per element and code. With ``held``, those of the
    resources it holds too (``contained``, a Bundle's entries, a Parameters'
    resources), each read as its own type; without, those are left to the
    caller (a message's entries are checked as resources of their own)."""
    if not isinstance(resource, dict):
        return []
    kind = resource.get("resourceType")
    codes = _resource_codes(kind)
    if codes is None:
        return []
    found: list[CodeOutside] = []
    # (node, its model's codes, its resource's type, path, place)
    stack: list[tuple[Any, _Codes, str, str, str]] = [
        (resource, codes, str(kind), "", str(kind)[:40])
    ]
    while stack:
        node, of, kind, where, place = stack.pop()
        if isinstance(node, list):
            stack.extend(
                (item, of, kind, where, f"{place}[{index}]") for index, item in enumerate(node)
            )
            continue
        if not isinstance(node, dict):
            continue
        keys = of.keys
        for key, value in node.items():
            if held and key in of.resources:
                stack.extend(_held(value, f"{place}.{key}"))
                continue
            if key not in keys:
                continue
            path = f"{where}.{key}" if where else key
            concept = of.concepts.get(key)
            if concept is not None:
                found.extend(_concepts_outside(value, concept, kind, path, f"{place}.{key}"))
                continue
            allowed = of.codes.get(key)
            if allowed is None:
                stack.append((value, of.children[key], kind, path, f"{place}.{key}"))
                continue
            many = isinstance(value, list)
            for index, code in enumerate(value if many else [value]):
                if code is None or (isinstance(code, str) and code in allowed):
                    continue  # an absent value: the models' own check names it
                found.append(
                    CodeOutside(
                        kind,
                        path,
                        f"{place}.{key}[{index}]" if many else f"{place}.{key}",
                        tuple(sorted(allowed)),
                        str(code) if _SHOWN_CODE.fullmatch(str(code)) else "",
                    )
                )
    return list(dict.fromkeys(found))


def _concepts_outside(
    value: Any, bound: tuple[str, frozenset[str]], kind: str, path: str, place: str
) -> list[CodeOutside]:
    """The CodeableConcepts of one element bound as required (``bound``: the
    system and its codes) that carry no coding of that system with one of
    those codes: a text alone, a coding of another system, one with a system
    and no code, a code outside the value set."""
    system, codes = bound
    many = isinstance(value, list)
    found = []
    for index, concept in enumerate(value if many else [value]):
        if not isinstance(concept, dict):
            continue  # an absent value, or a shape the models refuse
        coding = concept.get("coding")
        codings = [c for c in coding if isinstance(c, dict)] if isinstance(coding, list) else []
        if any(c.get("system") == system and c.get("code") in codes for c in codings):
            continue
        sent = [c.get("code") for c in codings if c.get("system") == system]
        shown = str(sent[0]) if sent and _SHOWN_CODE.fullmatch(str(sent[0])) else ""
        found.append(
            CodeOutside(
                kind,
                path,
                f"{place}[{index}]" if many else place,
                tuple(sorted(codes)),
                shown,
                system,
            )
        )
    return found


def _held(value: Any, place: str) -> list[tuple[Any, _Codes, str, str, str]]:
    """The resources an element holding resources holds, as the walk reads them."""
    many = isinstance(value, list)
    held = []
    for index, item in enumerate(value if many else [value]):
        kind = item.get("resourceType") if isinstance(item, dict) else None
        codes = _resource_codes(kind)
        if codes is not None:
            held.append((item, codes, str(kind), "", f"{place}[{index}]" if many else place))
    return held
