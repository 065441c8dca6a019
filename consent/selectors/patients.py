"""A citizen's Patient (identity and address) with the version an update
names, and the search by CPR number — which only ever comes in a request
body, never in a URL. The read by id is the FHIR base's
(``consent.fhir_views.PatientResource``)."""

from __future__ import annotations

from typing import Any

from django.db.models import Max

from consent.gate import CATEGORY_PATIENT, search_citizen
from consent.models import PatientVersion
from core.actors import Actor
from core.fhir.patient import patient_resource
from core.models import Citizen


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
            "lastUpdated": citizen.updated_at.isoformat(),
        },
    }


def patient_search_by_cpr(*, actor: Actor, cpr: str, purpose: str) -> list[dict[str, Any]]:
    """CPR search (only ever from a POST body). A citizen the actor may not see
    is an empty result, like an unknown number."""
    found = Citizen.objects.filter(cpr=cpr).values_list("pk", flat=True).first()
    citizen = search_citizen(
        actor=actor,
        citizen_id=found if found is not None else -1,
        category=CATEGORY_PATIENT,
        purpose=purpose,
        resource_type="Patient",
    )
    return [] if citizen is None else [patient_resource(citizen)]
