"""``/fhir/MedicationAdministration``: read and search by patient, through the access gate."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework.request import Request
from rest_framework.response import Response

from consent.audit.services import Action, Purpose
from consent.gate import access_citizen
from core.errors import InvalidInput, NotFoundOrNotAllowed
from core.fhir.views import FHIRView, paging_params, searchset
from core.models import Role
from core.permissions import actor_from_request, roles
from medicine_cabinet.fhir import medication_administration_resource
from medicine_cabinet.models import Administration
from medicine_cabinet.services import GATE_CATEGORY

# The gate decides per citizen; these roles may ask it.
READERS = (Role.ACUTE_NURSE, Role.COORDINATOR, Role.PHYSICIAN, Role.HOME_NURSE)


def _administrations() -> QuerySet[Administration]:
    return Administration.objects.select_related("medicine", "lot", "by", "witness")


class MedicationAdministrationReadView(FHIRView):
    permission_classes = [roles(*READERS)]

    def get(self, request: Request, administration_id: str) -> Response:
        actor = actor_from_request(request)
        assert actor is not None
        if not administration_id.isdigit():
            raise NotFoundOrNotAllowed()
        administration = _administrations().filter(pk=int(administration_id)).first()
        if administration is None:
            raise NotFoundOrNotAllowed()
        access_citizen(
            actor=actor,
            citizen_id=administration.citizen_id,
            action=Action.READ,
            category=GATE_CATEGORY,
            purpose=Purpose.TREATMENT,
            resource_type="MedicationAdministration",
            resource_id=str(administration.pk),
        )
        return self.fhir_response(medication_administration_resource(administration))


class MedicationAdministrationSearchView(FHIRView):
    permission_classes = [roles(*READERS)]

    def get(self, request: Request) -> Response:
        actor = actor_from_request(request)
        assert actor is not None
        patient = request.query_params.get("patient", "").removeprefix("Patient/")
        if not patient.isdigit():
            raise InvalidInput(
                "search.param_required", "Search by patient (a Patient id).", field="patient"
            )
        count, offset = paging_params(request)
        citizen = access_citizen(
            actor=actor,
            citizen_id=int(patient),
            action=Action.SEARCH,
            category=GATE_CATEGORY,
            purpose=Purpose.TREATMENT,
            resource_type="MedicationAdministration",
        )
        rows = _administrations().filter(citizen=citizen).order_by("-administered_at", "-pk")
        total = rows.count()
        page = [medication_administration_resource(a) for a in rows[offset : offset + count]]
        return self.fhir_response(
            searchset(
                request,
                resource_path="MedicationAdministration",
                resources=page,
                total=total,
                count=count,
                offset=offset,
                params={"patient": patient},
            )
        )
