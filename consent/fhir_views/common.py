"""What every ``/fhir/`` view of the shared record, Patient and Consent
shares: the stated purpose of use (recorded when refused), the body as one
resource, the citizen a path names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from consent.audit.models import Action
from consent.fhir import RECORD_TYPES
from consent.gate import CLINICAL_ROLES
from core.api import actor_of
from core.errors import InvalidInput, NotFoundOrNotAllowed
from core.fhir.gate import current_gate
from core.fhir.resources import (
    FHIR_ID,
    READ,
    ResourceReadView,
    check_read_params,
    purpose_or_refused,
)
from core.models import Role
from core.permissions import roles
from core.validation import row_id_text

# The roles the gate can let at a type's data (consent.gate.rules.access_decide):
# any other is refused 403 before the gate is asked, and the refusal recorded
# (R9), never answered with an empty searchset as if the citizen had no data.
# The clinical roles read the record and the citizen; the administrator the
# citizen's refusals and consents (consent administration), nothing else;
# the auditor reads the log and the insight report, not the record.
RECORD_READERS = frozenset(CLINICAL_ROLES)
CONSENT_READERS = RECORD_READERS | {Role.ADMINISTRATOR}
RECORD_WRITERS = roles(*CLINICAL_ROLES)


def stated_purpose(
    request: Request,
    *,
    action: str,
    resource_type: str,
    resource_id: str = "",
    citizen: Callable[[], int | None] = lambda: None,
) -> str:
    """The purpose a write or an operation states, or the one the caller's
    role exists for (:mod:`core.purposes`). One that names no purpose, or
    that the role may not state, is refused and the attempt recorded as the
    FHIR base records a refused read (R9): denied, reason ``purpose_unknown``
    or ``purpose_not_permitted``, on the log of the citizen the request names
    (``citizen()``, asked only then), if any."""
    return purpose_or_refused(
        request,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        citizen=citizen,
    )


def read_purpose(
    request: Request,
    *,
    resource_type: str,
    resource_id: str,
    citizen: Callable[[], int | None],
    operation: str = "",
) -> str:
    """The purpose a read of one resource (or an ``operation`` that answers
    whole resources, ``$everything``) states (:func:`stated_purpose`), once
    its query parameters are checked: one the read does not serve is refused
    and the attempt recorded (:func:`core.fhir.resources.check_read_params`)."""
    purpose = stated_purpose(
        request,
        action=READ,
        resource_type=resource_type,
        resource_id=resource_id,
        citizen=citizen,
    )
    check_read_params(
        request,
        actor=actor_of(request),
        purpose=purpose,
        resource_type=resource_type,
        resource_id=resource_id,
        citizen=citizen,
        operation=operation,
    )
    return purpose


def citizen_in_path(raw: str) -> int | None:
    """The citizen a path's Patient id names (:func:`core.validation.row_id_text`)."""
    return row_id_text(raw)


def fhir_body(request: Request) -> dict[str, Any]:
    data = request.data
    if not isinstance(data, dict):
        raise InvalidInput("fhir.invalid", "The body must be one FHIR resource (a JSON object).")
    return data


def check_record_type(resource_type: str) -> None:
    if resource_type not in RECORD_TYPES:
        raise NotFoundOrNotAllowed(
            "fhir.not_supported", "This FHIR resource type is not served here; see /fhir/metadata."
        )


def update_stated(request: Request) -> dict[str, Any]:
    """What a versioned update (``PUT``) states: the resource, and the version
    it updates (``If-Match``), as the update services take them."""
    return {"data": fhir_body(request), "if_match": request.META.get("HTTP_IF_MATCH")}


class VersionedUpdateView(ResourceReadView):
    """``GET`` (the base) and ``PUT /fhir/<Type>/<id>``: read, and update the
    version ``If-Match`` names. A type says which citizen an id names (for
    the record of a refused purpose) and how its update is written."""

    def citizen_named(self, resource_id: str) -> int | None:
        raise NotImplementedError

    def updated(self, request: Request, resource_id: int, purpose: str) -> Response:
        raise NotImplementedError

    def put(self, request: Request, resource_id: str) -> Response:
        if row_id_text(resource_id) is None:
            raise NotFoundOrNotAllowed()
        purpose = stated_purpose(
            request,
            action=Action.UPDATE,
            resource_type=self.resource.type,
            resource_id=resource_id,
            citizen=lambda: self.citizen_named(resource_id),
        )
        self.check_body_id(request, resource_id, purpose)
        return self.updated(request, int(resource_id), purpose)

    def check_body_id(self, request: Request, resource_id: str, purpose: str) -> None:
        """The body of an update is the resource the URL names, id and all
        (FHIR http.html#update: an id element identical to the URL's, else
        400). One without an id, or with another, is refused before anything
        is read or written, and the attempt recorded (R9) on the citizen the
        URL names."""
        body = fhir_body(request)
        sent = body.get("id")
        if sent == resource_id:
            return
        code, message = (
            ("fhir.id_missing", "The body of an update must carry the id in the URL.")
            if sent is None or sent == ""
            else ("fhir.id_mismatch", "The id in the body differs from the URL.")
        )
        current_gate().refuse(
            actor=actor_of(request),
            action=Action.UPDATE,
            purpose=purpose,
            resource_type=self.resource.type,
            resource_id=resource_id if FHIR_ID.fullmatch(resource_id) else "",
            reason_code=code,
            citizen_id=self.citizen_named(resource_id),
        )
        raise InvalidInput(code, message, field="id")
