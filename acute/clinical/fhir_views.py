"""``/fhir/``: Observation (lab results, ids ``lab-<n>``), Procedure and
MedicationRequest, read and searched by patient and encounter, behind the gate."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework.request import Request
from rest_framework.response import Response

from acute.clinical import fhir, selectors
from acute.clinical.models import LabResult, MedicationOrder, ProcedureRecord
from consent.audit.services import Action, Purpose
from consent.gate import access_citizen
from core.errors import InvalidInput
from core.fhir.views import FHIRView, paging_params, searchset
from core.models import Role
from core.permissions import actor_from_request, roles

CLINICAL_READERS = roles(Role.ACUTE_NURSE, Role.COORDINATOR, Role.PHYSICIAN)


def _reference_id(raw: str, prefix: str, field: str) -> int:
    value = raw.strip()
    for head in (f"{prefix}/", ""):
        if value.startswith(head) and value[len(head) :].isdigit():
            return int(value[len(head) :])
    raise InvalidInput(
        "search.param_invalid", f"{field} must be {prefix}/<id> or <id>.", field=field
    )


def _visit_id(raw: str) -> int:
    value = raw.strip().removeprefix("Encounter/")
    if value.startswith("visit-") and value[6:].isdigit():
        return int(value[6:])
    raise InvalidInput(
        "search.param_invalid", "encounter must be Encounter/visit-<id>.", field="encounter"
    )


class _ClinicalResource(FHIRView):
    permission_classes = [CLINICAL_READERS]
    resource_type = ""
    category = selectors.CATEGORY

    def queryset(self) -> QuerySet[Any]:
        raise NotImplementedError

    def to_fhir(self, obj: Any) -> dict[str, Any]:
        raise NotImplementedError


class _Read(_ClinicalResource):
    def get(self, request: Request, pk: int) -> Response:
        actor = actor_from_request(request)
        assert actor is not None
        obj = self.queryset().filter(pk=pk).first()
        if obj is None:
            raise selectors.deny(
                actor,
                citizen_id=None,
                resource_type=self.resource_type,
                resource_id=str(pk),
                reason="unknown_resource",
            )
        access_citizen(
            actor=actor,
            citizen_id=obj.citizen_id,
            action=Action.READ,
            category=self.category,
            purpose=Purpose.TREATMENT,
            resource_type=self.resource_type,
            resource_id=str(pk),
        )
        return self.fhir_response(self.to_fhir(obj))


class _Search(_ClinicalResource):
    """Search by ``patient`` (required) and ``encounter``; one gate decision for the citizen."""

    order_by: tuple[str, ...] = ("pk",)

    def get(self, request: Request) -> Response:
        actor = actor_from_request(request)
        assert actor is not None
        raw_patient = request.query_params.get("patient") or request.query_params.get("subject")
        if not raw_patient:
            raise InvalidInput(
                "search.patient_required",
                "Search by patient: ?patient=Patient/<id>.",
                field="patient",
            )
        citizen_id = _reference_id(raw_patient, "Patient", "patient")
        count, offset = paging_params(request)
        qs = self.queryset().filter(citizen_id=citizen_id)
        raw_encounter = request.query_params.get("encounter")
        if raw_encounter:
            qs = qs.filter(visit_id=_visit_id(raw_encounter))
        access_citizen(
            actor=actor,
            citizen_id=citizen_id,
            action=Action.SEARCH,
            category=self.category,
            purpose=Purpose.TREATMENT,
            resource_type=self.resource_type,
        )
        total = qs.count()
        page = list(qs.order_by(*self.order_by)[offset : offset + count])
        bundle = searchset(
            request,
            resource_path=self.resource_type,
            resources=[self.to_fhir(obj) for obj in page],
            total=total,
            count=count,
            offset=offset,
        )
        return self.fhir_response(bundle)


def _results() -> QuerySet[LabResult]:
    return LabResult.objects.select_related("test", "recorded_by", "recorded_by_organisation")


def _procedures() -> QuerySet[ProcedureRecord]:
    return ProcedureRecord.objects.select_related("test", "recorded_by", "recorded_by_organisation")


def _orders() -> QuerySet[MedicationOrder]:
    return MedicationOrder.objects.select_related("recorded_by", "recorded_by_organisation")


class ObservationRead(_Read):
    resource_type = "Observation"

    def queryset(self) -> QuerySet[Any]:
        return _results()

    def to_fhir(self, obj: Any) -> dict[str, Any]:
        return fhir.observation_resource(obj)


class ObservationSearch(_Search):
    resource_type = "Observation"
    order_by = ("effective_at", "pk")

    def queryset(self) -> QuerySet[Any]:
        return _results()

    def to_fhir(self, obj: Any) -> dict[str, Any]:
        return fhir.observation_resource(obj)


class ProcedureRead(_Read):
    resource_type = "Procedure"

    def queryset(self) -> QuerySet[Any]:
        return _procedures()

    def to_fhir(self, obj: Any) -> dict[str, Any]:
        return fhir.procedure_resource(obj)


class ProcedureSearch(_Search):
    resource_type = "Procedure"
    order_by = ("performed_at", "pk")

    def queryset(self) -> QuerySet[Any]:
        return _procedures()

    def to_fhir(self, obj: Any) -> dict[str, Any]:
        return fhir.procedure_resource(obj)


class MedicationRequestSearch(_Search):
    resource_type = "MedicationRequest"
    order_by = ("ordered_at", "pk")

    def queryset(self) -> QuerySet[Any]:
        return _orders()

    def to_fhir(self, obj: Any) -> dict[str, Any]:
        return fhir.medication_request_resource(obj)


class MedicationRequestRead(_ClinicalResource):
    """MedicationRequest read: behind the gate, or the ordering physician's own order."""

    resource_type = "MedicationRequest"

    def get(self, request: Request, pk: int) -> Response:
        actor = actor_from_request(request)
        assert actor is not None
        order: Model
        if (
            actor.role == Role.PHYSICIAN
            and _orders().filter(pk=pk, ordering_physician=actor.user).exists()
        ):
            selectors.order_access_for_physician(actor=actor, order_id=pk)
            order = _orders().get(pk=pk)
        else:
            found = _orders().filter(pk=pk).first()
            if found is None:
                raise selectors.deny(
                    actor,
                    citizen_id=None,
                    resource_type=self.resource_type,
                    resource_id=str(pk),
                    reason="unknown_resource",
                )
            access_citizen(
                actor=actor,
                citizen_id=found.citizen_id,
                action=Action.READ,
                category=self.category,
                purpose=Purpose.TREATMENT,
                resource_type=self.resource_type,
                resource_id=str(pk),
            )
            order = found
        assert isinstance(order, MedicationOrder)
        return self.fhir_response(fhir.medication_request_resource(order))
