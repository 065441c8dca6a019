"""Which entry of a Bundle a reference made inside it names: FHIR R4's
"Resolving references in Bundles" (bundle.html#references), one reading for
every message a partner sends and for the rules it is checked against.

- An absolute reference (``urn:uuid:…``, ``urn:oid:…``, ``https://…``) names
  the entry whose ``fullUrl`` is that URI.
- A relative one (``Encounter/7``) is made absolute against the base of the
  ``fullUrl`` of the entry that holds it, when that is a RESTful URL
  (``https://example.org/fhir/Communication/1`` gives
  ``https://example.org/fhir/Encounter/7``), and names the entry with that
  fullUrl. In an entry whose fullUrl is no RESTful URL (a ``urn:uuid:``, as
  MedCom's messages and the platform's own are written) it names the entry
  of that type and id, as FHIR's validator reads it.
- A version-specific reference (``…/_history/2``) names the entry with that
  ``meta.versionId``.

What names no entry is outside the Bundle. That is never a resource of this
platform's: ``Encounter/7`` in a partner's message is the partner's
Encounter 7 (or nobody's), so the caller refuses it where the resource must
be in the message, and otherwise keeps it from being read as one of ours.
A contained reference (``#id``) and one by identifier alone name no entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# FHIR R4's RESTful URL of a resource (http.html#general): the service base,
# the type and the id, with an optional version.
_RESTFUL = re.compile(
    r"(?P<base>https?://\S+?)/(?P<type>[A-Z][A-Za-z]{1,63})/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/(?P<version>[A-Za-z0-9\-.]{1,64}))?"
)
_RELATIVE = re.compile(
    r"(?P<type>[A-Z][A-Za-z]{1,63})/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/(?P<version>[A-Za-z0-9\-.]{1,64}))?"
)
_HISTORY = re.compile(r"/_history/(?P<version>[A-Za-z0-9\-.]{1,64})$")


def is_relative(reference: str) -> bool:
    """A reference of the form ``Type/id`` (optionally versioned)."""
    return _RELATIVE.fullmatch(reference) is not None


def _version(resource: dict[str, Any]) -> str:
    meta = resource.get("meta")
    return str(meta.get("versionId") or "") if isinstance(meta, dict) else ""


class BundleEntries:
    """The entries of one Bundle, to resolve the references made inside it."""

    def __init__(self, entries: Any) -> None:
        self._by_full_url: dict[str, list[dict[str, Any]]] = {}
        self._by_type_id: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._full_url_of: dict[int, str] = {}
        for entry in entries if isinstance(entries, list) else []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
                continue  # no resource: nothing a reference could name
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str) and full_url:
                self._by_full_url.setdefault(full_url, []).append(resource)
                self._full_url_of[id(resource)] = full_url
            kind, rid = resource.get("resourceType"), resource.get("id")
            if isinstance(kind, str) and isinstance(rid, str):
                self._by_type_id.setdefault((kind, rid), []).append(resource)

    @classmethod
    def of_bundle(cls, bundle: Any) -> BundleEntries:
        return cls(bundle.get("entry") if isinstance(bundle, dict) else None)

    def full_url(self, resource: dict[str, Any]) -> str | None:
        """The fullUrl of the entry ``resource`` is (None: none, or no entry)."""
        return self._full_url_of.get(id(resource))

    def resolve(
        self, reference: Any, referrer: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """The entry ``reference`` (a Reference or its ``reference`` string),
        written in the entry ``referrer`` (or in a resource it contains),
        names; None when it names none or more than one."""
        target = reference.get("reference") if isinstance(reference, dict) else reference
        if not isinstance(target, str) or not target or target.startswith("#"):
            return None
        relative = _RELATIVE.fullmatch(target)
        if relative is None:
            versioned = _HISTORY.search(target)
            version = versioned["version"] if versioned else ""
            bare = target[: versioned.start()] if versioned else target
            return self._one(self._by_full_url.get(bare, []), version)
        version = relative["version"] or ""
        base = self._base_of(referrer)
        if base is not None:
            return self._one(
                self._by_full_url.get(f"{base}/{relative['type']}/{relative['id']}", []), version
            )
        return self._one(self._by_type_id.get((relative["type"], relative["id"]), []), version)

    def _base_of(self, referrer: dict[str, Any] | None) -> str | None:
        full_url = self._full_url_of.get(id(referrer)) if referrer is not None else None
        restful = _RESTFUL.fullmatch(full_url) if full_url else None
        return restful["base"] if restful is not None else None

    @staticmethod
    def _one(found: list[dict[str, Any]], version: str) -> dict[str, Any] | None:
        if version:
            found = [r for r in found if _version(r) == version]
        # Several entries alike: FHIR calls it ambiguous; none is chosen.
        return found[0] if len(found) == 1 else None


def literal_references(value: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Reference with a literal ``reference`` in ``value`` (a resource
    as JSON), with its path, contained resources' included (they resolve as
    the resource that contains them does)."""
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str) and where:
            yield where, value
        for key, child in value.items():
            if isinstance(child, (dict, list)):
                yield from literal_references(child, f"{where}.{key}" if where else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from literal_references(item, f"{where}[{index}]")
