"""The audit entries of clinical work (R9): work done on a citizen's record,
and attempts refused. Both are for treatment; reads through the gate are
audited by the gate itself."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from acute.clinical.models import (
    Delegation,
    LabResult,
    MedicationOrder,
    PhysicianAlert,
    ProcedureRecord,
)
from consent.audit.services import Action, Purpose, audit_record
from consent.services.denied import audit_denied
from core.actors import Actor
from core.errors import PlatformError

ClinicalRecord = Delegation | LabResult | MedicationOrder | PhysicianAlert | ProcedureRecord

# How each clinical record is named on the audit log: as its FHIR resource.
AUDIT_RESOURCE_TYPES: dict[type[ClinicalRecord], str] = {
    Delegation: "Delegation",
    LabResult: "Observation",
    MedicationOrder: "MedicationRequest",
    PhysicianAlert: "Flag",
    ProcedureRecord: "Procedure",
}


def clinical_audit(
    actor: Actor, action: str, record: ClinicalRecord, detail: dict[str, object]
) -> None:
    """The audit entry of clinical work on ``record`` (R9): about its citizen,
    for treatment, naming the record as its FHIR resource."""
    audit_record(
        actor=actor,
        action=action,
        purpose=Purpose.TREATMENT,
        citizen_id=record.citizen_id,
        resource_type=AUDIT_RESOURCE_TYPES[type(record)],
        resource_id=str(record.pk),
        detail=detail,
    )


def clinical_denied(
    actor: Actor,
    action: str,
    reason_code: str,
    citizen_id: int | None,
    *,
    resource_type: str,
    resource_id: str = "",
    rule: str | None = None,
) -> None:
    """A refused clinical read or write, recorded as a denied attempt (R9)."""
    audit_denied(
        actor=actor,
        action=action,
        purpose=Purpose.TREATMENT,
        reason_code=reason_code,
        citizen_id=citizen_id,
        resource_type=resource_type,
        resource_id=resource_id,
        rule=rule,
    )


@contextmanager
def update_refusals_recorded(
    actor: Actor,
    record: ClinicalRecord,
    refusals: type[PlatformError] = PlatformError,
) -> Iterator[None]:
    """A refused update of ``record`` (one of ``refusals``) is recorded as a
    denied attempt (R9) once its transaction has rolled back, then raised on."""
    try:
        yield
    except refusals as error:
        clinical_denied(
            actor,
            Action.UPDATE,
            error.code,
            record.citizen_id,
            resource_type=AUDIT_RESOURCE_TYPES[type(record)],
            resource_id=str(record.pk),
            rule=error.rule,
        )
        raise
