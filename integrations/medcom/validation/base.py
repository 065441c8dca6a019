"""FHIR R4's own required bindings on the ``code`` elements of a message's
resources (``Patient.gender``, ``Encounter.status``, ``Communication.status``,
``MessageHeader.response.code``, ``ContactPoint.system`` ...), which MedCom's
profiles inherit without repeating them in their FSH.

The check is the platform's own (:mod:`core.fhir.bindings`, which every FHIR
write passes too); here its findings are worded as MedCom's validator words a
broken rule (:class:`Violation`, rule ``binding``).
"""

from __future__ import annotations

from typing import Any

from core.fhir.bindings import codes_outside

from .values import Violation


def base_binding_violations(resource: Any, location: str) -> list[Violation]:
    """The codes of ``resource`` (not the resources it holds, which are
    checked as entries of their own) outside FHIR R4's required value set of
    their element; one violation per element and code."""
    found = [
        Violation(
            outside.resource_type,
            location,
            outside.path,
            "binding",
            "a code of FHIR R4's required value set: " + " | ".join(outside.allowed),
            outside.found,
        )
        for outside in codes_outside(resource)
    ]
    return list(dict.fromkeys(found))
