"""The purpose of use a ``/fhir/`` request states (R3), by the one rule of
:mod:`core.purposes`: the ``X-Purpose-Of-Use`` header (the platform's word or
the HL7 v3 code), or without it the purpose the caller's role exists for; a
purpose the role may not state is refused (403 ``purpose.not_permitted``),
a value that names none is bad input (400 ``purpose.unknown``)."""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.request import Request

from core.permissions import actor_from_request
from core.purposes import purpose_known, purpose_stated, role_purpose

PURPOSE_HEADER = "HTTP_X_PURPOSE_OF_USE"
# Why an attempt was refused for its purpose (the audit log's reason codes).
PURPOSE_UNKNOWN = "purpose_unknown"
PURPOSE_NOT_PERMITTED = "purpose_not_permitted"


def _role(request: HttpRequest | Request) -> str:
    actor = actor_from_request(request)
    return actor.role if actor is not None else ""


def request_purpose(request: HttpRequest | Request) -> str:
    """The purpose the request states, or its role's; raises for one the
    platform does not know or the role may not state. Only reads: the caller
    records a refusal."""
    return purpose_stated(request.META.get(PURPOSE_HEADER), _role(request))


def recorded_purpose(request: HttpRequest | Request) -> str:
    """The purpose an attempt refused for any reason is recorded with: the
    one the request states when the platform knows it (even one the role may
    not state: that is what was asked), else the one its role exists for."""
    return purpose_known(request.META.get(PURPOSE_HEADER)) or role_purpose(_role(request))
