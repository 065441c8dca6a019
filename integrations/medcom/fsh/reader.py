"""The reader: every FSH file of the spec folder into :class:`Definitions`
(aliases first, then terminology, then profiles)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from .rules import (
    CANONICAL_BASES,
    Binding,
    Cardinality,
    Code,
    CodeSystemDef,
    Definitions,
    Fixed,
    FixedValue,
    Invariant,
    Obeys,
    Only,
    StructureRules,
    ValueSetDef,
)
from .text import ENTITY_KEYWORDS, _cardinality, _join, _statements, _unquote

SPEC_DIR = Path(__file__).resolve().parent.parent / "spec"


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
            elif caret.group(2) == "slicing.discriminator.type":
                entity.slicing(path).discriminator_type = caret.group(3).strip().lstrip("#")
            _aggregation(entity, path, caret.group(2), caret.group(3))
            return path
        if body.startswith("^"):
            if body.startswith("^slicing.discriminator.path"):
                entity.slicing(context).discriminator = _unquote(body.split("=", 1)[1])
            elif body.startswith("^slicing.discriminator.type"):
                kind = body.split("=", 1)[1].strip().lstrip("#")
                entity.slicing(context).discriminator_type = kind
            key, _, value = body[1:].partition("=")
            _aggregation(entity, context, key.strip(), value)
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


def _aggregation(entity: StructureRules, path: str, key: str, value: str) -> None:
    """``^type.aggregation = #bundled``: the reference at ``path`` points to an
    entry of the same Bundle."""
    if key == "type.aggregation" and value.strip() == "#bundled":
        entity.bundled.append(path)


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
