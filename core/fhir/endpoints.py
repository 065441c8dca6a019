"""The server-level ``/fhir/`` endpoints, those no resource type owns: the
CapabilityStatement (``/fhir/metadata``), history (served on no type, 405),
and the answer to any path nothing else serves (an unknown type or id, and a
write of data the shared record does not hold, R2). Each stands on
``core.fhir.views.FHIRView``."""

from __future__ import annotations

import re
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.domainresource import DomainResource
from rest_framework.exceptions import APIException, MethodNotAllowed, NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import InvalidInput, NotFoundOrNotAllowed, PlatformError
from core.fhir.capability import capability_statement, registered_resources
from core.fhir.gate import CitizensNamed, current_gate
from core.fhir.purpose import recorded_purpose
from core.fhir.resources import registered, unserved_read_params
from core.fhir.views import (
    ACTION_BY_METHOD,
    FHIR_ID,
    FHIRView,
    base_url,
    refuse_unserved_values,
)
from core.permissions import Public, actor_from_request
from core.validation import row_id_text

# What ``/fhir/metadata`` takes (http.html#capabilities): the statement whole
# (``mode=full``, the default) in JSON. ``mode=terminology`` asks for a
# TerminologyCapabilities and ``mode=normative`` for part of the statement,
# neither served; answered with the whole statement, a client would read it as
# what it asked for.
METADATA_MODES = ("full",)
METADATA_PARAMS_SERVED = "_format, _pretty, _summary=false, mode=full"


class MetadataView(FHIRView):
    """``GET /fhir/metadata``: the CapabilityStatement. A parameter it does not
    serve (``_summary=true``, ``_elements``, a misspelling) is refused as a
    read's is (400 ``read.param_unknown``), and a ``mode`` other than
    ``full`` as a value it does not take (400 ``search.param_invalid``)."""

    permission_classes = [Public]
    authentication_classes: list[Any] = []

    def get(self, request: Request) -> Response:
        query = request.query_params
        unknown = [name for name in unserved_read_params(query) if name != "mode"]
        if unknown:
            names = ", ".join(name[:30] for name in unknown)
            raise InvalidInput(
                "read.param_unknown",
                f"A read answers the whole resource and takes no {names};"
                f" it takes {METADATA_PARAMS_SERVED}.",
                field=unknown[0][:30],
                params={"names": names, "supported": METADATA_PARAMS_SERVED},
            )
        refuse_unserved_values(query, {"mode": METADATA_MODES})
        return self.fhir_response(capability_statement(base_url(request)))


class HistoryView(FHIRView):
    """``/fhir/_history``, ``/fhir/<Type>/_history`` and
    ``/fhir/<Type>/<id>/_history``: history (history-system, history-type,
    history-instance) is an interaction not served, on every type: 405 with
    an OperationOutcome ``not-supported`` and an ``Allow`` that names no
    method, as for any other interaction not served (a version read,
    ``…/_history/<vid>``, is served where the statement lists vread). A type
    not served here is unknown (404), as at any other path under it. A signed-in
    caller's attempt is recorded as refused (R9), on the citizen the path
    names (``Patient/<id>/_history``), as any other 405 is
    (:meth:`FHIRView.handle_exception`)."""

    permission_classes = [Public]
    body_required = False

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        resource_type = kwargs.get("resource_type")
        if resource_type is not None and resource_type not in registered_resources():
            raise NotFoundOrNotAllowed(
                "fhir.not_supported",
                "This FHIR resource type or interaction is not implemented here;"
                " see /fhir/metadata.",
            )
        # No method is served here: FHIRView answers 405 before anything else.
        super().initial(request, *args, **kwargs)


def _is_data_type(resource_type: str) -> bool:
    """Whether ``resource_type`` is a FHIR R4B resource that holds data about
    someone or something (a DomainResource: MedicationStatement,
    AllergyIntolerance, DocumentReference …), not an envelope or an unknown name."""
    if resource_type == "DomainResource" or not re.fullmatch(r"[A-Z][A-Za-z]{1,63}", resource_type):
        return False
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        return False
    return issubclass(model, DomainResource)


