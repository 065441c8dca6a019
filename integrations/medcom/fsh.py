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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

SPEC_DIR = Path(__file__).resolve().parent / "spec"

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

ENTITY_KEYWORDS = {
    "Profile",
    "Extension",
    "Invariant",
    "CodeSystem",
    "ValueSet",
    "Instance",
    "RuleSet",
    "Mapping",
    "Logical",
    "Resource",
}
ENTITY_FIELDS = {
    "Alias",
    "Id",
    "Parent",
    "Title",
    "Description",
    "InstanceOf",
    "Usage",
    "Expression",
    "Severity",
    "XPath",
    "Source",
    "Target",
    "Context",
    "Characteristics",
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


# --- reading the text -----------------------------------------------------------


def _strip_comments(text: str) -> str:
    """Remove ``//`` and ``/* */`` comments, never inside a string and never
    the ``//`` of a URL (a comment starts a line or follows whitespace)."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        char = text[i]
        if in_string:
            out.append(char)
            if char == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if char == '"':
                in_string = False
            i += 1
            continue
        at_boundary = i == 0 or text[i - 1] in " \t\n"
        if char == '"':
            in_string = True
            out.append(char)
            i += 1
        elif at_boundary and text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif at_boundary and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _statements(text: str) -> list[tuple[int, str]]:
    """Logical statements with their indentation: entity lines (``Key: value``)
    and rules (``* ...``); a line that is neither continues the one before."""
    statements: list[tuple[int, str]] = []
    for raw in _strip_comments(text).splitlines():
        if not raw.strip():
            continue
        stripped = raw.lstrip()
        indent = len(raw) - len(stripped)
        head = stripped.split(":", 1)[0]
        starts = stripped.startswith("* ") or stripped == "*"
        entity = ":" in stripped and head in ENTITY_KEYWORDS | ENTITY_FIELDS
        open_string = statements and statements[-1][1].count('"') % 2 == 1
        if statements and (open_string or not (starts or entity)):
            previous_indent, previous = statements[-1]
            joiner = "\n" if open_string else " "
            statements[-1] = (previous_indent, previous + joiner + stripped)
        else:
            statements.append((indent, stripped))
    return statements


def _unquote(value: str) -> str:
    value = value.strip()
    if value.startswith('"""') and value.endswith('"""') and len(value) >= 6:
        return value[3:-3]
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\n", "\n")
    return value


_CARD = re.compile(r"^(\d*)\.\.(\d+|\*)?$")


def _cardinality(token: str) -> tuple[int | None, int | None] | None:
    match = _CARD.match(token)
    if not match:
        return None
    low = int(match.group(1)) if match.group(1) else None
    high_text = match.group(2)
    high = None if high_text is None else UNBOUNDED if high_text == "*" else int(high_text)
    return low, high


def _join(context: str, path: str) -> str:
    if not context or context == ".":
        return path
    if not path or path == ".":
        return context
    return f"{context}.{path}"


class _Reader:
    def __init__(self, definitions: Definitions) -> None:
        self.d = definitions
        self.aliases: dict[str, dict[str, str]] = {}

    def alias(self, source: str, name: str) -> str:
        if not name.startswith("$"):
            return name
        own = self.aliases.get(source, {})
        if name in own:
            return own[name]
        for table in self.aliases.values():
            if name in table:
                return table[name]
        return name

    def read_aliases(self, source: str, text: str) -> None:
        for line in text.splitlines():
            match = re.match(r"^\s*Alias:\s*(\S+)\s*=\s*(\S+)", line)
            if match:
                self.aliases.setdefault(source, {})[match.group(1)] = match.group(2)

    def fixed_value(self, source: str, text: str) -> FixedValue:
        text = text.strip()
        text = re.sub(r"\s*\(exactly\)$", "", text)
        if text.startswith('"'):
            return _unquote(text)
        if text in ("true", "false"):
            return text == "true"
        code = re.match(r'^(\S*)#("[^"]*"|\S+)(?:\s+"[^"]*")?$', text)
        if code:
            system = self.alias(source, code.group(1)) if code.group(1) else None
            if system:
                system = self.d.code_system_url(system)
            return Code(system, _unquote(code.group(2)))
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        return self.alias(source, text)

    def read(self, source: str, text: str) -> None:
        entity: object = None
        stack: list[tuple[int, str]] = []  # (indent, path) of enclosing rules
        vs_include_system: str | None = None
        for indent, statement in _statements(text):
            if not statement.startswith("*"):
                key, _, value = statement.partition(":")
                value = value.strip()
                stack = []
                if key in ("Profile", "Extension"):
                    entity = StructureRules(kind=key, name=value, source=source)
                    self.d.structures[value] = entity
                elif key == "Invariant":
                    entity = Invariant(name=value)
                    self.d.invariants[value] = entity
                elif key == "CodeSystem":
                    entity = CodeSystemDef(name=value, source=source)
                    self.d.code_systems[value] = entity
                elif key == "ValueSet":
                    entity = ValueSetDef(name=value, source=source)
                    self.d.value_sets[value] = entity
                    vs_include_system = None
                elif key in ENTITY_KEYWORDS:
                    entity = None
                elif key == "Id" and entity is not None and hasattr(entity, "id"):
                    entity.id = value
                    if isinstance(entity, StructureRules):
                        self.d.structures[value] = entity
                    elif isinstance(entity, CodeSystemDef):
                        entity.url = (
                            entity.url or f"{CANONICAL_BASES.get(source, '')}CodeSystem/{value}"
                        )
                        self.d.code_systems[value] = entity
                        self.d.code_systems[entity.url] = entity
                    elif isinstance(entity, ValueSetDef):
                        entity.url = (
                            entity.url or f"{CANONICAL_BASES.get(source, '')}ValueSet/{value}"
                        )
                        self.d.value_sets[value] = entity
                        self.d.value_sets[entity.url] = entity
                elif key == "Parent" and isinstance(entity, StructureRules):
                    entity.parent = value
                elif isinstance(entity, Invariant):
                    if key == "Description":
                        entity.description = _unquote(value)
                    elif key == "Severity":
                        entity.severity = value.lstrip("#")
                    elif key == "Expression":
                        entity.expression = _unquote(value)
                continue
            body = statement[1:].strip()
            while stack and stack[-1][0] >= indent:
                stack.pop()
            context = stack[-1][1] if stack else ""
            if isinstance(entity, StructureRules):
                path = self.structure_rule(entity, context, body)
                stack.append((indent, path))
            elif isinstance(entity, CodeSystemDef):
                match = re.match(r'^#("[^"]+"|\S+)(?:\s+"([^"]*)")?', body)
                if match:
                    entity.codes[_unquote(match.group(1))] = match.group(2) or ""
                elif body.startswith("^url"):
                    self.rekey_code_system(entity, _unquote(body.split("=", 1)[1]))
            elif isinstance(entity, ValueSetDef):
                vs_include_system = self.value_set_rule(entity, source, body, vs_include_system)

    def rekey_code_system(self, entity: CodeSystemDef, url: str) -> None:
        entity.url = url
        self.d.code_systems[url] = entity

    def value_set_rule(
        self, entity: ValueSetDef, source: str, body: str, include_system: str | None
    ) -> str | None:
        body = re.sub(r"^include\s+", "", body)
        if body.startswith("exclude "):
            target = entity.excluded
            body = body.removeprefix("exclude ").strip()
        else:
            target = entity.codes
        whole = re.match(r"^codes from system (\S+)", body)
        if whole:
            entity.systems.add(self.alias(source, whole.group(1)))
            return include_system
        single = re.match(r'^(\S*)#("[^"]+"|\S+)(?:\s+from system (\S+))?', body)
        if single:
            system = single.group(1) or single.group(3) or None
            if system:
                system = self.alias(source, system)
            target.add((system, _unquote(single.group(2))))
            return include_system
        caret = re.match(r"^\^(\S+)\s*=\s*(.+)$", body)
        if caret:
            key, value = caret.group(1), caret.group(2)
            if key == "url":
                entity.url = _unquote(value)
                self.d.value_sets[entity.url] = entity
            elif re.fullmatch(r"compose\.include\[[+=0-9]*\]\.system", key):
                return _unquote(value)
            elif re.fullmatch(r"compose\.include\[[+=0-9]*\]\.concept\[[+=0-9]*\]\.code", key):
                entity.codes.add((include_system, _unquote(value).lstrip("#")))
            return include_system
        self.d.skipped.append(f"ValueSet {entity.name}: {body}")
        return include_system

    def structure_rule(self, entity: StructureRules, context: str, body: str) -> str:
        """Record one rule; returns the path it is about (the context of rules
        indented under it)."""
        source = entity.source
        if body.startswith("insert "):
            return context
        caret = re.match(r"^(\S*?)\s*\^(\S+)\s*=\s*(.+)$", body)
        if caret and not caret.group(1).startswith("^"):
            path = _join(context, caret.group(1))
            if caret.group(2) == "slicing.discriminator.path":
                entity.slicing(path).discriminator = _unquote(caret.group(3))
            return path
        if body.startswith("^"):
            if body.startswith("^slicing.discriminator.path"):
                entity.slicing(context).discriminator = _unquote(body.split("=", 1)[1])
            return context
        contains = re.match(r"^(\S*)\s*contains\s+(.+)$", body, re.S)
        if contains:
            path = _join(context, contains.group(1))
            slicing = entity.slicing(path)
            for item in re.split(r"\s+and\s+", contains.group(2).strip()):
                parts = item.split()
                if "named" in parts:
                    at = parts.index("named")
                    name = parts[at + 1]
                    slicing.extensions[name] = parts[0]
                    rest = parts[at + 2 :]
                else:
                    name, rest = parts[0], parts[1:]
                card = _cardinality(rest[0]) if rest else None
                slicing.slices[name] = card or (None, None)
                if card:
                    entity.cardinalities.append(Cardinality(f"{path}[{name}]", card[0], card[1]))
            return path
        only = re.match(r"^(\S+)\s+only\s+(.+)$", body)
        if only:
            path = _join(context, only.group(1))
            text = only.group(2)
            references = tuple(
                name.strip()
                for group in re.findall(r"Reference\(([^)]*)\)", text)
                for name in group.split(" or ")
            )
            types = tuple(
                t.strip()
                for t in re.sub(r"Reference\([^)]*\)", "", text).split(" or ")
                if t.strip()
            )
            entity.only.append(Only(path, types, references))
            return path
        binding = re.match(r"^(\S+)\s+from\s+(\S+)(?:\s+\((\w+)\))?$", body)
        if binding:
            path = _join(context, binding.group(1))
            entity.bindings.append(
                Binding(path, self.alias(source, binding.group(2)), binding.group(3) or "required")
            )
            return path
        obeys = re.match(r"^(?:(\S+)\s+)?obeys\s+(.+)$", body)
        if obeys:
            path = _join(context, obeys.group(1) or "")
            for name in re.split(r"\s+and\s+", obeys.group(2).strip()):
                entity.obeys.append(Obeys(path, name.strip()))
            return path
        assign = re.match(r"^(\S+)\s*=\s*(.+)$", body, re.S)
        if assign:
            path = _join(context, assign.group(1))
            entity.fixed.append(Fixed(path, self.fixed_value(source, assign.group(2))))
            return path
        parts = body.split()
        if parts and " and " not in f" {body} ":
            path = _join(context, parts[0])
            card = _cardinality(parts[1]) if len(parts) > 1 else None
            if card:
                entity.cardinalities.append(Cardinality(path, card[0], card[1]))
                return path
            if all(flag in ("MS", "SU", "?!", "N", "TU", "D") for flag in parts[1:]):
                return path
        if " and " in f" {body} " and body.split()[-1] in ("MS", "SU"):
            return context
        self.d.skipped.append(f"{entity.name}: {body}")
        return context


def _source_of(path: Path) -> str:
    return path.name.split("__", 1)[0]


@cache
def load(spec_dir: Path = SPEC_DIR) -> Definitions:
    """Read every FSH file of the spec folder once (aliases first, so that a
    file may use an alias another file of its guide declares)."""
    definitions = Definitions()
    reader = _Reader(definitions)
    files = sorted(spec_dir.glob("*.fsh"))
    texts = {path: path.read_text(encoding="utf-8") for path in files}
    for path, text in texts.items():
        reader.read_aliases(_source_of(path), text)
    # Terminology first, so that fixed codes in profiles resolve code system names.
    ordered = sorted(files, key=lambda path: (_source_of(path) != "terminology", path.name))
    for path in ordered:
        reader.read(_source_of(path), texts[path])
    return definitions
