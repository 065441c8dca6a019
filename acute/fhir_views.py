"""``/fhir/`` endpoints of the acute function: ServiceRequest (referrals), Task
(assignments), Encounter ``visit-<n>`` (visits) and Observation ``vital-<n>``,
read on the gated base (:mod:`core.fhir.resources`); partners see what the gate
entitles them to. A referral is created with ``POST /fhir/ServiceRequest``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.request import Request
from rest_framework.response import Response

from acute import selectors, services
from acute.fhir import (
    encounter_resource,
    observation_resource,
    parse_service_request,
    service_request_resource,
    service_request_subject,
    task_resource,
)
from acute.models import Referral, Visit, VitalSign
from consent.audit.models import Action
from core.api import actor_of
from core.boundary import body_named
from core.errors import Forbidden, InvalidInput
from core.fhir.purpose import request_purpose
from core.fhir.resources import FHIRResource, purpose_or_refused
from core.fhir.views import FHIRView, base_url
from core.models import Role
from core.permissions import roles
from core.purposes import NOT_PERMITTED_MESSAGE, TREATMENT

READERS = frozenset({Role.COORDINATOR, Role.ACUTE_NURSE, Role.PHYSICIAN, Role.HOME_NURSE})
# Partners who refer electronically: physicians of hospitals, 1813 and GP
# practices, and municipal home nurses.
REFERRERS = roles(Role.PHYSICIAN, Role.HOME_NURSE)


def referral_purpose(request: Request) -> str:
    """A referral is asked for treatment (R3): stated or not, no other purpose
    takes one in, not even the emergency a clinician may state for a read
    (``docs/decisions/0023-purpose-of-use.md``)."""
    purpose = request_purpose(request)
    if purpose != TREATMENT:
        raise Forbidden("purpose.not_permitted", NOT_PERMITTED_MESSAGE, field="X-Purpose-Of-Use")
    return purpose


class ServiceRequestCreateView(FHIRView):
    """``POST /fhir/ServiceRequest``: a referral from an authorised partner,
    for treatment: the ``X-Purpose-Of-Use`` it states is read first, and one
    naming no purpose (400 ``purpose.unknown``) or another purpose (403
    ``purpose.not_permitted``) is refused before the body is read, the
    attempt recorded as denied (R9)."""

    permission_classes = [REFERRERS]

    def citizen_refused(self, request: Request) -> int | None:
        """A role refused here is recorded on the citizen the body's subject
        names, if she is registered (R9)."""
        # A body the input checks refused names her as it was sent.
        citizen_id, cpr = service_request_subject(body_named(request))
        return services.referral_citizen_named(citizen_id=citizen_id, cpr=cpr)

    def post(self, request: Request) -> Response:
        purpose_or_refused(
            request,
            action=Action.CREATE,
            resource_type="ServiceRequest",
            stated=referral_purpose,
        )
        # A body refused as it is read is recorded there (decision 0036).
        body = request.data
        try:
            stated = parse_service_request(body)
        except InvalidInput as refused:
            # Refused as sent: an attempt on the citizen its subject names (R9).
            self.refusal_recorded(request, refused.code)
            raise
        referral = services.referral_intake(actor=actor_of(request), electronic=True, **stated)
        body = service_request_resource(referral)
        return self.fhir_response(
            body,
            status=201,
            headers={"Location": f"{base_url(request)}/ServiceRequest/{body['id']}"},
        )


class _Acute(FHIRResource):
    category = selectors.CATEGORY
    readers = READERS


class ServiceRequest(_Acute):
    type = "ServiceRequest"
    id_prefix = "referral-"
    more_interactions = ("create",)
    documentation = (
        "Referrals to the acute function (ids referral-<n>). Create: physicians of"
        " hospitals, 1813 and GP practices, and municipal home nurses; the"
        " responsible physician (behandlingsansvar) is required. While the"
        " citizen is admitted to hospital the status is on-hold (R12)."
    )

    def queryset(self) -> QuerySet[Referral]:
        return Referral.objects.select_related(
            "citizen", "citizen__municipality", "source_organisation", "episode"
        )

    def to_fhir(self, obj: Referral) -> dict[str, Any]:
        return service_request_resource(obj)


class _Visit(_Acute):
    id_prefix = "visit-"

    def queryset(self) -> QuerySet[Visit]:
        return Visit.objects.select_related("citizen", "citizen__municipality", "nurse", "referral")


class Task(_Visit):
    type = "Task"
    documentation = (
        "A nurse's assignment to a referral (ids visit-<n>); one made while the"
        " referral was on hold carries the coordinator's reason (R12)."
    )

    def to_fhir(self, obj: Visit) -> dict[str, Any]:
        return task_resource(obj)


class Encounter(_Visit):
    type = "Encounter"
    documentation = "Acute visits have ids visit-<n>."

    def to_fhir(self, obj: Visit) -> dict[str, Any]:
        return encounter_resource(obj)


class VitalObservation(_Acute):
    type = "Observation"
    id_prefix = "vital-"
    documentation = "Vital signs measured on acute visits (ids vital-<n>, LOINC)."

    def queryset(self) -> QuerySet[VitalSign]:
        return VitalSign.objects.select_related("visit")

    def citizen_of(self, obj: VitalSign) -> int:
        return obj.visit.citizen_id

    def to_fhir(self, obj: VitalSign) -> dict[str, Any]:
        return observation_resource(obj, citizen_id=obj.visit.citizen_id)


RESOURCES = (ServiceRequest(), Task(), Encounter(), VitalObservation())
