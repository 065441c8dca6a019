"""A citizen's Patient (identity and address) with the version an update
names, and the search by CPR number — which only ever comes in a request
body, never in a URL. The read by id is the FHIR base's
(``consent.fhir_views.PatientResource``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Max

from consent.audit.services import Action
from consent.gate import (
    CATEGORY_PATIENT,
    audit_decision,
    audit_search_refused,
    patient_intake_lookup_decide,
    search_citizen,
)
from consent.models import PatientVersion
from core.actors import Actor
from core.cpr import ReplacementCpr
from core.fhir.patient import patient_resource
from core.models import Citizen
from core.times import fhir_instant


def patient_version(citizen_id: int) -> int:
    """The current version of a citizen's Patient (1 until first updated over FHIR)."""
    found = PatientVersion.objects.filter(citizen_id=citizen_id).aggregate(v=Max("version_id"))
    return int(found["v"] or 1)


def versioned_patient(citizen: Citizen) -> dict[str, Any]:
    """The Patient with ``meta.versionId``, which an update names in ``If-Match``."""
    return {
        **patient_resource(citizen),
        "meta": {
            "versionId": str(patient_version(citizen.pk)),
            "lastUpdated": fhir_instant(citizen.updated_at),
        },
    }


def patient_search_by_cpr(
    *,
    actor: Actor,
    cpr: str | None,
    purpose: str,
    replacement: ReplacementCpr | None = None,
) -> list[dict[str, Any]]:
    """CPR search, by CPR number or by replacement CPR (only ever from a POST
    body). A citizen the actor may not see is an empty result, like an
    unknown number."""
    if replacement is not None:
        held = Citizen.objects.filter(Citizen.holding(replacement))
    else:
        held = Citizen.objects.filter(cpr=cpr)
    found = held.values_list("pk", flat=True).first()
    citizen = search_citizen(
        actor=actor,
        citizen_id=found if found is not None else -1,
        category=CATEGORY_PATIENT,
        purpose=purpose,
        resource_type="Patient",
    )
    return [] if citizen is None else [patient_resource(citizen)]


@dataclass(frozen=True)
class IntakeLookup:
    """What a CPR number typed at a phone referral names: nobody registered
    (``registered`` false: offer to register), a citizen the coordinator may
    confirm with the caller (``citizen``), or a registered citizen she may not
    see (``citizen`` None: the referral can still be taken)."""

    registered: bool
    citizen: Citizen | None = None


def patient_intake_lookup(*, actor: Actor, cpr: str, purpose: str) -> IntakeLookup:
    """The coordinator's look-up of a CPR number typed at a phone referral
    (from a request body only). Every look-up is audited (R9): a number nobody
    has as a denied search naming no citizen, a citizen shown or refused on
    that citizen's log. The CPR number itself is in no audit entry."""
    citizen = Citizen.objects.select_related("municipality").filter(cpr=cpr).first()
    if citizen is None:
        audit_search_refused(
            actor=actor, purpose=purpose, resource_type="Patient", reason_code="unknown_citizen"
        )
        return IntakeLookup(registered=False)
    decision = patient_intake_lookup_decide(actor=actor, citizen=citizen, purpose=purpose)
    audit_decision(
        actor=actor,
        decision=decision,
        action=Action.SEARCH,
        purpose=purpose,
        citizen_id=citizen.pk,
        category=CATEGORY_PATIENT,
        resource_type="Patient",
        resource_id=str(citizen.pk),
    )
    return IntakeLookup(registered=True, citizen=citizen if decision.permitted else None)
