"""The rules read from MedCom's FSH: per profile its parent, cardinalities,
fixed values, bindings, invariants, type constraints and slices; code systems
and value sets; :class:`Definitions` holds them all."""

from __future__ import annotations

from dataclasses import dataclass, field

# Canonical bases of the guides the sources come from (file prefix → base);
# a profile's URL is ``<base>StructureDefinition/<Id>``, a code system's
# ``<base>CodeSystem/<Id>``.
CANONICAL_BASES = {
    "messaging": "http://medcomfhir.dk/ig/messaging/",
    "acknowledgement": "http://medcomfhir.dk/ig/acknowledgement/",
    "carecommunication": "http://medcomfhir.dk/ig/carecommunication/",
    "hospitalnotification": "http://medcomfhir.dk/ig/hospitalnotification/",
    "homecareobservation": "http://medcomfhir.dk/ig/homecareobservation/",
    "terminology": "http://medcomfhir.dk/ig/terminology/",
    "core": "http://medcomfhir.dk/ig/core/",
    "dkcore": "http://hl7.dk/fhir/core/",
}
UNBOUNDED = -1


@dataclass(frozen=True)
class Code:
    """A fixed coded value: ``#code``, ``system#code`` or ``$Alias#code``."""

    system: str | None
    code: str

    def __str__(self) -> str:
        return f"{self.system}#{self.code}" if self.system else f"#{self.code}"


FixedValue = Code | str | bool | int | float


@dataclass(frozen=True)
class Cardinality:
    path: str
    min: int | None
    max: int | None  # UNBOUNDED for *


@dataclass(frozen=True)
class Fixed:
    path: str
    value: FixedValue


@dataclass(frozen=True)
class Binding:
    path: str
    value_set: str  # canonical URL (or a name the reader could not resolve)
    strength: str


@dataclass(frozen=True)
class Obeys:
    path: str
    invariant: str


@dataclass(frozen=True)
class Only:
    path: str
    types: tuple[str, ...]
    references: tuple[str, ...]


@dataclass
class Slicing:
    discriminator: str | None = None
    # value, pattern, exists, type or profile (FHIR's discriminator types)
    discriminator_type: str | None = None
    # slice name → (min, max); extension slices also know their extension
    slices: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


@dataclass
class StructureRules:
    """A Profile or an Extension, as its own FSH declares it (not flattened)."""

    kind: str  # "Profile" | "Extension"
    name: str
    source: str
    id: str = ""
    parent: str = ""
    cardinalities: list[Cardinality] = field(default_factory=list)
    fixed: list[Fixed] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)
    obeys: list[Obeys] = field(default_factory=list)
    only: list[Only] = field(default_factory=list)
    slicings: dict[str, Slicing] = field(default_factory=dict)
    # References whose target is in the same Bundle (``^type.aggregation = #bundled``).
    bundled: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{CANONICAL_BASES.get(self.source, '')}StructureDefinition/{self.id}"

    def slicing(self, path: str) -> Slicing:
        return self.slicings.setdefault(path, Slicing())


@dataclass
class Invariant:
    name: str
    description: str = ""
    severity: str = "error"
    expression: str = ""


@dataclass
class CodeSystemDef:
    name: str
    source: str
    id: str = ""
    url: str = ""
    codes: dict[str, str] = field(default_factory=dict)


@dataclass
class ValueSetDef:
    name: str
    source: str
    id: str = ""
    url: str = ""
    # (system or None, code); a whole system included by ("system", None) in ``systems``
    codes: set[tuple[str | None, str]] = field(default_factory=set)
    systems: set[str] = field(default_factory=set)
    excluded: set[tuple[str | None, str]] = field(default_factory=set)


@dataclass
class Definitions:
    structures: dict[str, StructureRules] = field(default_factory=dict)  # by name and by id
    invariants: dict[str, Invariant] = field(default_factory=dict)
    code_systems: dict[str, CodeSystemDef] = field(default_factory=dict)  # by name, id and url
    value_sets: dict[str, ValueSetDef] = field(default_factory=dict)  # by name, id and url
    skipped: list[str] = field(default_factory=list)

    def structure(self, ref: str) -> StructureRules | None:
        """A profile or extension by name, id or canonical URL (any guide's base)."""
        return self.structures.get(ref) or self.structures.get(ref.rstrip("/").rsplit("/", 1)[-1])

    def value_set(self, ref: str) -> ValueSetDef | None:
        return self.value_sets.get(ref) or self.value_sets.get(ref.rstrip("/").rsplit("/", 1)[-1])

    def code_system_url(self, ref: str) -> str:
        found = self.code_systems.get(ref)
        return found.url if found else ref

    def value_set_open_systems(self, value_set: ValueSetDef) -> set[str]:
        """Systems a value set includes (wholly or by a filter) that the spec
        does not enumerate: any code of them counts as in the value set."""
        return {system for system in value_set.systems if system not in self.code_systems}

    def value_set_codes(self, value_set: ValueSetDef) -> set[tuple[str | None, str]]:
        codes = {
            (self.code_system_url(system) if system else None, code)
            for system, code in value_set.codes
        }
        for system in value_set.systems:
            found = self.code_systems.get(system)
            if found:
                codes.update((found.url, code) for code in found.codes)
        excluded = {code for _, code in value_set.excluded}
        return {(system, code) for system, code in codes if code not in excluded}
