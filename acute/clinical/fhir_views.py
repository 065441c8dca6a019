"""``/fhir/``: Observation (lab results, ids ``lab-<n>``), Procedure and
MedicationRequest, read and searched by patient and encounter, on the gated
base (:mod:`core.fhir.resources`)."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from acute.clinical import fhir, selectors
from acute.clinical.models import LabResult, MedicationOrder, ProcedureRecord
from core.errors import InvalidInput
from core.fhir.resources import READ, Asked, FHIRResource, Param
from core.models import Role
from core.validation import is_digits

CLINICAL_READERS = frozenset({Role.ACUTE_NURSE, Role.COORDINATOR, Role.PHYSICIAN})


def _of_visit(rows: QuerySet[Any], raw: str) -> QuerySet[Any]:
    value = raw.strip().removeprefix("Encounter/")
    if value.startswith("visit-") and is_digits(value[6:]):
        return rows.filter(visit_id=int(value[6:]))
    raise InvalidInput(
        "search.param_invalid", "encounter must be Encounter/visit-<id>.", field="encounter"
    )


BY_PATIENT = (
    Param("patient", "reference", "Patient/<id>.", names_citizen=True),
    Param("subject", "reference", "The same as patient.", names_citizen=True),
    Param("encounter", "reference", "Encounter/visit-<id>.", narrow=_of_visit),
)


class _Clinical(FHIRResource):
    category = selectors.CATEGORY
    readers = CLINICAL_READERS
    search_params = BY_PATIENT
    # The searches answer only for one citizen (one gate decision).
    required = (("patient",), ("subject",))


class LabObservation(_Clinical):
    type = "Observation"
    id_prefix = "lab-"
    order_by = ("effective_at", "pk")
    documentation = (
        "Lab results taken on a visit (ids lab-<n>): NPU-coded, UCUM quantities, "
        "interpreted (HL7 ObservationInterpretation)."
    )

    def queryset(self) -> QuerySet[LabResult]:
        return LabResult.objects.select_related("test", "recorded_by", "recorded_by_organisation")

    def to_fhir(self, obj: LabResult) -> dict[str, Any]:
        return fhir.observation_resource(obj)


class Procedure(_Clinical):
    type = "Procedure"
    order_by = ("performed_at", "pk")
    documentation = "Procedures on a visit: urinary catheter, feeding tube, delegated tasks."

    def queryset(self) -> QuerySet[ProcedureRecord]:
        return ProcedureRecord.objects.select_related(
            "test", "recorded_by", "recorded_by_organisation"
        )

    def to_fhir(self, obj: ProcedureRecord) -> dict[str, Any]:
        return fhir.procedure_resource(obj)


class MedicationRequest(_Clinical):
    """Behind the gate, or the ordering physician's own order."""

    type = "MedicationRequest"
    order_by = ("ordered_at", "pk")
    documentation = (
        "Physician orders: phone orders (reportedReference: the nurse who received "
        "and read back) and written electronic orders; confirmation and "
        "prescription status as extensions."
    )

    def queryset(self) -> QuerySet[MedicationOrder]:
        # ``dosed``: a withdrawn order under which a dose was given is
        # ``stopped``, not ``cancelled`` (fhir._order_status), in the same query.
        return MedicationOrder.objects.select_related(
            "recorded_by", "recorded_by_organisation", "correction"
        ).annotate(
            dosed=Exists(
                MedicationOrder.objects.filter(pk=OuterRef("pk"), administrations__isnull=False)
            )
        )

    def to_fhir(self, obj: MedicationOrder) -> dict[str, Any]:
        return fhir.medication_request_resource(obj)

    def read(self, asked: Asked, resource_id: str) -> Any:
        actor, pk = asked.actor, self.row_id(resource_id)
        if (
            pk is not None
            and actor.role == Role.PHYSICIAN
            and self.queryset().filter(pk=pk, ordering_physician=actor.user).exists()
        ):
            selectors.order_access_for_physician(actor=actor, order_id=pk, action=READ)
            return self.queryset().get(pk=pk)
        return super().read(asked, resource_id)


RESOURCES = (LabObservation(), Procedure(), MedicationRequest())
