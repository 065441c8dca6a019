"""``/fhir/MedicationAdministration``: read and search by patient, on the gated
base (:mod:`core.fhir.resources`)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.fhir.resources import FHIRResource, Param
from core.models import Role
from medicine_cabinet.fhir import medication_administration_resource
from medicine_cabinet.models import Administration
from medicine_cabinet.services import GATE_CATEGORY


class MedicationAdministration(FHIRResource):
    type = "MedicationAdministration"
    category = GATE_CATEGORY
    # The gate decides per citizen; these roles may ask it.
    readers = frozenset({Role.ACUTE_NURSE, Role.COORDINATOR, Role.PHYSICIAN, Role.HOME_NURSE})
    search_params = (
        Param("patient", "reference", "The citizen (Patient id).", names_citizen=True),
    )
    required = (("patient",),)
    order_by = ("-administered_at", "-pk")
    documentation = (
        "A dose from a nurse's bag on a visit (context Encounter/visit-<id>),"
        " linked to the physician's MedicationRequest; the lot is a contained"
        " Medication with its batch."
    )

    def queryset(self) -> QuerySet[Administration]:
        return Administration.objects.select_related("medicine", "lot", "by", "witness")

    def to_fhir(self, obj: Administration) -> dict[str, Any]:
        return medication_administration_resource(obj)


RESOURCES = (MedicationAdministration(),)
