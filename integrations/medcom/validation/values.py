"""What the validator reports (:class:`Violation`) and the small readers of
FHIR JSON values it checks with: path segments, systems and codes, fixed
values, what may be shown of a value that broke a rule."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..fsh import UNBOUNDED, Code, FixedValue
from .kinds import EQUIVALENT_SYSTEMS


@dataclass(frozen=True)
class Violation:
    """One broken rule: ``profile`` (its id), ``location`` (``Bundle`` or
    ``<type>/<id>``), ``path`` (the element, as the profile names it),
    ``rule`` (``cardinality``, ``fixed``, ``binding``, ``invariant:<key>`` or
    ``message``), ``expected`` and, where it is not personal data, ``found``."""

    profile: str
    location: str
    path: str
    rule: str
    expected: str
    found: str = ""

    def __str__(self) -> str:
        where = f"{self.location} {self.path}".strip()
        found = f" (found {self.found})" if self.found else ""
        return f"{self.profile}: {where}: {self.rule}: expected {self.expected}{found}"

    def as_dict(self) -> dict[str, str]:
        return {
            "profile": self.profile,
            "location": self.location,
            "path": self.path,
            "rule": self.rule,
            "expected": self.expected,
            "found": self.found,
        }


_EXTENSION_VALUE = re.compile(r"extension\('([^']+)'\)\.value(?:\.([A-Za-z0-9_.]+))?")
_MATCHES = re.compile(r"matches\('((?:[^'\\]|\\.)*)'\)")
_SEGMENT = re.compile(r"^([A-Za-z0-9_\-]+?)(\[x\])?(?:\[([^\]]+)\])?$")


# The paths below come from the profiles' rules, never from a message: a
# finite set, each read once per process.


@cache
def _segments(path: str) -> tuple[str, ...]:
    """Split an element path on dots outside brackets."""
    parts: list[str] = []
    depth, current = 0, ""
    for char in path:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == "." and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current:
        parts.append(current)
    return tuple(parts)


# One step of a path: the element's name, whether it is a choice (``[x]``),
# the slice it names (None for all), and the key of the element it reaches
# (the key ``_slice_value`` knows the slicing by).
Step = tuple[str, bool, str | None, str]


@cache
def _steps(path: str, base: str = "") -> tuple[Step, ...] | None:
    """``path`` (below the element ``base``) as steps; None when a segment
    cannot be read."""
    steps: list[Step] = []
    walked = base
    for segment in _segments(path):
        match = _SEGMENT.match(segment)
        if not match:
            return None
        name, choice, slice_name = match.group(1), match.group(2), match.group(3)
        key = f"{walked}.{name}" if walked else name
        steps.append((name, bool(choice), slice_name, key))
        walked = f"{key}[{slice_name}]" if slice_name else key
    return tuple(steps)


@cache
def _parent_and_last(path: str) -> tuple[str, str]:
    """The element path above the last segment, and the last segment."""
    segments = _segments(path)
    return ".".join(segments[:-1]), segments[-1] if segments else ""


@cache
def _path_reader(path: str) -> tuple[str, str, tuple[str, ...]]:
    """How a discriminator path is read: ("extension", url, what follows
    ``.value``), ("plain", "", its names) or ("fhirpath", "", ())."""
    extension = _EXTENSION_VALUE.fullmatch(path)
    if extension:
        rest = extension.group(2)
        return "extension", extension.group(1), tuple(rest.split(".")) if rest else ()
    if re.fullmatch(r"[A-Za-z0-9_.]+", path):
        return "plain", "", tuple(path.split("."))
    return "fhirpath", "", ()


def _system(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return EQUIVALENT_SYSTEMS.get(value, value)


def _codings(node: Any) -> list[tuple[str | None, str]]:
    """The (system, code) pairs a code, Coding or CodeableConcept carries
    (nothing from a malformed one)."""
    if isinstance(node, str):
        return [(None, node)]
    if isinstance(node, dict):
        if "coding" in node:
            return [pair for coding in _as_list(node["coding"]) for pair in _codings(coding)]
        if isinstance(node.get("code"), str):
            system = node.get("system")
            return [(system if isinstance(system, str) else None, node["code"])]
    return []


def _matches_fixed(node: Any, fixed: FixedValue) -> bool:
    if isinstance(fixed, Code):
        return any(
            code == fixed.code
            and (fixed.system is None or system is None or _system(system) == _system(fixed.system))
            for system, code in _codings(node)
        )
    if isinstance(node, str) and isinstance(fixed, str):
        return _system(node) == _system(fixed)
    return bool(node == fixed)


def _format_fixed(fixed: FixedValue) -> str:
    return str(fixed).lower() if isinstance(fixed, bool) else str(fixed)


def _card(low: int | None, high: int | None) -> str:
    return f"{low or 0}..{'*' if high in (None, UNBOUNDED) else high}"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _location(resource: dict) -> str:
    return f"{resource.get('resourceType', '?')}/{resource.get('id', '?')}"


def _shown(value: Any, path: str) -> str:
    """What may be shown of a value that broke a rule: codes and systems, never
    an identifier's value."""
    if path.endswith("value") or isinstance(value, (dict, list)):
        return ", ".join(code for _, code in _codings(value)) if isinstance(value, dict) else ""
    return str(value)[:100]


def _within(violation: Violation, prefix: str) -> Violation:
    path = f"{prefix}.{violation.path}" if violation.path else prefix
    return Violation(
        violation.profile,
        violation.location,
        path,
        violation.rule,
        violation.expected,
        violation.found,
    )


def _in_codes(node: Any, codes: set[tuple[str | None, str]]) -> bool:
    """Whether a Coding or CodeableConcept holds one of ``codes`` (a system's
    ``*`` stands for all its codes)."""
    pairs = _codings(node)
    return bool(pairs) and any(
        (_system(system), code) in codes
        or (_system(system), "*") in codes
        or (system is None and any(c == code for _, c in codes))
        for system, code in pairs
    )


def _declared(resource: dict, known: Callable[[str], bool]) -> str | None:
    """The first profile in ``meta.profile`` that the spec holds."""
    meta = resource.get("meta")
    profiles = meta.get("profile") if isinstance(meta, dict) else None
    for url in profiles if isinstance(profiles, list) else []:
        if isinstance(url, str) and known(url):
            return url
    return None
