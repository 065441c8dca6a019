"""The references a written FHIR resource makes, checked alike on every door
that writes one (the shared record's create, update and transaction, a
referral's ServiceRequest, a Consent, a Patient).

Two checks, in this order:

- :func:`reference_targets_checked`, as the body is read: each Reference
  names a resource of a type its element takes (FHIR R4 references.html);
  the local relative references (``Encounter/5``) are handed back.
- :func:`refuse_unheld`, once the gate has let the writer at the citizen:
  each of those names a resource the platform holds, on that citizen's
  record (or one of the shared kinds: an organisation, a member of staff).
  One of another citizen's is answered exactly as one that does not exist,
  so the check tells nobody what is on a record they did not write to.

A contained reference (``#id``), an absolute URL (another server's), a
reference to another entry of the same transaction (``urn:uuid:``) and a
reference by identifier alone keep their handling: only the type each names,
where it names one, is looked at.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from core.errors import InvalidInput
from core.fhir.resources import registered
from core.fhir.validation import reference_target_refused, references_in
from core.models import Citizen, Organisation, User
from core.validation import is_digits

# A relative reference to a resource of this server: ``Type/id``, or one of
# its versions (``Type/id/_history/vid``); nothing before the type.
_RELATIVE = re.compile(
    r"(?P<type>[A-Z][A-Za-z]{1,63})/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?"
)


@dataclass(frozen=True)
class LocalReference:
    """A reference to a resource of this server, at ``place`` in the body."""

    place: str
    type: str
    id: str


def reference_targets_checked(
    body: dict[str, Any], model: type[BaseModel], local: Mapping[str, str] | None = None
) -> list[LocalReference]:
    """Refuse a Reference in ``body`` (read as ``model``) naming a type its
    element does not take (``record.reference_invalid``, naming the
    element); the references to this server's resources otherwise. In a
    transaction ``local`` gives each entry's fullUrl its type."""
    refused = reference_target_refused(model, body, local)
    if refused is not None:
        place, allowed = refused
        kind = allowed[0] if len(allowed) == 1 else f"({'|'.join(allowed)})"
        raise InvalidInput(
            "record.reference_invalid",
            f"{place} must reference {kind}/<id>.",
            field=place,
            params={"element": place, "kind": kind},
        )
    found: list[LocalReference] = []
    for place, reference in references_in(model, body):
        if local and reference in local:
            continue
        named = _RELATIVE.fullmatch(reference)
        if named is not None:
            found.append(LocalReference(place, named["type"], named["id"]))
    return found


# Held: the citizen whose record the target is on, or None for a target on
# no citizen's record (an organisation, a member of staff). Not held: _NOT_HELD.
_NOT_HELD = object()
_SHARED: dict[str, Callable[[int], bool]] = {
    "Organization": lambda pk: Organisation.objects.filter(pk=pk).exists(),
    "Practitioner": lambda pk: User.objects.filter(pk=pk).exists(),
}


def _held(kind: str, resource_id: str) -> object:
    """Whose record the resource ``kind/resource_id`` is on (None for one on
    nobody's), or :data:`_NOT_HELD` when the platform holds no such resource."""
    if kind in _SHARED:
        ok = is_digits(resource_id) and len(resource_id) <= 18
        return None if ok and _SHARED[kind](int(resource_id)) else _NOT_HELD
    if kind == "Patient":
        ok = is_digits(resource_id) and len(resource_id) <= 18
        held = ok and Citizen.objects.filter(pk=int(resource_id)).exists()
        return int(resource_id) if held else _NOT_HELD
    for resource in registered():
        if resource.type == kind:
            owner = resource.target_citizen(resource_id)
            if owner is not False:
                return owner
    return _NOT_HELD


def refuse_unheld(references: Iterable[LocalReference], *, citizen_id: int | None) -> None:
    """Refuse the first reference naming a resource the platform does not
    hold, or one on another citizen's record than ``citizen_id``'s (the
    citizen the written resource is about; None for a resource about none):
    ``fhir.reference_unknown``, naming the element and the type, never the id."""
    for reference in references:
        owner = _held(reference.type, reference.id)
        if owner is _NOT_HELD or (owner is not None and owner != citizen_id):
            raise InvalidInput(
                "fhir.reference_unknown",
                f"{reference.place} names a {reference.type} the platform does not hold.",
                field=reference.place,
                params={"element": reference.place, "kind": reference.type},
            )
