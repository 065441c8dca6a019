"""The gate as the FHIR base in ``core`` asks it (:class:`core.fhir.gate.Gate`),
registered when the consent app is ready."""

from __future__ import annotations

from typing import Any

from consent.audit.services import Action, Outcome, audit_record
from consent.gate import access_citizen, search_citizen
from core.actors import Actor
from core.models import Citizen


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

    def refuse(self, *, actor: Actor, citizen_id: int | None = None, **asked: Any) -> None:
        # The citizen the request named, if there is one: never an id no citizen has.
        if citizen_id is not None and not Citizen.objects.filter(pk=citizen_id).exists():
            citizen_id = None
        audit_record(actor=actor, citizen_id=citizen_id, outcome=Outcome.DENIED, **asked)
