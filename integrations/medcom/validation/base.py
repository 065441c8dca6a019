"""FHIR R4's own required bindings on the ``code`` elements of a message's
resources (``Patient.gender``, ``Encounter.status``, ``Communication.status``,
``MessageHeader.response.code``, ``ContactPoint.system`` ...) and on their
CodeableConcept elements (``Condition.clinicalStatus`` ...), which MedCom's
profiles inherit without repeating them in their FSH; an entry's contained
resources are held to them too.

The check is the platform's own (:mod:`core.fhir.bindings`, which every FHIR
write passes too); here its findings are worded as MedCom's validator words a
broken rule (:class:`Violation`, rule ``binding``).
"""

from __future__ import annotations

from typing import Any

from core.fhir.bindings import CodeOutside, codes_outside

from .values import Violation


def base_binding_violations(resource: Any, location: str) -> list[Violation]:
    """The codes of ``resource`` and of the resources it contains (not a
    Bundle's entries, which are checked as resources of their own) outside
    FHIR R4's required value set of their element; one violation per element
    and code. A contained resource's element is named from the entry
    (``contained.status``)."""
    found = [_violation(outside, location, "") for outside in codes_outside(resource)]
    contained = resource.get("contained") if isinstance(resource, dict) else None
    for item in contained if isinstance(contained, list) else []:
        found += [_violation(outside, location, "contained.") for outside in codes_outside(item)]
    return list(dict.fromkeys(found))


def _violation(outside: CodeOutside, location: str, within: str) -> Violation:
    codes = " | ".join(outside.allowed)
    if outside.system:
        expected = f"a coding of {outside.system} with a code of FHIR R4's required value set: "
    else:
        expected = "a code of FHIR R4's required value set: "
    return Violation(
        outside.resource_type,
        location,
        within + outside.path,
        "binding",
        expected + codes,
        outside.found,
    )