def _citizen_of_instance(rest: str) -> CitizensNamed:
    """The citizen whose row the instance a path below ``/fhir/`` names
    (``Condition/5/_history/1``: Condition 5's) is, as the type that serves
    the id names her; None for an id no type takes."""
    resource_type, _, tail = rest.partition("/")
    resource_id = tail.partition("/")[0]
    if not resource_id:
        return None
    for resource in registered():
        if (
            resource.type == resource_type
            and resource.ids_name_a_citizen
            and resource.row_id(resource_id) is not None
        ):
            return resource.citizen_named(resource_id, None)
    return None


class UnknownResourceView(FHIRView):
    """Anything under /fhir/ that is not implemented answers with an
    OperationOutcome. A read of a type served here by an id in no form the
    type's routes take (``Observation/abc``) is an unknown id like any other:
    it needs a signed-in caller, answers as a refusal does, and the attempt is
    recorded (R9), and so is a read of a path below such an instance that
    nothing serves (``Patient/7/_history/1``), on the instance's citizen.
    A write to a path nobody knows is answered 404 to anyone,
    and a signed-in caller's attempt is recorded, on the citizen its body or
    path names."""

    permission_classes = [Public]
    body_required = False

    # What a method is at a type's path and at an instance's, by the
    # interaction the statement lists for it (a PUT, PATCH or DELETE of a
    # type is a conditional one, served on no type here).
    TYPE_INTERACTIONS = {"GET": "search-type", "HEAD": "search-type", "POST": "create"}
    INSTANCE_INTERACTIONS = {
        "GET": "read",
        "HEAD": "read",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete",
    }
    # The methods served at the path of a 405, for its ``Allow`` header.
    served_here: list[str] | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # An interaction a type served here does not serve (a search of a type
        # not searched, a create, update, patch or delete it does not list) is
        # answered 405 with an ``Allow`` naming what its path serves, as on a
        # type whose route serves other methods (http.html: an interaction not
        # supported on a known type), before anything else is asked of the
        # request. An unknown type, or an id in no form a listed interaction
        # takes, stays unknown (404).
        served = self._served_if_not(request, str(kwargs.get("rest", "")))
        if served is not None:
            self.served_here = served
            raise MethodNotAllowed(request.method or "")
        super().initial(request, *args, **kwargs)

    @classmethod
    def _served_if_not(cls, request: Request, rest: str) -> list[str] | None:
        """The methods a registered type's path serves, when the request's
        method is an interaction the type does not serve there; else None."""
        resource_type, _, tail = rest.partition("/")
        capability = registered_resources().get(resource_type)
        if capability is None:
            return None
        method = request.method or ""
        listed = capability.interactions
        if tail == "_search":
            by_method = {"GET": "search-type", "HEAD": "search-type", "POST": "search-type"}
        elif not tail:
            by_method = cls.TYPE_INTERACTIONS
        elif "/" not in tail and not tail.startswith(("_", "$")):
            by_method = cls.INSTANCE_INTERACTIONS
        else:
            return None
        if method in ("GET", "HEAD") and tail and tail != "_search":
            return None  # a read of an id in no form the type's routes take: unknown
        if method not in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
            return None
        if method in by_method and by_method[method] in listed:
            return None  # served, for an id in another form: unknown
        return [m for m, interaction in by_method.items() if interaction in listed]

    def perform_authentication(self, request: Request) -> None:
        # Who asks must be known before such a read and a write of data (R2).
        # Elsewhere it is asked only to record the attempt: credentials that
        # fail (REST framework's session check refusing a browser's POST with
        # no CSRF token) name no one, and the path is still unknown (404).
        if request.method in ("GET", "HEAD") or self._writes_unserved_data():
            super().perform_authentication(request)

    def _writes_unserved_data(self) -> bool:
        resource_type = str(self.kwargs.get("rest", "")).partition("/")[0]
        return (
            self.request.method in ("POST", "PUT", "PATCH")
            and resource_type not in registered_resources()
            and _is_data_type(resource_type)
        )

    def citizen_refused(self, request: Request) -> CitizensNamed:
        """The citizen a refused read names: hers whose instance its path is
        below. The citizen a refused write names: its body's ``subject``,
        ``patient`` or (a Task's) ``for`` (``Patient/<id>``), if it is one the
        platform could hold, else the Patient its path is on."""
        path_named = super().citizen_refused(request)
        if request.method in ("GET", "HEAD"):
            return _citizen_of_instance(str(self.kwargs.get("rest", ""))) or path_named
        try:
            body = request.data
        except (PlatformError, APIException):
            body = None
        if not isinstance(body, dict):
            return path_named if isinstance(path_named, int) else None
        for name in ("subject", "patient", "for"):
            reference = body.get(name)
            raw = reference.get("reference") if isinstance(reference, dict) else None
            if isinstance(raw, str) and raw.startswith("Patient/"):
                patient_id = raw.removeprefix("Patient/")
                if (pk := row_id_text(patient_id)) is not None:
                    return pk
        return path_named if isinstance(path_named, int) else None

    def dispatch_any(self, request: Request, rest: str = "") -> Response:
        resource_type, _, resource_id = rest.partition("/")
        capability = registered_resources().get(resource_type)
        if (
            request.method in ("GET", "HEAD")
            and capability is not None
            and "read" in capability.interactions
            and resource_id
            and "/" not in resource_id
        ):
            actor = actor_from_request(request)
            if actor is None:
                raise NotAuthenticated()
            current_gate().refuse(
                actor=actor,
                action="read",
                purpose=recorded_purpose(request),
                resource_type=resource_type,
                resource_id=resource_id if FHIR_ID.fullmatch(resource_id) else "",
                reason_code="unknown_resource",
            )
            raise NotFoundOrNotAllowed()
        if request.method in ("GET", "HEAD") and capability is not None and resource_id:
            # A path below an instance of a type served here that serves
            # nothing there (a version read of a type without vread, an
            # operation not served, a trailing slash): an attempt on the
            # citizen the instance is hers all the same, recorded (R9) as
            # the same path's history (405) is.
            if actor_from_request(request) is not None:
                self.refusal_recorded(request, "fhir.not_supported")
            raise NotFoundOrNotAllowed(
                "fhir.not_supported",
                "This FHIR resource type or interaction is not implemented here;"
                " see /fhir/metadata.",
            )
        if (
            request.method in ("POST", "PUT", "PATCH")
            and capability is None
            and _is_data_type(resource_type)
        ):
            # R2: a write of data the platform holds nowhere (a medication
            # statement, an allergy, a document) is refused naming the rule,
            # not answered as a path nobody knows. A type served here answers
            # for its own interactions. Only to a caller signed in (nothing is
            # told before), and the attempt is recorded (R9), on the citizen
            # the body names.
            if actor_from_request(request) is None:
                raise NotAuthenticated()
            self.refusal_recorded(request, "record.type_not_permitted")
            raise InvalidInput(
                "record.type_not_permitted",
                f"R2 permitted data only: {resource_type} is not part of the shared record.",
                field="resourceType",
                rule="R2",
                params={"type": resource_type},
            )
        if request.method in ACTION_BY_METHOD:
            # A write to a path nobody knows, by a signed-in caller, is an
            # attempt on the record all the same (R9).
            try:
                known = actor_from_request(request) is not None
            except (APIException, PlatformError):
                known = False
            if known:
                self.refusal_recorded(request, "fhir.not_supported")
        raise NotFoundOrNotAllowed(
            "fhir.not_supported",
            "This FHIR resource type or interaction is not implemented here; see /fhir/metadata.",
        )

    get = post = put = patch = delete = dispatch_any

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        # Nothing is served here: a 405 names what the type serves at the
        # path, anything else no method, never every method as if it were.
        if response.has_header("Allow"):
            del response["Allow"]
        if response.status_code == 405 and self.served_here is not None:
            response["Allow"] = ", ".join(self.served_here)
        return response
