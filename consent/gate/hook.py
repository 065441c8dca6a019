"""The gate as the FHIR base in ``core`` asks it (:class:`core.fhir.gate.Gate`),
registered when the consent app is ready."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from consent.audit.services import Action, Outcome, audit_record, audit_record_many
from consent.gate import access_citizen, reads_permitted, search_citizen
from core.actors import Actor
from core.fhir.gate import CitizensNamed, OneRead
from core.models import Citizen

_LARGEST_ID = 2**63 - 1


class ConsentGate:
    """Reads, searches and refusals, each decided and recorded by consent's gate;
    the keyword arguments are :class:`core.fhir.gate.Gate`'s."""

    def read(self, *, actor: Actor, citizen_id: int, **asked: Any) -> Citizen:
        return access_citizen(actor=actor, citizen_id=citizen_id, action=Action.READ, **asked)

    def search(
        self, *, actor: Actor, citizen_id: int, category: str, purpose: str, resource_type: str
    ) -> Citizen | None:
        return search_citizen(
            actor=actor,
            citizen_id=citizen_id,
            category=category,
            purpose=purpose,
            resource_type=resource_type,
        )

    def may_read(
        self, *, actor: Actor, citizen_id: int, purpose: str, reads: Sequence[OneRead]
    ) -> list[bool]:
        return reads_permitted(actor=actor, citizen_id=citizen_id, purpose=purpose, reads=reads)

    def refuse(self, *, actor: Actor, citizen_id: CitizensNamed = None, **asked: Any) -> None:
        # The citizens the request named, those there are: never an id no
        # citizen has. Several named, the attempt is on each one's log.
        named = (citizen_id,) if isinstance(citizen_id, int) else citizen_id or ()
        named = tuple(dict.fromkeys(pk for pk in named if 0 < pk <= _LARGEST_ID))
        known = (
            set(Citizen.objects.filter(pk__in=named).values_list("pk", flat=True))
            if named
            else set()
        )
        citizen_ids = [pk for pk in named if pk in known]
        if len(citizen_ids) > 1:
            audit_record_many(actor=actor, citizen_ids=citizen_ids, outcome=Outcome.DENIED, **asked)
            return
        audit_record(
            actor=actor,
            citizen_id=citizen_ids[0] if citizen_ids else None,
            outcome=Outcome.DENIED,
            **asked,
        )
