"""The checks of a Bundle and its entries against their profiles' rules; one
class, as they share the rules, the compiled FHIRPath and its memo.

One module, longer than most: nearly all of it is that class, whose checks of
structure, cardinality, bindings and invariants walk the same compiled plans;
the few functions after it are FHIR R4's own rules of a Bundle, which it
applies to every message besides the rules of its profiles.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable
from typing import Any

import fhirpathpy
import orjson
from fhirpathpy.models import models

from core.fhir.bundle_references import BundleEntries
from core.times import read_day, read_moment

from ..fsh import UNBOUNDED, Definitions, FixedValue, Slicing, StructureRules
from .base import base_binding_violations
from .invariants import COMPILED
from .kinds import BY_ROLE, LOCAL_EVENT_SYSTEM, LOCAL_KIND, MESSAGE_KINDS, MessageKind
from .values import (
    _MATCHES,
    Violation,
    _as_list,
    _card,
    _codings,
    _declared,
    _format_fixed,
    _in_codes,
    _location,
    _matches_fixed,
    _parent_and_last,
    _path_reader,
    _segments,
    _shown,
    _steps,
    _system,
    _within,
)

FHIRPATH_MODEL = models["r4"]
# FHIR R4's own invariants that MedCom's profiles inherit but its FSH does not
# spell out, checked on every message (a receiver reads its content by them).
BDL_7 = (
    "FullUrl must be unique in a bundle, or else entries with the same fullUrl "
    "must have different meta.versionId"
)
PER_1 = "If present, start SHALL have a lower value than end"
BDL_8 = "fullUrl cannot be a version specific reference"
# FHIR R4's MessageHeader elements that are 1..1 (MedCom's profiles inherit
# them without repeating them): where the answer goes (``source.endpoint``),
# where the message goes, and what an answer answers.
HEADER_REQUIRED = (
    ("", "source"),
    ("source", "endpoint"),
    ("destination", "endpoint"),
    ("response", "identifier"),
    ("response", "code"),
)
# FHIR R4's rules for the entries of a Bundle and the references between them
# (Bundle.entry.fullUrl, "Resolving references in Bundles"), and MedCom's
# ``^type.aggregation = #bundled`` on the references its profiles name.
FULL_URL_UUID = "a fullUrl urn:uuid: followed by a UUID (lower-case hex, 8-4-4-4-12)"
FULL_URL_ID = (
    "a fullUrl that is urn:uuid:, urn:oid: or the resource's version-independent URL "
    "ending in <resourceType>/<id>"
)
REFERENCE_RESOLVES = (
    "a urn:uuid: or urn:oid: reference that resolves to the fullUrl of an entry in the Bundle"
)
REFERENCE_BUNDLED = (
    "a reference to an entry in the same Bundle (by its fullUrl, or <resourceType>/<id>)"
)
UUID_URN = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The resource type a relative or absolute reference URL names (…/Patient/<id>).
RESOURCE_URL = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[^/]+)?$")
RELATIVE_REFERENCE = re.compile(r"[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}")
# Invariants on organisations' identifiers (the same few SOR codes and GLNs in
# every message, never personal data) are remembered per value: the GLN check
# digit in FHIRPath costs milliseconds.
MEMO_PROFILES = {"dk-core-gln-identifier", "dk-core-sor-identifier"}
# So are the invariants of an organisation (sender and receiver of every
# message, the same few, never personal data), per its content.
MEMO_RESOURCE_PROFILES = {"dk-core-organization"}
MEMO_SIZE = 10_000
# The one rule of MedCom's MessageHeader a local event does not keep by
# definition: its event is not one of MedCom's message types.
EVENT_BINDING = ("medcom-messaging-messageHeader", "eventCoding")
LOCAL_EVENT = f"an event of the platform's own ({LOCAL_EVENT_SYSTEM}) with a code"
# FHIR R4's resource types: what a profile slice's profile constrains.
RESOURCE_TYPES = frozenset(
    name for name, parent in FHIRPATH_MODEL["type2Parent"].items() if parent == "DomainResource"
) | {"Bundle", "Binary", "Parameters"}
# What fhirpathpy raises when an expression meets data of an unexpected shape.
EVALUATION_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)
_NO_ENTRIES = BundleEntries([])


# A step of a path as the validator follows it: the element's name, whether
# it is a choice ([x]), and how its slice is recognised (None: no slice).
ResolvedStep = tuple[str, bool, tuple[str, Any] | None]
# A cardinality rule: its path, its parent's path, the steps from the parent,
# the least and most elements as the rule says them, and the most as a bound
# (None: unbounded).
CardinalityPlan = tuple[str, str, tuple[ResolvedStep, ...], int | None, int | None, int | None]
# A required binding: its path, value set, codes and whether it is the
# MessageHeader's event (which a local event keeps otherwise).
BindingPlan = tuple[str, str, set[tuple[str | None, str]], bool]
# An ``only`` rule on a choice (``value[x] only boolean``): its path, its
# parent's path, the choice's name and the JSON names it may take.
ChoicePlan = tuple[str, str, str, frozenset[str]]
# An ``only Reference(...)`` rule: its path and the resource types it names.
ReferencePlan = tuple[str, frozenset[str]]
StructurePlan = tuple[
    StructureRules,
    list[CardinalityPlan],
    list[BindingPlan],
    list[tuple[str, str]],
    list[tuple[str, str]],
    list[ChoicePlan],
    list[ReferencePlan],
]


class Validator:
    """The rules of every profile in the spec, ready to check resources."""

    def __init__(self, definitions: Definitions) -> None:
        self.d = definitions
        self._chains: dict[str, list[StructureRules]] = {}
        self._slicings: dict[tuple[str, str], Slicing] = {}
        self._slice_values: dict[tuple[str, str, str], tuple[str, Any] | None] = {}
        self._compiled: dict[str, Any] = {}
        self._codes: dict[str, set[tuple[str | None, str]]] = {}
        self._local = threading.local()
        self._memo: dict[tuple[str, str], list[Any]] = {}
        # Whole resources' violations, by what _remembered_as keys them by.
        self._checked: dict[tuple, list[Violation]] = {}
        self._self_contained: dict[str, bool] = {}
        self._resolved_steps: dict[tuple[str, str, str], tuple[ResolvedStep, ...] | None] = {}
        self._plans: dict[str, list[StructurePlan]] = {}
        self._references: dict[str, list[tuple[str, dict[str, str]]]] = {}

    # --- profiles -------------------------------------------------------------

    def chain(self, ref: str) -> list[StructureRules]:
        """The profile and its ancestors that the spec holds, most derived first."""
        if ref not in self._chains:
            chain: list[StructureRules] = []
            current = self.d.structure(ref)
            while current is not None and current not in chain:
                chain.append(current)
                current = self.d.structure(current.parent) if current.parent else None
            self._chains[ref] = chain
        return self._chains[ref]

    def known(self, ref: str) -> bool:
        return self.d.structure(ref) is not None

    def _held_to(self, of_type: str | None, declared: str | None) -> list[str]:
        """The profiles a message Bundle or an entry is checked against: its
        message type's, and the one it declares (``meta.profile``) where that is not
        the same or one of its ancestors (checked with it)."""
        held: list[str] = []
        for ref in (of_type, declared):
            if ref and not any(ref in (s.id, s.url) for r in held for s in self.chain(r)):
                held.append(ref)
        return held

    def _slicing(self, profile: str, key: str) -> Slicing:
        cache_key = (profile, key)
        if cache_key not in self._slicings:
            merged = Slicing()
            for struct in reversed(self.chain(profile)):
                found = struct.slicings.get(key)
                if found:
                    merged.discriminator = found.discriminator or merged.discriminator
                    merged.discriminator_type = (
                        found.discriminator_type or merged.discriminator_type
                    )
                    merged.slices.update(found.slices)
                    merged.extensions.update(found.extensions)
            if not (merged.slices or merged.extensions) and "[" in key:
                # The elements of a slice are sliced as those of the element
                # it slices (payload[string].extension as payload.extension).
                merged = self._slicing(profile, re.sub(r"\[[^\]]*\]", "", key))
            self._slicings[cache_key] = merged
        return self._slicings[cache_key]

    def _slice_value(self, profile: str, key: str, name: str) -> tuple[str, Any] | None:
        """How an element is recognised as slice ``name`` of ``key``:
        ("url", extension id or URL), ("resolve", (names to the reference,
        resource types)), ("type", (choice element, its JSON names)) or
        (discriminator path, fixed value); None when the spec does not say
        (the slice is then not checked)."""
        cache_key = (profile, key, name)
        if cache_key in self._slice_values:
            return self._slice_values[cache_key]
        slicing = self._slicing(profile, key)
        result: tuple[str, Any] | None = None
        if name in slicing.extensions:
            ext = slicing.extensions[name]
            struct = self.d.structure(ext) if "://" not in ext else None
            result = ("url", struct.id if struct else ext)
        elif slicing.discriminator and slicing.discriminator_type in ("type", "profile"):
            result = self._type_slice(profile, f"{key}[{name}]", slicing.discriminator)
        elif slicing.discriminator:
            last = re.sub(r"\(.*\)", "", slicing.discriminator).split(".")[-1]
            prefix = f"{key}[{name}]"
            candidates: list[tuple[str, FixedValue]] = []
            for struct in self.chain(profile):
                candidates += [
                    (rule.path[len(prefix) + 1 :], rule.value)
                    for rule in struct.fixed
                    if rule.path.startswith(prefix + ".")
                ]
                for only in struct.only:
                    if only.path == prefix:
                        for type_name in only.types:
                            for type_struct in self.chain(type_name):
                                candidates += [
                                    (rule.path, rule.value) for rule in type_struct.fixed
                                ]
            for relative, value in candidates:
                tail = _segments(relative)[-1] if relative else ""
                if tail == last or re.sub(r"[A-Z].*$", "", tail) == last:
                    result = (slicing.discriminator, value)
                    break
        self._slice_values[cache_key] = result
        return result

    def _type_slice(self, profile: str, prefix: str, discriminator: str) -> tuple[str, Any] | None:
        """How an element is recognised as the slice ``prefix`` whose
        discriminator is of type ``type`` or ``profile``: by the resource a
        reference at ``discriminator`` (``…resolve()``) resolves to in the
        message, or by the type a choice element holds (``$this.content``:
        ``contentString``). A profile slice is told by the resource type its
        profile constrains, as FHIR's type discriminator would: each of
        MedCom's profile slices is of its own resource type, and a resource
        that breaks its profile's rules is then judged by them, not left out
        of its slice. None when the spec names no type for the slice."""
        path = re.sub(r"^\$this\.?", "", discriminator)
        names = tuple(part for part in path.split(".") if part)
        resolve = bool(names) and names[-1] == "resolve()"
        if resolve:
            names = names[:-1]
        if any(not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", part) for part in names):
            return None
        element = ".".join(names)
        target = f"{prefix}.{element}" if element else prefix
        declared = [
            only
            for struct in self.chain(profile)
            for only in struct.only
            if only.path in (target, f"{target}[x]")
        ]
        if not declared:
            return None
        if resolve:
            types = frozenset(
                self._resource_type(ref) for only in declared[:1] for ref in only.references
            )
            if not types or "" in types:
                return None
            return ("resolve", (names, types))
        if not names:
            return None
        keys = frozenset(
            names[-1] + type_name[:1].upper() + type_name[1:]
            for only in declared[:1]
            for type_name in only.types
        )
        return ("type", (names, keys)) if keys else None

    def _resource_type(self, ref: str) -> str:
        """The FHIR resource type a profile constrains: the base its chain
        in the spec starts from, or for a profile the spec does not hold
        (MedComCorePractitionerRole) the resource type its name ends with;
        "" when neither says."""
        chain = self.chain(ref)
        name = chain[-1].parent if chain else ref.rstrip("/").rsplit("/", 1)[-1]
        if name in RESOURCE_TYPES:
            return name
        endings = [t for t in RESOURCE_TYPES if name.endswith(t)]
        return max(endings, key=len) if endings else ""

    def _in_slice(self, element: Any, how: tuple[str, Any]) -> bool:
        if not isinstance(element, dict):
            return False
        # Within one message an element is asked about the same slice by
        # several rules; ``how`` is the one tuple _slice_value keeps, and the
        # element is kept with its answer, so its id names no other meanwhile.
        answers: dict[tuple[int, int], tuple[Any, bool]] | None = getattr(
            self._local, "in_slice", None
        )
        if answers is None:
            return self._slice_member(element, how)
        key = (id(element), id(how))
        if key not in answers:
            answers[key] = (element, self._slice_member(element, how))
        return answers[key][1]

    def _slice_member(self, element: dict[str, Any], how: tuple[str, Any]) -> bool:
        kind, expected = how
        if kind == "url":
            url = str(element.get("url", ""))
            return url == expected or url.rstrip("/").rsplit("/", 1)[-1] == expected
        if kind == "resolve":
            # The reference resolves, within the message, to a resource of
            # the slice's type (as resolve() in the invariants finds it).
            names, types = expected
            bundled = self._bundled()
            for reference in self._follow([element], tuple((n, False, None) for n in names)):
                target = bundled.resolve(reference, self._referrer())
                if isinstance(target, dict) and target.get("resourceType") in types:
                    return True
            return False
        if kind == "type":
            names, keys = expected
            parents = self._follow([element], tuple((n, False, None) for n in names[:-1]))
            return any(isinstance(p, dict) and any(k in p for k in keys) for p in parents)
        values = self._evaluate_path(element, kind)
        return any(_matches_fixed(value, expected) for value in values)

    def _evaluate_path(self, element: dict, path: str) -> list[Any]:
        reader, url, names = _path_reader(path)
        if reader == "extension":
            # extension('url').value.x, the discriminator of MedCom's destinations.
            values = [
                value
                for ext in _as_list(element.get("extension"))
                if isinstance(ext, dict) and ext.get("url") == url
                for key, value in ext.items()
                if key.startswith("value")
            ]
            for part in names:
                values = [
                    v.get(part) for v in values if isinstance(v, dict) and v.get(part) is not None
                ]
            return values
        if reader == "plain":
            nodes: list[Any] = [element]
            for part in names:
                nodes = [
                    item
                    for node in nodes
                    if isinstance(node, dict)
                    for item in _as_list(node.get(part))
                    if item is not None
                ]
            return nodes
        try:
            return list(self._compile(path)(element))
        except EVALUATION_ERRORS:
            return []
        except Exception:  # noqa: BLE001 - fhirpathpy raises bare Exception on bad data
            # Data the discriminator cannot read belongs to no slice.
            return []

    def _compile(self, expression: str) -> Any:
        if expression not in self._compiled:
            self._compiled[expression] = fhirpathpy.compile(
                expression,
                model=FHIRPATH_MODEL,
                options={"userInvocationTable": self._functions()},
            )
        return self._compiled[expression]

    # --- selecting elements ---------------------------------------------------

    def _steps_of(self, profile: str, path: str, base: str = "") -> tuple[ResolvedStep, ...] | None:
        """``path`` (below ``base``) of ``profile`` as steps, each with how
        its slice is recognised (:meth:`_slice_value`), once per process;
        None when a segment cannot be read or a slice not recognised."""
        cache_key = (profile, path, base)
        if cache_key in self._resolved_steps:
            return self._resolved_steps[cache_key]
        steps = _steps(path, base)
        resolved: tuple[ResolvedStep, ...] | None = None
        if steps is not None:
            hows = [
                self._slice_value(profile, key, slice_name) if slice_name else None
                for _, _, slice_name, key in steps
            ]
            if all(
                how is not None
                for (_, _, slice_name, _), how in zip(steps, hows, strict=True)
                if slice_name
            ):
                resolved = tuple(
                    (name, choice, how)
                    for (name, choice, _, _), how in zip(steps, hows, strict=True)
                )
        self._resolved_steps[cache_key] = resolved
        return resolved

    def select(self, profile: str, nodes: list[Any], path: str, base: str = "") -> list[Any] | None:
        """The elements at ``path`` under ``nodes``; None when the path goes
        through a slice the spec does not let us recognise."""
        steps = self._steps_of(profile, path, base)
        if steps is None:
            return None
        return self._follow(nodes, steps)

    def _follow(self, nodes: list[Any], steps: tuple[ResolvedStep, ...]) -> list[Any]:
        current = nodes
        for name, choice, how in steps:
            values: list[Any] = []
            for node in current:
                if not isinstance(node, dict):
                    continue
                if choice:
                    for k, value in node.items():
                        if k.startswith(name) and k[len(name) : len(name) + 1].isupper():
                            values.extend(value if isinstance(value, list) else [value])
                elif name in node:
                    value = node[name]
                    values.extend(value if isinstance(value, list) else [value])
            if how is not None:
                values = self._in_slice_all(values, how)
            current = values
        return current

    def _in_slice_all(self, values: list[Any], how: tuple[str, Any]) -> list[Any]:
        """The elements of ``values`` in the slice ``how`` recognises, as
        :meth:`_in_slice` answers for each, with the message's answers
        looked up once."""
        answers: dict[tuple[int, int], tuple[Any, bool]] | None = getattr(
            self._local, "in_slice", None
        )
        if answers is None:
            return [value for value in values if self._in_slice(value, how)]
        kept = []
        for value in values:
            if not isinstance(value, dict):
                continue
            key = (id(value), id(how))
            known = answers.get(key)
            if known is None:
                known = answers[key] = (value, self._slice_member(value, how))
            if known[1]:
                kept.append(value)
        return kept

    def _plan(self, profile: str) -> list[StructurePlan]:
        """The rules of ``profile`` and its ancestors as :meth:`validate`
        checks them, with what each needs found once per process: the steps
        of a cardinality's last segment, a binding's codes, the types and
        extensions the spec holds. Rules that can never be broken (a slice
        the spec does not let us recognise, a value set it lacks) are left out."""
        plan = self._plans.get(profile)
        if plan is not None:
            return plan
        plan = []
        for struct in self.chain(profile):
            cards: list[CardinalityPlan] = []
            for card in struct.cardinalities:
                parent_path, last = _parent_and_last(card.path)
                steps = self._steps_of(profile, last, parent_path)
                if steps is None:
                    continue  # no element is counted: the rule names nothing
                bound = None if card.max == UNBOUNDED else card.max
                cards.append((card.path, parent_path, steps, card.min, card.max, bound))
            bindings: list[BindingPlan] = []
            for binding in struct.bindings:
                if binding.strength != "required":
                    continue
                codes = self._value_set_codes(binding.value_set)
                if codes is None:
                    continue
                event = (struct.id, binding.path) == EVENT_BINDING
                bindings.append((binding.path, binding.value_set, codes, event))
            only = [
                (rule.path, type_name)
                for rule in struct.only
                for type_name in rule.types
                if self.known(type_name)
            ]
            extensions = [
                (f"{sliced}[{name}]", ext)
                for sliced, slicing in struct.slicings.items()
                for name, ext in slicing.extensions.items()
                if "://" not in ext and self.known(ext)
            ]
            choices, references = self._only_plans(struct)
            plan.append((struct, cards, bindings, only, extensions, choices, references))
        self._plans[profile] = plan
        return plan

    # --- checking -------------------------------------------------------------

    def validate(
        self, resource: Any, profile: str, location: str, _seen: dict | None = None
    ) -> list[Violation]:
        """The violations of ``resource`` (a resource or a data type element)
        against ``profile`` and the ancestors of it that the spec holds."""
        seen = {} if _seen is None else _seen
        key = (id(resource), profile)
        if key in seen:
            return seen[key]
        remembered = self._remembered_as(resource, profile, location)
        if remembered is not None and remembered in self._checked:
            seen[key] = self._checked[remembered]
            return seen[key]
        seen[key] = []
        result = self._validate(resource, profile, location, seen)
        seen[key] = result
        if remembered is not None and len(self._checked) < MEMO_SIZE:
            self._checked[remembered] = result
        return result

    def _remembered_as(self, resource: Any, profile: str, location: str) -> tuple | None:
        """The key a resource's violations of ``profile`` are remembered by,
        where they depend on nothing but its content: an organisation (the
        sender and receiver of every message, the same few, never personal
        data) against a profile none of whose rules looks outside it
        (resolve()). None for anything else."""
        if not isinstance(resource, dict) or resource.get("resourceType") != "Organization":
            return None
        if profile not in self._self_contained:
            chain = self.chain(profile)
            self._self_contained[profile] = any(
                struct.id in MEMO_RESOURCE_PROFILES for struct in chain
            ) and not any(
                "resolve()" in (self.d.invariants[obeys.invariant].expression or "")
                for struct in chain
                for obeys in struct.obeys
                if obeys.invariant in self.d.invariants
            )
        if not self._self_contained[profile]:
            return None
        try:
            content = orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            return None
        return (profile, location, content)

    def _validate(self, resource: Any, profile: str, location: str, seen: dict) -> list[Violation]:
        if not self.chain(profile):
            return []
        found: list[Violation] = []
        root = [resource]
        # The elements at a path of this resource, once: the profile's rules
        # name the same parents (a slice, an identifier) many times over.
        picked: dict[str, list[Any] | None] = {}

        def pick(path: str) -> list[Any] | None:
            if path not in picked:
                picked[path] = self.select(profile, root, path)
            return picked[path]

        for struct, cards, bindings, only, extensions, choices, references in self._plan(profile):
            if cards:
                found += self._check_cardinalities(struct, resource, cards, location, pick)
            for fixed in struct.fixed:
                for value in pick(fixed.path) or []:
                    if not _matches_fixed(value, fixed.value):
                        found.append(
                            Violation(
                                struct.id,
                                location,
                                fixed.path,
                                "fixed",
                                _format_fixed(fixed.value),
                                _shown(value, fixed.path),
                            )
                        )
            for path, value_set, codes, event in bindings:
                if event and self._local_event():
                    continue  # a local event: checked by validate_message instead
                for value in pick(path) or []:
                    if not _in_codes(value, codes):
                        found.append(
                            Violation(
                                struct.id,
                                location,
                                path,
                                "binding",
                                f"a code from {value_set}",
                                ", ".join(code for _, code in _codings(value)),
                            )
                        )
            for obeys in struct.obeys:
                found += self._check_invariant(
                    struct, resource, obeys.path, obeys.invariant, location, seen, pick
                )
            for path, type_name in only:
                for value in pick(path) or []:
                    found += [
                        _within(v, path) for v in self.validate(value, type_name, location, seen)
                    ]
            for path, ext in extensions:
                for value in pick(path) or []:
                    found += [_within(v, path) for v in self.validate(value, ext, location, seen)]
            for path, parent_path, name, keys in choices:
                for parent in (pick(parent_path) or []) if parent_path else root:
                    found += _choice_violations(struct.id, location, path, parent, name, keys)
            for path, kinds in references:
                for value in pick(path) or []:
                    found += self._reference_type_violations(
                        struct.id, location, path, value, kinds
                    )
        return list(dict.fromkeys(found))

    def _only_plans(self, struct: StructureRules) -> tuple[list[ChoicePlan], list[ReferencePlan]]:
        """The ``only`` rules of ``struct`` checked on their own: on a choice
        the JSON names it may take (``valueBoolean`` of ``value[x] only
        boolean``; ``valueReference`` of ``only Reference(...)``), and on a
        reference the resource types it may name (each profile's type; a rule
        naming a profile whose type is not known is left out)."""
        choices: list[ChoicePlan] = []
        references: list[ReferencePlan] = []
        for rule in struct.only:
            parent_path, last = _parent_and_last(rule.path)
            if last.endswith("[x]"):
                name = last[:-3]
                allowed = [t[:1].upper() + t[1:] for t in rule.types]
                if rule.references:
                    allowed.append("Reference")
                readable = not parent_path or self._steps_of(struct.id, parent_path) is not None
                if allowed and readable:
                    keys = frozenset(name + suffix for suffix in allowed)
                    choices.append((rule.path, parent_path, name, keys))
            if rule.references and not rule.types:
                kinds = frozenset(self._resource_type(ref) for ref in rule.references)
                if kinds and "" not in kinds:
                    references.append((rule.path, kinds))
        return choices, references

    def _reference_type_violations(
        self, profile: str, location: str, path: str, value: Any, kinds: frozenset[str]
    ) -> list[Violation]:
        """A reference at ``path`` to a resource of a type its ``only
        Reference(...)`` rule does not name: the entry it resolves to in the
        message, else the type a relative or absolute URL names."""
        reference = value.get("reference") if isinstance(value, dict) else None
        if not isinstance(reference, str):
            return []
        target = self._bundled().resolve(reference, self._referrer())
        if isinstance(target, dict):
            kind = target.get("resourceType")
        elif named := RESOURCE_URL.search(reference):
            kind = named.group(1)
        else:
            return []  # an unresolved urn: the reference rules name it
        if not isinstance(kind, str) or kind in kinds:
            return []
        return [
            Violation(
                profile,
                location,
                path,
                "reference:type",
                "a reference to " + " or ".join(sorted(kinds)),
                kind if kind in RESOURCE_TYPES else "",
            )
        ]

    def _check_cardinalities(
        self,
        struct: StructureRules,
        resource: Any,
        cards: list[CardinalityPlan],
        location: str,
        pick: Callable[[str], list[Any] | None],
    ) -> list[Violation]:
        """The cardinality rules of ``struct`` (as :meth:`_plan` keeps them)
        on ``resource``: each element under each parent counted."""
        found = []
        for path, parent_path, steps, low, high, bound in cards:
            parents = pick(parent_path) if parent_path else [resource]
            if not parents:
                continue
            # One plain element (almost every rule): counted in place.
            name = (
                steps[0][0] if len(steps) == 1 and not steps[0][1] and steps[0][2] is None else ""
            )
            for parent in parents:
                if name:
                    if not isinstance(parent, dict) or name not in parent:
                        count = 0
                    else:
                        value = parent[name]
                        count = len(value) if isinstance(value, list) else 1
                else:
                    count = len(self._follow([parent], steps))
                if (low is not None and count < low) or (bound is not None and count > bound):
                    found.append(
                        Violation(
                            struct.id, location, path, "cardinality", _card(low, high), str(count)
                        )
                    )
        return found

    def _check_invariant(
        self,
        struct: StructureRules,
        resource: Any,
        path: str,
        name: str,
        location: str,
        seen: dict,
        pick: Callable[[str], list[Any] | None],
    ) -> list[Violation]:
        invariant = self.d.invariants.get(name)
        if invariant is None or not invariant.expression or invariant.severity != "error":
            return []
        nodes = pick(path) if path else [resource]
        found = []
        only_matches = _MATCHES.fullmatch(invariant.expression.strip())
        remember = struct.id in MEMO_PROFILES
        remember_resource = struct.id in MEMO_RESOURCE_PROFILES and not path
        compiled = COMPILED.get(invariant.expression)
        for node in nodes or []:
            self._local.seen = seen
            memo_key: tuple[str, str] | None = None
            if remember and isinstance(node, str):
                memo_key = (name, node)
            elif remember_resource and isinstance(node, dict):
                memo_key = (name, json.dumps(node, sort_keys=True, default=str))
            if memo_key is not None and memo_key in self._memo:
                result = self._memo[memo_key]
            elif only_matches and isinstance(node, str):
                # A lone matches() on a string (SOR, GLN length, CPR): Python's re.
                result = [re.search(only_matches.group(1), node) is not None]
            elif compiled is not None and (answer := compiled(node, self._conforms_to)) is not None:
                # Read from the JSON (.invariants), as fhirpathpy answers it.
                result = answer
            else:
                try:
                    result = self._compile(invariant.expression)(node, {"resource": resource})
                except EVALUATION_ERRORS:
                    # Data too malformed for the expression: the rule is not kept.
                    result = [False]
                except Exception:  # noqa: BLE001 - fhirpathpy raises bare Exception on bad data
                    # Not swallowed: a type fhirpathpy refuses breaks the rule.
                    result = [False]
            if memo_key is not None and len(self._memo) < MEMO_SIZE:
                self._memo[memo_key] = result
            if result and not all(item is True for item in result):
                found.append(
                    Violation(struct.id, location, path, f"invariant:{name}", invariant.description)
                )
        return found

    # --- terminology ----------------------------------------------------------

    def _value_set_codes(self, ref: str) -> set[tuple[str | None, str]] | None:
        if ref not in self._codes:
            value_set = self.d.value_set(ref)
            if value_set is None:
                return None
            self._codes[ref] = {
                (_system(system), code) for system, code in self.d.value_set_codes(value_set)
            }
            # A whole system the spec does not enumerate: any of its codes is in.
            self._codes[ref] |= {
                (_system(system), "*") for system in self.d.value_set_open_systems(value_set)
            }
        return self._codes[ref]

    def _conforms_to(self, inputs: list[Any], url: str) -> bool:
        """FHIRPath's conformsTo(url) of a collection: every item keeps the
        profile's rules, and there is one."""
        seen = getattr(self._local, "seen", {})
        return all(
            isinstance(item, dict) and not self.validate(item, url, "", seen) for item in inputs
        ) and bool(inputs)

    def _functions(self) -> dict[str, dict[str, Any]]:
        conforms_to = self._conforms_to

        def member_of(inputs: list[Any], url: str) -> bool:
            codes = self._value_set_codes(url)
            return (
                codes is not None
                and all(_in_codes(item, codes) for item in inputs)
                and bool(inputs)
            )

        def resolve(inputs: list[Any]) -> list[Any]:
            # References resolve within the message being checked, as FHIR
            # resolves them in a Bundle (core.fhir.bundle_references).
            found = []
            for item in inputs:
                target = self._bundled().resolve(item, self._referrer())
                if target is not None:
                    found.append(target)
            return found

        return {
            "conformsTo": {"fn": conforms_to, "arity": {1: ["String"]}},
            "memberOf": {"fn": member_of, "arity": {1: ["String"]}},
            "resolve": {"fn": resolve, "arity": {0: []}},
        }

    def _local_event(self) -> bool:
        """Whether the message being checked is a local event of the platform's."""
        return bool(getattr(self._local, "local_event", False))

    def _bundled(self) -> BundleEntries:
        """The entries of the message being checked, to resolve its references."""
        return getattr(self._local, "bundled", None) or _NO_ENTRIES

    def _referrer(self) -> dict[str, Any] | None:
        """The entry being checked, whose fullUrl a relative reference in it
        is resolved against (None: the Bundle itself)."""
        return getattr(self._local, "referrer", None)

    # --- messages -------------------------------------------------------------

    def validate_message(self, bundle: Any, *, local: bool = False) -> list[Violation]:
        """The violations of a message Bundle. ``local``: one of the
        platform's own events in the MedCom envelope, checked against what
        MedCom's rules ask of it (:data:`.kinds.LOCAL_KIND`): its event must
        be coded in the platform's local event system instead of MedCom's
        message types; every other rule of the envelope, FHIR's base
        invariants and the reference rules apply as to MedCom's own."""
        self._local.local_event = local
        self._local.in_slice = {}
        try:
            return self._validate_message(bundle, local)
        finally:
            self._local.local_event = False
            self._local.in_slice = None
            self._local.bundled = None
            self._local.referrer = None

    def _validate_message(self, bundle: Any, local: bool) -> list[Violation]:
        base = "medcom-messaging-message"
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            return [Violation(base, "", "", "message", "a FHIR Bundle")]
        entries: list[Any] = (
            _as_list(bundle.get("entry")) if isinstance(bundle.get("entry"), list) else []
        )
        header = entries[0].get("resource") if entries and isinstance(entries[0], dict) else None
        if not isinstance(header, dict) or header.get("resourceType") != "MessageHeader":
            return [
                Violation(
                    base,
                    "Bundle",
                    "entry[0].resource",
                    "message",
                    "a MessageHeader as the first entry",
                )
            ]
        event = (
            header.get("eventCoding", {}).get("code")
            if isinstance(header.get("eventCoding"), dict)
            else None
        )
        found: list[Violation] = []
        known = LOCAL_KIND if local else MESSAGE_KINDS.get(str(event))
        coding = header.get("eventCoding")
        system = coding.get("system") if isinstance(coding, dict) else None
        if local and (system != LOCAL_EVENT_SYSTEM or not isinstance(event, str) or not event):
            expected = LOCAL_EVENT
        elif known is None:
            expected = "a MedCom message type (medcom-messaging-messageTypes)"
        else:
            expected = ""
        if expected:
            found.append(
                Violation(
                    "medcom-messaging-messageHeader",
                    _location(header),
                    "eventCoding",
                    "binding",
                    expected,
                    str(event or ""),
                )
            )
        kind = known or MESSAGE_KINDS["empty-message"]
        # The entries, once per message: what resolve() and the reference
        # rules resolve references against (FHIR R4's rules for a Bundle).
        bundled = BundleEntries(entries)
        self._local.bundled = bundled
        self._local.referrer = None
        seen: dict = {}
        # Held to its message type's profile whatever it declares (MedCom
        # validates a message by its type), and to a profile it declares
        # besides: declaring the base messaging profile escaped the rules of
        # its type (one Patient, a CPR number, the stay's identifier).
        for held_to in self._held_to(kind.message, _declared(bundle, self.known)):
            found += self.validate(bundle, held_to, "Bundle", seen)
        held = self._entry_profiles(entries, kind)
        for entry in entries:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict):
                found.append(
                    Violation(
                        kind.message,
                        "Bundle",
                        "entry.resource",
                        "message",
                        "a resource in every entry",
                    )
                )
                continue
            self._local.referrer = resource
            for profile in held[id(resource)]:
                found += self.validate(resource, profile, _location(resource), seen)
                found += self._check_bundled(resource, profile, bundled)
            self._local.referrer = None
        found += base_binding_violations(bundle, "Bundle")
        for entry in entries:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict):
                found += base_binding_violations(resource, _location(resource))
        found += _header_required(header)
        found += _base_invariants(entries, bundled)
        return list(dict.fromkeys(found))

    def _entry_profiles(self, entries: list[Any], kind: MessageKind) -> dict[int, list[str]]:
        """The profiles each entry (by ``id()`` of its resource) is held to,
        whatever its ``meta.profile`` declares: the one its message type gives
        its resource type, one it declares besides, and the one every
        reference to it requires (``only Reference(...)`` of the profiles the
        referring entry is held to: the HospitalNotification's focus an
        Encounter of that message, the sender and receiver
        MedComMessagingOrganizations). A declared ancestor of one of these
        adds nothing: an Encounter declaring MedCom's core Encounter escaped
        the stay's episode-of-care identifier. Of a type whose profile
        depends on its role (:data:`.kinds.BY_ROLE`), the declared profile
        stands for the type's, and the references say what each must be."""
        resources = [
            entry["resource"]
            for entry in entries
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
        ]
        held: dict[int, list[str]] = {}
        for resource in resources:
            kind_of = str(resource.get("resourceType"))
            declared = _declared(resource, self.known)
            of_type = None if kind_of in BY_ROLE and declared else kind.entries.get(kind_of)
            held[id(resource)] = self._held_to(of_type, declared)
        changed = True
        while changed:
            changed = False
            for resource in resources:
                for profile in list(held[id(resource)]):
                    for target, required in self._required_of_targets(resource, profile):
                        if target is resource or id(target) not in held:
                            continue
                        if not any(
                            required == s.id for ref in held[id(target)] for s in self.chain(ref)
                        ):
                            held[id(target)].append(required)
                            changed = True
        return held

    def _required_of_targets(
        self, resource: dict[str, Any], profile: str
    ) -> list[tuple[dict[str, Any], str]]:
        """(entry, profile id) for each entry of the message a reference of
        ``resource`` names where ``profile`` (or an ancestor) says ``only
        Reference(...)`` of profiles the spec holds: the one of them that
        constrains the entry's resource type."""
        bundled = self._bundled()
        required = []
        for path, by_type in self._reference_rules(profile):
            for value in self.select(profile, [resource], path) or []:
                target = bundled.resolve(value, resource)
                if isinstance(target, dict) and target.get("resourceType") in by_type:
                    required.append((target, by_type[target["resourceType"]]))
        return required

    def _reference_rules(self, profile: str) -> list[tuple[str, dict[str, str]]]:
        """The ``only Reference(...)`` rules of ``profile`` and its ancestors
        naming profiles the spec holds: each path with the profile id it
        requires of each resource type (the first one named of that type)."""
        rules = self._references.get(profile)
        if rules is None:
            rules = []
            for struct in self.chain(profile):
                for only in struct.only:
                    by_type: dict[str, str] = {}
                    for ref in only.references:
                        target = self.d.structure(ref)
                        if target is not None:
                            by_type.setdefault(self._resource_type(ref), target.id)
                    if by_type:
                        rules.append((only.path, by_type))
            self._references[profile] = rules
        return rules

    def _check_bundled(
        self, resource: dict[str, Any], profile: str, bundled: BundleEntries
    ) -> list[Violation]:
        """The references the profile (or an ancestor) declares bundled must
        name an entry of this Bundle, as FHIR R4 resolves a reference in it."""
        found = []
        for struct in self.chain(profile):
            for path in struct.bundled:
                for value in self.select(profile, [resource], path) or []:
                    target = value.get("reference") if isinstance(value, dict) else None
                    if not isinstance(target, str) or bundled.resolve(target, resource):
                        # No reference to follow (an identifier only): the
                        # profile's cardinalities say whether one is needed.
                        continue
                    found.append(
                        Violation(
                            struct.id,
                            _location(resource),
                            path,
                            "aggregation:bundled",
                            REFERENCE_BUNDLED,
                            _shown_reference(target),
                        )
                    )
        return found


