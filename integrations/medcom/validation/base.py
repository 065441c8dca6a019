"""FHIR R4's own required bindings on the ``code`` elements of a message's
resources (``Patient.gender``, ``Encounter.status``, ``Communication.status``,
``MessageHeader.response.code``, ``ContactPoint.system`` ...), which MedCom's
profiles inherit without repeating them in their FSH.

The codes come from the ``fhir.resources`` R4B models, which declare the
codes of each such element (``enum_values``). Where the models shorten the
list (``+``: "and more"), the whole list of FHIR R4's value set is kept here
(:data:`COMPLETED`). Each model's code elements are read once per process;
a resource is then walked once, following only the elements that lead to one.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import BaseModel

from .values import Violation

# FHIR R4's value sets the models list only in part (``…, "+"``), by model
# and element: the codes of the whole value set.
COMPLETED: dict[tuple[str, str], tuple[str, ...]] = {
    ("Encounter", "status"): (
        "planned",
        "arrived",
        "triaged",
        "in-progress",
        "onleave",
        "finished",
        "cancelled",
        "entered-in-error",
        "unknown",
    ),
    ("EncounterStatusHistory", "status"): (
        "planned",
        "arrived",
        "triaged",
        "in-progress",
        "onleave",
        "finished",
        "cancelled",
        "entered-in-error",
        "unknown",
    ),
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
# What of a code outside its value set may be shown: a code's shape only
# (never free text, which may be personal data).
_SHOWN_CODE = re.compile(r"[A-Za-z0-9.\-_+]{1,40}")


class _Codes:
    """Of one model: the codes of each of its code elements (by JSON name),
    and the models of the elements under which one lies."""

    __slots__ = ("children", "codes", "keys", "resources")

    def __init__(self) -> None:
        self.codes: dict[str, frozenset[str]] = {}
        self.children: dict[str, _Codes] = {}
        # Elements holding a resource (Bundle.entry.resource, contained).
        self.resources: set[str] = set()
        # The JSON names worth reading: code elements and those leading to one.
        self.keys: frozenset[str] = frozenset()

    def empty(self) -> bool:
        return not (self.codes or self.children or self.resources)


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
    codes.keys = frozenset(codes.codes) | frozenset(codes.children)


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


def base_binding_violations(resource: Any, location: str) -> list[Violation]:
    """The codes of ``resource`` (not the resources it holds, which are
    checked as entries of their own) outside FHIR R4's required value set of
    their element; one violation per element and code."""
    if not isinstance(resource, dict):
        return []
    kind = resource.get("resourceType")
    codes = _resource_codes(kind)
    if codes is None:
        return []
    found: list[Violation] = []
    stack: list[tuple[Any, _Codes, str]] = [(resource, codes, "")]
    while stack:
        node, of, where = stack.pop()
        if isinstance(node, list):
            stack.extend((item, of, where) for item in node)
            continue
        if not isinstance(node, dict):
            continue
        keys = of.keys
        for key, value in node.items():
            if key not in keys:
                continue
            allowed = of.codes.get(key)
            if allowed is not None:
                for code in value if isinstance(value, list) else [value]:
                    if isinstance(code, str) and code in allowed:
                        continue
                    if code is None:
                        continue  # an absent value: FHIR's own check names it
                    path = f"{where}.{key}" if where else key
                    shown = str(code) if _SHOWN_CODE.fullmatch(str(code)) else ""
                    found.append(
                        Violation(
                            str(kind),
                            location,
                            path,
                            "binding",
                            "a code of FHIR R4's required value set: "
                            + " | ".join(sorted(allowed)),
                            shown,
                        )
                    )
                continue
            child = of.children.get(key)
            if child is not None:
                stack.append((value, child, f"{where}.{key}" if where else key))
    return list(dict.fromkeys(found))
