"""The references a written FHIR resource makes, checked alike on every door
that writes one (the shared record's create, update and transaction, a
referral's ServiceRequest, a Consent, a Patient).

Two checks, in this order:

- :func:`reference_targets_checked`, as the body is read: each Reference
  names a resource of a type its element takes (FHIR R4 references.html);
  the local relative references (``Encounter/5``) are handed back, and
  with them an absolute URL on this server's own base
  (``http://<its host>/fhir/Encounter/5``), which is one.
- :func:`refuse_unheld`, once the gate has let the writer at the citizen:
  each of those names a resource the platform holds, on that citizen's
  record (or one of the shared kinds: an organisation, a member of staff),
  that the gate would let the writer read. One of another citizen's, or
  one of hers the writer is refused (a refusal of her organisation for its
  category, a data period covering its date), is answered exactly as one
  that does not exist, so the check tells nobody what is on a record they
  may not read.

A contained reference (``#id``), an absolute URL of another server, a
reference to another entry of the same transaction (``urn:uuid:``) and a
reference by identifier alone keep their handling: only the type each names,
where it names one, is looked at.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from pydantic import BaseModel

from core.actors import Actor
from core.errors import InvalidInput
from core.fhir.gate import OneRead, current_gate
from core.fhir.resources import Held, registered
from core.fhir.validation import reference_target_refused, references_in
from core.models import Citizen, Organisation, User
from core.validation import row_id_text

# Where this server's FHIR base lies on its host (``core.fhir.views.base_url``).
_BASE_PATH = "/fhir/"
# A relative reference to a resource of this server: ``Type/id``, or one of
# its versions (``Type/id/_history/vid``); nothing before the type.
_RELATIVE = re.compile(
    r"(?P<type>[A-Z][A-Za-z]{1,63})/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?"
)


def _this_server(netloc: str) -> bool:
    """Whether a URL's host (and port) is this server's: a host it answers
    to (``ALLOWED_HOSTS``, but for ``*``, which would claim every server's),
    or the address it is configured to be reached at."""
    if netloc.lower() == urlsplit(settings.INTEGRATIONS_PLATFORM_URL).netloc.lower():
        return True
    domain, _port = split_domain_port(netloc)
    hosts = [host for host in settings.ALLOWED_HOSTS if host != "*"]
    return bool(domain) and validate_host(domain, hosts)


def _on_this_server(reference: str) -> str:
    """A reference by an absolute URL on this server's own FHIR base
    (``http://<its host>/fhir/Encounter/5``) as the local reference it is
    (``Encounter/5``): held to what it names as one written relatively is,
    never let through as another server's. Any other reference as it is."""
    if not reference.lower().startswith(("http://", "https://")):
        return reference
    try:
        url = urlsplit(reference)
    except ValueError:
        return reference
    if url.query or url.fragment or not url.path.startswith(_BASE_PATH):
        return reference
    if not _this_server(url.netloc):
        return reference
    return url.path.removeprefix(_BASE_PATH)


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
        named = _RELATIVE.fullmatch(_on_this_server(reference))
        if named is not None:
            found.append(LocalReference(place, named["type"], named["id"]))
    return found


def _pks(resource_ids: Iterable[str]) -> dict[str, int]:
    """The ids that can name a row of a shared kind or a citizen, as rows' ids."""
    return {rid: pk for rid in resource_ids if (pk := row_id_text(rid)) is not None}


def _rows(model: type[Organisation | User | Citizen], pks: Iterable[int]) -> set[int]:
    wanted = set(pks)
    if not wanted:
        return set()
    return set(model.objects.filter(pk__in=wanted).values_list("pk", flat=True))


# The resources on no citizen's record a Reference may name: held or not.
_SHARED: dict[str, type[Organisation | User]] = {
    "Organization": Organisation,
    "Practitioner": User,
}


def _held_each(kind: str, resource_ids: set[str]) -> dict[str, Held]:
    """The resources ``kind/<id>`` of ``resource_ids`` as the platform holds
    them, in one query per registered resource of the kind (one for most);
    an id it holds no such resource by is left out."""
    if kind in _SHARED or kind == "Patient":
        pks = _pks(resource_ids)
        model = _SHARED.get(kind, Citizen)
        there = _rows(model, pks.values())
        return {
            rid: Held(None if kind in _SHARED else pk) for rid, pk in pks.items() if pk in there
        }
    found: dict[str, Held] = {}
    for resource in registered():
        if resource.type == kind:
            wanted = resource_ids - found.keys()
            if not wanted:
                break
            found.update(resource.held_each(wanted))
    return found


def _readable_each(
    references: list[tuple[LocalReference, Held]],
    *,
    citizen_id: int | None,
    actor: Actor,
    purpose: str,
) -> list[bool]:
    """Whether the writer may read each resource a reference on the
    citizen's own record names: the gate's decision on a read of it (her
    refusal of the writer's organisation for its category, a data period
    covering its date), recording nothing, what the gate reads with her
    read once for all of them. The citizen herself (``Patient/<her id>``)
    is the one the gate has already let the writer at; a resource on no
    citizen's record is readable."""
    asked = [
        (i, held)
        for i, (reference, held) in enumerate(references)
        if held.citizen_id is not None and reference.type != "Patient"
    ]
    readable = [True] * len(references)
    if not asked or citizen_id is None:
        return readable
    reads: list[OneRead] = [
        {
            "category": held.category,
            "resource_type": references[i][0].type,
            "resource_id": references[i][0].id,
            "data_dates": held.data_dates,
        }
        for i, held in asked
    ]
    answers = current_gate().may_read(
        actor=actor, citizen_id=citizen_id, purpose=purpose, reads=reads
    )
    for (i, _held), permitted in zip(asked, answers, strict=True):
        readable[i] = permitted
    return readable


def refuse_unheld(
    references: Iterable[LocalReference], *, citizen_id: int | None, actor: Actor, purpose: str
) -> None:
    """Refuse the first reference naming a resource the platform does not
    hold, one on another citizen's record than ``citizen_id``'s (the citizen
    the written resource is about; None for a resource about none), or one
    on hers that the gate would not let ``actor`` read for ``purpose``:
    ``fhir.reference_unknown``, naming the element and the type, never the
    id. All are answered alike: a write that went through would tell the
    writer that what it names exists.

    The named resources are looked up in one query per type, and the gate
    asked of those on her record at once, on one reading of her facts: the
    cost of a write does not grow by two queries with each reference."""
    references = list(references)
    if not references:
        return
    ids: dict[str, set[str]] = {}
    for reference in references:
        ids.setdefault(reference.type, set()).add(reference.id)
    held = {kind: _held_each(kind, wanted) for kind, wanted in ids.items()}
    # Those held, on her record or none: the rest are refused whatever the gate says.
    on_record = {
        i: (reference, found)
        for i, reference in enumerate(references)
        if (found := held[reference.type].get(reference.id)) is not None
        and (found.citizen_id is None or found.citizen_id == citizen_id)
    }
    answers = _readable_each(
        list(on_record.values()), citizen_id=citizen_id, actor=actor, purpose=purpose
    )
    readable = dict(zip(on_record, answers, strict=True))
    for i, reference in enumerate(references):
        if not readable.get(i, False):
            raise InvalidInput(
                "fhir.reference_unknown",
                f"{reference.place} names a {reference.type} the platform does not hold.",
                field=reference.place,
                params={"element": reference.place, "kind": reference.type},
            )