def _choice_violations(
    profile: str, location: str, path: str, parent: Any, name: str, keys: frozenset[str]
) -> list[Violation]:
    """A choice element of ``parent`` given as a type its ``only`` rule does
    not allow (an extension's ``valueString`` where it says boolean)."""
    if not isinstance(parent, dict):
        return []
    size = len(name)
    return [
        Violation(
            profile,
            location,
            path,
            "type",
            " or ".join(sorted(keys)),
            key,
        )
        for key in parent
        if key.startswith(name) and key[size : size + 1].isupper() and key not in keys
    ]


def _period_moment(value: Any) -> dt.datetime | dt.date | None:
    """A Period bound as something comparable: an aware instant, or a whole
    date; None for a partial date or anything unreadable (the type check
    names that)."""
    if not isinstance(value, str):
        return None
    if len(value) == 10:
        return read_day(value)
    moment = read_moment(value)
    return moment if moment is not None and moment.tzinfo is not None else None


def _walk(
    value: Any,
) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, str]]]:
    """Every Period in a resource (``period``, ``…Period``) and every
    reference (``….reference``), with its path; one pass over the resource."""
    periods: list[tuple[str, dict[str, Any]]] = []
    references: list[tuple[str, str]] = []
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                inner = f"{where}.{key}" if where else key
                if isinstance(child, dict):
                    if key == "period" or key.endswith("Period"):
                        periods.append((inner, child))
                    stack.append((child, inner))
                elif isinstance(child, list):
                    stack.append((child, inner))
                elif key == "reference" and isinstance(child, str) and where:
                    references.append((where, child))
        elif isinstance(item, list):
            stack.extend((child, where) for child in item if isinstance(child, (dict, list)))
    return periods, references


