"""Checking a MedCom message against the rules read from MedCom's FSH.

``validate_message(bundle)`` returns the violations of a message Bundle: the
Bundle against the message profile of the MessageHeader's event, and every
entry against the profile that message gives its resource type and the one
each reference to it requires, whatever ``meta.profile`` they declare (a
profile declared besides is checked too; see
:meth:`.validator.Validator._entry_profiles`). A local event of the
platform's in the envelope (``local=True``) is checked against MedCom's
envelope instead (:data:`.kinds.LOCAL_KIND`): its event must be the
platform's own, every other rule of the messaging Bundle and MessageHeader
applies. Each violation names the profile, where in which resource, the rule
(cardinality, fixed value, binding, invariant) and what was expected. The
invariants' FHIRPath is evaluated by fhirpathpy, with ``conformsTo()`` and
``memberOf()`` answered from the same rules; those every HospitalNotification
meets are read from the JSON in Python (:mod:`.invariants`, the same answers).

Besides the profiles' rules: FHIR R4's own required bindings on the code
elements of every resource (:mod:`.base`, from the ``fhir.resources``
models), the types each ``only`` rule allows a choice element
(``value[x] only boolean``: rule ``type``) and the resource types each
``only Reference(...)`` allows a reference (rule ``reference:type``).

A violation never carries an identifier's value (a CPR number must not reach
an acknowledgement or a log).

The package: :mod:`.validator` (the checks), :mod:`.values` (what a
violation is and the value readers), :mod:`.kinds` (MedCom's message types),
:mod:`.invariants` (invariants without fhirpathpy), :mod:`.base` (FHIR R4's
required bindings).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ..fsh import load
from .kinds import EQUIVALENT_SYSTEMS, LOCAL_EVENT_SYSTEM, MESSAGE_KINDS, MessageKind
from .validator import Validator
from .values import Violation

__all__ = [
    "EQUIVALENT_SYSTEMS",
    "LOCAL_EVENT_SYSTEM",
    "MESSAGE_KINDS",
    "MessageKind",
    "Validator",
    "Violation",
    "validate_message",
    "validator",
]


@cache
def validator() -> Validator:
    return Validator(load())


def validate_message(bundle: Any, *, local: bool = False) -> list[Violation]:
    """The MedCom rules a message Bundle breaks; empty when it keeps them all.
    ``local``: a local event of the platform's in the MedCom envelope (see
    :meth:`Validator.validate_message`)."""
    return validator().validate_message(bundle, local=local)
