"""SMART on FHIR backend-services scopes (``system/Patient.read``,
``system/*.read``, ``system/Observation.rs``) as a ceiling on what a system's
token may reach. The role and the access gate still decide; a scope only ever
narrows. Deny by default: a request the scopes do not name is refused, and so
is every path outside ``/fhir/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SCOPE = re.compile(
    r"^system/(?P<type>\*|[A-Z][A-Za-z]{1,63})\.(?P<access>read|write|\*|[cruds]{1,5})$"
)
_FHIR_PATH = re.compile(r"^/fhir/(?P<type>[A-Z][A-Za-z]*)(?P<rest>/.*)?$")
# Operations that return more than the resource they are asked on.
_WHOLE_RECORD = re.compile(r"/\$everything$")
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# POST searches read (FHIR's ``_search``).
_SEARCH_BY_POST = re.compile(r"^/_search$")


@dataclass(frozen=True)
class Scope:
    resource_type: str  # "*" for every type
    reads: bool
    writes: bool

    def allows(self, resource_type: str, *, write: bool) -> bool:
        if self.resource_type not in ("*", resource_type):
            return False
        return self.writes if write else self.reads


def parse_scope(text: str) -> Scope | None:
    """One scope, or None when it is not a system scope this platform knows."""
    found = _SCOPE.match(text)
    if found is None:
        return None
    access = found["access"]
    if access == "read":
        reads, writes = True, False
    elif access == "write":
        reads, writes = False, True
    elif access == "*":
        reads, writes = True, True
    else:
        if len(set(access)) != len(access) or access != "".join(c for c in "cruds" if c in access):
            return None
        reads = bool({"r", "s"} & set(access))
        writes = bool({"c", "u", "d"} & set(access))
    return Scope(found["type"], reads, writes)


def parse_scopes(text: str) -> list[Scope] | None:
    """Space-separated scopes; None when any of them is not understood."""
    scopes = [parse_scope(word) for word in text.split()]
    if not scopes or any(scope is None for scope in scopes):
        return None
    return [scope for scope in scopes if scope is not None]


def scopes_allow(granted: str, *, method: str, path: str) -> bool:
    """Whether a token holding ``granted`` scopes may make this request."""
    scopes = parse_scopes(granted)
    found = _FHIR_PATH.match(path)
    if not scopes or found is None:
        return False
    rest = found["rest"] or ""
    write = method.upper() not in _READ_METHODS and not _SEARCH_BY_POST.match(rest)
    if _WHOLE_RECORD.search(rest):
        return any(
            scope.allows("*", write=write) and scope.resource_type == "*" for scope in scopes
        )
    return any(scope.allows(found["type"], write=write) for scope in scopes)