def _shown_reference(reference: str) -> str:
    """A reference as a violation may show it: a urn:uuid: or a type and id
    only when they hold a UUID (never free text, which may be personal data)."""
    if UUID_URN.fullmatch(reference):
        return reference
    tail = reference.rsplit("/", 1)[-1]
    if RELATIVE_REFERENCE.fullmatch(reference) and UUID_URN.fullmatch(f"urn:uuid:{tail}"):
        return reference
    return ""


def _full_url_violation(full_url: str, resource: Any) -> Violation | None:
    """FHIR R4's rules on an entry's fullUrl: a urn:uuid: holds a UUID; any
    other is urn:oid: or the resource's version-independent URL, which does
    not disagree with its type and id (bdl-8: no ``/_history/``)."""
    location = _location(resource) if isinstance(resource, dict) else "Bundle"
    if full_url.startswith("urn:uuid:"):
        if UUID_URN.fullmatch(full_url):
            return None
        return Violation("Bundle", location, "entry.fullUrl", "fullUrl:uuid", FULL_URL_UUID)
    if full_url.startswith("urn:oid:"):
        return None
    if "/_history/" in full_url:
        return Violation("Bundle", location, "entry.fullUrl", "invariant:bdl-8", BDL_8)
    if isinstance(resource, dict) and not full_url.endswith(
        f"/{resource.get('resourceType')}/{resource.get('id')}"
    ):
        # Of another type (…/Encounter/<id> for an Observation), or another id.
        parts = full_url.rstrip("/").rsplit("/", 2)
        of_type = len(parts) == 3 and parts[1] == resource.get("resourceType")
        rule = "fullUrl:id" if of_type or len(parts) < 3 else "fullUrl:type"
        return Violation("Bundle", location, "entry.fullUrl", rule, FULL_URL_ID)
    return None


