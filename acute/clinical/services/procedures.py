"""Procedures the nurse performs on the visit under a delegation (R7)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy

from acute.clinical.audit import clinical_audit
from acute.clinical.models import (
    ProcedureRecord,
    TestDefinition,
)
from acute.clinical.services.common import (
    RESULT_STATUSES,
    catalogue_entry,
    delegation_or_refuse,
    refuse,
    require_user,
    require_visit_status,
    visit_held,
    within_visit,
)
from acute.models import Visit
from consent.audit.services import Action
from core.actors import Actor
from core.errors import (
    InvalidInput,
    PlatformError,
)
from core.validation import full_clean_or_raise


def procedure_record(
    *,
    actor: Actor,
    visit: Visit,
    code: str,
    performed_at: dt.datetime | None = None,
    status: str = ProcedureRecord.Status.COMPLETED,
    note: str = "",
) -> ProcedureRecord:
    """Record a procedure done on the visit: urinary catheter or feeding tube
    placement (R7), or a delegated one."""
    user = require_user(actor)
    assert actor.organisation is not None
    try:
        require_visit_status(visit, RESULT_STATUSES, gettext_lazy("Procedures"))
        test = catalogue_entry(code, kind=TestDefinition.Kind.PROCEDURE, field="code")
    except PlatformError as error:
        # A refused write on the citizen's record (R9), as one without a delegation is.
        raise refuse(
            error, actor=actor, citizen_id=visit.citizen_id, resource_type="Procedure"
        ) from None
    when = performed_at or timezone.now()
    delegation = delegation_or_refuse(
        actor=actor, visit=visit, test=test, resource_type="Procedure", when=when
    )
    within_visit(when, visit, actor=actor, field="performed_at", resource_type="Procedure")
    if status not in ProcedureRecord.Status.values:
        raise refuse(
            InvalidInput("procedure.status_invalid", "Unknown procedure status.", field="status"),
            actor=actor,
            citizen_id=visit.citizen_id,
            resource_type="Procedure",
        )
    procedure = ProcedureRecord(
        visit=visit,
        citizen_id=visit.citizen_id,
        test=test,
        status=status,
        performed_at=when,
        note=note.strip(),
        delegation=delegation,
        recorded_by=user,
        recorded_by_organisation=actor.organisation,
    )
    full_clean_or_raise(procedure, code="procedure.invalid", exclude=["visit"])
    with visit_held(
        visit=visit,
        allowed=RESULT_STATUSES,
        what=gettext_lazy("Procedures"),
        actor=actor,
        resource_type="Procedure",
    ):
        procedure.save(force_insert=True)
        clinical_audit(actor, Action.CREATE, procedure, {"code": test.code})
    return procedure


# --- Physician medication orders (R8) ---------------------------------------
