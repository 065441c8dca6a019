"""Checking a MedCom message against the rules read from MedCom's FSH.

``validate_message(bundle)`` returns the violations of a message Bundle: the
Bundle against its message profile (from ``meta.profile``, else from the
MessageHeader's event), and every entry against its own profile (from its
``meta.profile``, else the profile the event's message gives that resource
type). Each violation names the profile, where in which resource, the rule
(cardinality, fixed value, binding, invariant) and what was expected. The
invariants' FHIRPath is evaluated by fhirpathpy, with ``conformsTo()`` and
``memberOf()`` answered from the same rules.

A violation never carries an identifier's value (a CPR number must not reach
an acknowledgement or a log).

The package: :mod:`.validator` (the checks), :mod:`.values` (what a
violation is and the value readers), :mod:`.kinds` (MedCom's message types).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ..fsh import load
from .kinds import EQUIVALENT_SYSTEMS, MESSAGE_KINDS, MessageKind
from .validator import Validator
from .values import Violation

__all__ = [
    "EQUIVALENT_SYSTEMS",
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


def validate_message(bundle: Any) -> list[Violation]:
    """The MedCom rules a message Bundle breaks; empty when it keeps them all."""
    return validator().validate_message(bundle)