def _header_required(header: dict[str, Any]) -> list[Violation]:
    """FHIR R4's 1..1 elements of the MessageHeader (:data:`HEADER_REQUIRED`)
    that are missing or empty, under each parent the message has."""
    found = []
    for parent_path, name in HEADER_REQUIRED:
        parents = [header] if not parent_path else _as_list(header.get(parent_path))
        for parent in parents:
            if not isinstance(parent, dict):
                continue  # no such parent: its own rule (or none) says so
            value = parent.get(name)
            if value is None or value == "" or value == {}:
                path = f"{parent_path}.{name}" if parent_path else name
                found.append(
                    Violation("MessageHeader", _location(header), path, "cardinality", "1..1", "0")
                )
    return found


def _base_invariants(entries: list[Any], bundled: BundleEntries) -> list[Violation]:
    """FHIR R4's bdl-7 (a fullUrl names one entry), bdl-8 and the fullUrl's
    agreement with the resource, the resolution of urn:uuid: and urn:oid:
    references to entries of the Bundle (``bundled``: the entries by fullUrl),
    and per-1 (a Period does not end before it starts) on a message's entries."""
    found: list[Violation] = []
    seen: set[tuple[str, str]] = set()
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("fullUrl"), str):
            continue
        resource = entry.get("resource")
        meta = resource.get("meta") if isinstance(resource, dict) else None
        version = str(meta.get("versionId", "")) if isinstance(meta, dict) else ""
        if (entry["fullUrl"], version) in seen:
            found.append(Violation("Bundle", "Bundle", "entry.fullUrl", "invariant:bdl-7", BDL_7))
        seen.add((entry["fullUrl"], version))
        broken = _full_url_violation(entry["fullUrl"], resource)
        if broken is not None:
            found.append(broken)
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        periods, references = _walk(resource)
        for path, period in periods:
            start, end = _period_moment(period.get("start")), _period_moment(period.get("end"))
            if start is None or end is None or type(start) is not type(end):
                continue
            if end < start:
                found.append(
                    Violation("Period", _location(resource), path, "invariant:per-1", PER_1)
                )
        for path, reference in references:
            if reference.startswith(("urn:uuid:", "urn:oid:")) and not bundled.resolve(reference):
                found.append(
                    Violation(
                        "Bundle",
                        _location(resource),
                        path,
                        "reference",
                        REFERENCE_RESOLVES,
                        _shown_reference(reference),
                    )
                )
    return found
