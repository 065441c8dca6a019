"""``/fhir/`` endpoints of the acute function: ServiceRequest (referrals), Task
(assignments), Encounter ``visit-<n>`` (visits) and Observation ``vital-<n>``.
Every read passes the gate; partners see what the gate entitles them to."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from acute import selectors, services
from acute.fhir import (
    encounter_resource,
    observation_resource,
    parse_service_request,
    service_request_resource,
    task_resource,
)
from acute.models import VitalSign
from core.api import actor_of
from core.errors import NotFoundOrNotAllowed
from core.fhir.views import FHIRView, base_url
from core.models import Role
from core.permissions import roles

READERS = roles(Role.COORDINATOR, Role.ACUTE_NURSE, Role.PHYSICIAN, Role.HOME_NURSE)
# Partners who refer electronically: physicians of hospitals, 1813 and GP
# practices, and municipal home nurses.
REFERRERS = roles(Role.PHYSICIAN, Role.HOME_NURSE)


class ServiceRequestCreateView(FHIRView):
    """``POST /fhir/ServiceRequest``: a referral from an authorised partner."""

    permission_classes = [REFERRERS]

    def post(self, request: Request) -> Response:
        referral = services.referral_intake(
            actor=actor_of(request), electronic=True, **parse_service_request(request.data)
        )
        body = service_request_resource(referral)
        return self.fhir_response(
            body,
            status=201,
            headers={"Location": f"{base_url(request)}/ServiceRequest/{body['id']}"},
        )


class ServiceRequestReadView(FHIRView):
    permission_classes = [READERS]

    def get(self, request: Request, pk: int) -> Response:
        referral = selectors.referral_get(actor=actor_of(request), referral_id=pk)
        return self.fhir_response(service_request_resource(referral))


class TaskReadView(FHIRView):
    permission_classes = [READERS]

    def get(self, request: Request, pk: int) -> Response:
        visit = selectors.visit_get(actor=actor_of(request), visit_id=pk)
        return self.fhir_response(task_resource(visit))


class EncounterReadView(FHIRView):
    permission_classes = [READERS]

    def get(self, request: Request, pk: int) -> Response:
        visit = selectors.visit_get(actor=actor_of(request), visit_id=pk)
        return self.fhir_response(encounter_resource(visit))


class ObservationReadView(FHIRView):
    permission_classes = [READERS]

    def get(self, request: Request, pk: int) -> Response:
        sign = VitalSign.objects.filter(pk=pk).values_list("visit_id", flat=True).first()
        if sign is None:
            raise NotFoundOrNotAllowed()
        visit = selectors.visit_get(actor=actor_of(request), visit_id=sign)
        vital = visit.vital_signs.get(pk=pk)
        return self.fhir_response(observation_resource(vital, citizen_id=visit.citizen_id))
