"""FHIR R4's invariants of the resource types a write can carry that the
``fhir.resources`` models do not hold: a rule between elements of one
resource (condition.html#invs, allergyintolerance.html#invs). The models take
a Condition that is abated and still active, or an entered-in-error one that
still states how the condition stands, which the platform would store, show
and pass on as if it were both.

One table, :data:`INVARIANTS`, by resource type; one walk,
:func:`invariant_broken`, asked by :func:`core.fhir.validation.fhir_validate`
and :func:`core.fhir.validation.fhir_check`, so every door that takes FHIR
(create, update, a transaction's entries, a partner's message and the
resources they contain) refuses alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from core.fhir.bindings import (
    ALLERGY_VERIFICATION,
    CONDITION_CLINICAL,
    CONDITION_VER_STATUS,
)

CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"


def _coded(concept: Any, system: str, codes: frozenset[str]) -> bool:
    """Whether ``concept`` (a CodeableConcept) carries a coding of ``system``
    with one of ``codes``: what FHIRPath's
    ``coding.where(system = … and code = …).exists()`` asks."""
    coding = concept.get("coding") if isinstance(concept, dict) else None
    return isinstance(coding, list) and any(
        isinstance(c, dict) and c.get("system") == system and c.get("code") in codes for c in coding
    )


def _present(resource: dict[str, Any], name: str) -> bool:
    """Whether the element ``name`` exists: a value, or a primitive's
    extensions (``_name``) in its place."""
    return resource.get(name) is not None or resource.get(f"_{name}") is not None


def _abated(resource: dict[str, Any]) -> bool:
    """``abatement[x]`` of any type is there."""
    return any(
        key.lstrip("_").startswith("abatement") and value is not None
        for key, value in resource.items()
    )


_ERROR = frozenset({"entered-in-error"})


def _condition_in_error(resource: dict[str, Any]) -> bool:
    return _coded(resource.get("verificationStatus"), CONDITION_VER_STATUS, _ERROR)


def _allergy_in_error(resource: dict[str, Any]) -> bool:
    return _coded(resource.get("verificationStatus"), ALLERGY_VERIFICATION, _ERROR)


def _con_3(resource: dict[str, Any]) -> bool:
    categories = resource.get("category")
    problem = isinstance(categories, list) and any(
        _coded(c, CONDITION_CATEGORY, frozenset({"problem-list-item"})) for c in categories
    )
    return (
        problem and not _condition_in_error(resource) and not _present(resource, "clinicalStatus")
    )


_ABATED_STATES = frozenset({"inactive", "remission", "resolved"})


def _con_4(resource: dict[str, Any]) -> bool:
    return _abated(resource) and not _coded(
        resource.get("clinicalStatus"), CONDITION_CLINICAL, _ABATED_STATES
    )


def _con_5(resource: dict[str, Any]) -> bool:
    return _condition_in_error(resource) and _present(resource, "clinicalStatus")


def _ait_1(resource: dict[str, Any]) -> bool:
    return not _allergy_in_error(resource) and not _present(resource, "clinicalStatus")


def _ait_2(resource: dict[str, Any]) -> bool:
    return _allergy_in_error(resource) and _present(resource, "clinicalStatus")


@dataclass(frozen=True, slots=True)
class Invariant:
    """One of FHIR R4's invariants: its ``key`` (``con-4``), the element a
    refusal names (from the resource), FHIR's wording of the rule, and the
    test of a resource that breaks it. ``refused``: False for a guideline
    (a best practice FHIR does not make a rule), declared and not refused."""

    key: str
    element: str
    rule: str
    broken: Callable[[dict[str, Any]], bool]
    refused: bool = True


# By resource type: those a write can carry (the shared record's Condition,
# contained or in a partner's message too) and AllergyIntolerance, which a
# partner's message may carry.
INVARIANTS: dict[str, tuple[Invariant, ...]] = {
    "Condition": (
        # A guideline in R4 and R4B ("only a best practice"): an
        # encounter-diagnosis at one point in time needs no clinical status,
        # and a partner's problem list without one is still FHIR.
        Invariant(
            "con-3",
            "clinicalStatus",
            "Condition.clinicalStatus SHALL be present if verificationStatus is not"
            " entered-in-error and category is problem-list-item",
            _con_3,
            refused=False,
        ),
        Invariant(
            "con-4",
            "clinicalStatus",
            "If condition is abated, then clinicalStatus must be either inactive,"
            " resolved, or remission",
            _con_4,
        ),
        Invariant(
            "con-5",
            "clinicalStatus",
            "Condition.clinicalStatus SHALL NOT be present if verificationStatus is"
            " entered-in-error",
            _con_5,
        ),
    ),
    "AllergyIntolerance": (
        Invariant(
            "ait-1",
            "clinicalStatus",
            "AllergyIntolerance.clinicalStatus SHALL be present if verificationStatus"
            " is not entered-in-error",
            _ait_1,
        ),
        Invariant(
            "ait-2",
            "clinicalStatus",
            "AllergyIntolerance.clinicalStatus SHALL NOT be present if"
            " verificationStatus is entered-in-error",
            _ait_2,
        ),
    ),
}


def _resources(node: Any, where: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Each resource in ``node`` (itself, those it contains, a Bundle's
    entries, a Parameters' resources) with its place, as
    :func:`core.fhir.validation.empty_element` writes places."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _resources(item, f"{where}[{index}]")
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("resourceType"), str):
        yield node, where
    for key, value in node.items():
        if isinstance(value, dict | list):
            yield from _resources(value, f"{where}.{key}")


def invariant_broken(data: Any) -> tuple[str, Invariant] | None:
    """The place of the first element of ``data`` (a resource, the resources
    it holds too) where a refused invariant of :data:`INVARIANTS` is broken,
    with the invariant; None when none is."""
    if not isinstance(data, dict):
        return None
    root = str(data.get("resourceType") or "resource")[:40]
    for resource, where in _resources(data, root):
        for invariant in INVARIANTS.get(str(resource["resourceType"]), ()):
            if invariant.refused and invariant.broken(resource):
                return f"{where}.{invariant.element}", invariant
    return None
