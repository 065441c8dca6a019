"""A reader of MedCom's FHIR Shorthand (FSH) sources, turned into rules.

The compiled StructureDefinitions of MedCom's implementation guides are not
published with the sources, so the platform reads the FSH itself
(``integrations/medcom/spec/``, copied unchanged from MedCom and HL7 Denmark)
and keeps, per profile and extension: its parent, cardinalities, fixed values,
bindings, ``obeys`` invariants, ``only`` type constraints and slices; per code
system its codes; per value set the codes it includes. Instances, rule sets
and mappings are not rules of a profile and are skipped.

Only the subset of FSH that these sources use is understood; a rule the reader
does not understand is kept in ``Definitions.skipped`` so that a test can say
what is not checked.

The package: :mod:`.rules` (what is read), :mod:`.text` (reading FSH text),
:mod:`.reader` (the files into rules).
"""

from __future__ import annotations

from .reader import SPEC_DIR, load
from .rules import (
    UNBOUNDED,
    Code,
    CodeSystemDef,
    Definitions,
    FixedValue,
    Invariant,
    Slicing,
    StructureRules,
    ValueSetDef,
)
from .text import _statements, _unquote

__all__ = [
    "SPEC_DIR",
    "UNBOUNDED",
    "Code",
    "CodeSystemDef",
    "Definitions",
    "FixedValue",
    "Invariant",
    "Slicing",
    "StructureRules",
    "ValueSetDef",
    "_statements",
    "_unquote",
    "load",
]
