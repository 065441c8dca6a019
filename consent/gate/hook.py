"""The gate as the FHIR base in ``core`` asks it (:class:`core.fhir.gate.Gate`),
registered when the consent app is ready."""

from __future__ import annotations

import datetime as dt

from consent.audit.services import Action, Outcome, audit_record
from consent.gate import access_citizen, search_citizen
from core.actors import Actor
from core.models import Citizen


class ConsentGate:
    def read(
        self,
        *,
        actor: Actor,
        citizen_id: int,
        category: str,
        purpose: str,
        resource_type: str,
        resource_id: str,
        data_dates: tuple[dt.datetime, ...] = (),
    ) -> Citizen:
        return access_citizen(
            actor=actor,
            citizen_id=citizen_id,
            action=Action.READ,
            category=category,
            purpose=purpose,
            resource_type=resource_type,
            resource_id=resource_id,
            data_dates=data_dates,
        )

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

    def refuse(
        self,
        *,
        actor: Actor,
        action: str,
        purpose: str,
        resource_type: str,
        resource_id: str,
        reason_code: str,
    ) -> None:
        audit_record(
            actor=actor,
            action=action,
            purpose=purpose,
            citizen_id=None,
            outcome=Outcome.DENIED,
            resource_type=resource_type,
            resource_id=resource_id,
            reason_code=reason_code,
        )
