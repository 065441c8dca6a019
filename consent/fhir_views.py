"""``/fhir/`` endpoints of the shared record, Consent and the insight Bundle.

Thin: parse, call one selector or service (which asks the gate), serialise.
Every staff role may *ask*; the gate decides per citizen and records the
answer, so a refused role is audited like any other refusal and sees the same
"not found" as for a record that does not exist.

The purpose of use comes from the ``X-Purpose-Of-Use`` header (the platform's
purpose or its HL7 v3 code: TREAT, ETREAT, HOPERAT …); without it, treatment.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import QueryDict
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from consent import selectors, services
from consent.fhir import PURPOSE_BY_CODE, RECORD_TYPES, consent_resource, etag, record_resource
from consent.fhir.datatypes import validate_fhir
from consent.gate import CLINICAL_ROLES
from core.api import actor_of
from core.cpr import CPR_SYSTEM
from core.errors import InvalidInput, NotFoundOrNotAllowed
from core.fhir.views import FHIRView, base_url, paging_params, searchset
from core.models import Role
from core.permissions import roles

ANY_STAFF = roles(*Role.values)
RECORD_WRITERS = roles(*CLINICAL_ROLES)
PURPOSE_HEADER = "HTTP_X_PURPOSE_OF_USE"


def request_purpose(request: Request) -> str:
    raw = (request.META.get(PURPOSE_HEADER) or "treatment").strip()
    purpose = PURPOSE_BY_CODE.get(raw.upper(), raw.lower())
    if purpose not in PURPOSE_BY_CODE.values():
        raise InvalidInput(
            "purpose.unknown",
            "X-Purpose-Of-Use is one of treatment, emergency, operations, analysis, audit "
            "(or TREAT, ETREAT, HOPERAT, HRESCH, HSYSADMIN).",
            field="X-Purpose-Of-Use",
        )
    return purpose


def _body(request: Request) -> dict[str, Any]:
    data = request.data
    if not isinstance(data, dict):
        raise InvalidInput("fhir.invalid", "The body must be one FHIR resource (a JSON object).")
    return data


def _check_type(resource_type: str) -> None:
    if resource_type not in RECORD_TYPES:
        raise NotFoundOrNotAllowed(
            "fhir.not_supported", "This FHIR resource type is not served here; see /fhir/metadata."
        )


class RecordTypeView(FHIRView):
    """``GET /fhir/<Type>`` search, ``POST /fhir/<Type>`` create."""

    permission_classes = [ANY_STAFF]

    def get(self, request: Request, resource_type: str) -> Response:
        _check_type(resource_type)
        count, offset = paging_params(request)
        params = selectors.parse_search(request.query_params)
        page, total = selectors.record_search(
            actor=actor_of(request),
            resource_type=resource_type,
            params=params,
            purpose=request_purpose(request),
            count=count,
            offset=offset,
        )
        return self.fhir_response(
            searchset(
                request,
                resource_path=resource_type,
                resources=[record_resource(r) for r in page],
                total=total,
                count=count,
                offset=offset,
            )
        )

    def post(self, request: Request, resource_type: str) -> Response:
        _check_type(resource_type)
        resource = services.record_resource_create(
            actor=actor_of(request),
            data=_body(request),
            purpose=request_purpose(request),
            expected_type=resource_type,
        )
        return _written(self, request, resource, status=201)


def _written(view: FHIRView, request: Request, resource: Any, status: int) -> Response:
    return view.fhir_response(
        record_resource(resource),
        status=status,
        headers={
            "ETag": etag(resource.version_id),
            "Location": f"{base_url(request)}/{resource.resource_type}/{resource.pk}"
            f"/_history/{resource.version_id}",
        },
    )


class RecordInstanceView(FHIRView):
    """``GET``/``PUT /fhir/<Type>/<id>``: read and versioned update."""

    permission_classes = [ANY_STAFF]

    def get(self, request: Request, resource_type: str, resource_id: str) -> Response:
        _check_type(resource_type)
        if settings.CONSENT_BENCH_BARE_READS:
            resource = selectors.record_read_bare(
                resource_type=resource_type, resource_id=resource_id
            )
        else:
            resource = selectors.record_read(
                actor=actor_of(request),
                resource_type=resource_type,
                resource_id=resource_id,
                purpose=request_purpose(request),
            )
        return self.fhir_response(
            record_resource(resource), headers={"ETag": etag(resource.version_id)}
        )

    def put(self, request: Request, resource_type: str, resource_id: str) -> Response:
        _check_type(resource_type)
        resource = services.record_resource_update(
            actor=actor_of(request),
            resource_type=resource_type,
            resource_id=int(resource_id),
            data=_body(request),
            purpose=request_purpose(request),
            if_match=request.META.get("HTTP_IF_MATCH"),
        )
        return _written(self, request, resource, status=200)


class RecordVersionView(FHIRView):
    """``GET /fhir/<Type>/<id>/_history/<vid>``: an earlier version (history is kept)."""

    permission_classes = [ANY_STAFF]

    def get(self, request: Request, resource_type: str, resource_id: str, vid: str) -> Response:
        _check_type(resource_type)
        resource, source_name = selectors.record_version_read(
            actor=actor_of(request),
            resource_type=resource_type,
            resource_id=resource_id,
            version_id=int(vid),
            purpose=request_purpose(request),
        )
        return self.fhir_response(
            record_resource(resource, source_name=source_name),
            headers={"ETag": etag(resource.version_id)},
        )


def _patient_search(
    view: FHIRView, request: Request, query: Any, params: dict[str, str] | None = None
) -> Response:
    """Search by the ordinary parameters, as unmodified FHIR clients send them
    with GET; only a CPR number in the URL is refused (R9 audits the attempt)."""
    actor, purpose = actor_of(request), request_purpose(request)
    # The URL's own query, and what a POST search would echo into its links.
    if selectors.cpr_in_query(request.query_params) or selectors.cpr_in_query(query):
        raise selectors.patient_search_refused_in_url(actor=actor, purpose=purpose)
    count, offset = paging_params(request, query)
    found, total = selectors.patient_search(
        actor=actor,
        params=selectors.parse_patient_search(query),
        purpose=purpose,
        count=count,
        offset=offset,
    )
    return view.fhir_response(
        searchset(
            request,
            resource_path="Patient",
            resources=found,
            total=total,
            count=count,
            offset=offset,
            params=params,
        )
    )


def _patient_written(view: FHIRView, request: Request, citizen: Any, status: int) -> Response:
    body = selectors.versioned_patient(citizen)
    return view.fhir_response(
        body,
        status=status,
        headers={
            "ETag": etag(int(body["meta"]["versionId"])),
            "Location": f"{base_url(request)}/Patient/{citizen.pk}",
        },
    )


class PatientTypeView(FHIRView):
    """``POST /fhir/Patient`` registers a citizen; ``GET /fhir/Patient?name=…``
    searches (a CPR number in the URL is refused: it is searched by POST)."""

    permission_classes = [ANY_STAFF]

    def get(self, request: Request) -> Response:
        return _patient_search(self, request, request.query_params)

    def post(self, request: Request) -> Response:
        citizen = services.patient_create(
            actor=actor_of(request), data=_body(request), purpose=request_purpose(request)
        )
        return _patient_written(self, request, citizen, status=201)


class PatientSearchView(FHIRView):
    """``POST /fhir/Patient/_search``: the CPR number (``identifier``) or the
    ordinary parameters in the form body."""

    permission_classes = [ANY_STAFF]
    parser_classes = [FormParser, MultiPartParser]

    def get(self, request: Request) -> Response:
        return _patient_search(self, request, request.query_params)

    def post(self, request: Request) -> Response:
        form = request.data if isinstance(request.data, QueryDict) else QueryDict()
        if "identifier" not in form:
            # Parameters may come in the body, the URL or both (FHIR's POST search).
            query = request.query_params.copy()
            for key in form:
                query.setlist(key, form.getlist(key))
            return _patient_search(
                self, request, query, params={k: str(v) for k, v in query.items()}
            )
        if selectors.cpr_in_query(request.query_params):
            raise selectors.patient_search_refused_in_url(
                actor=actor_of(request), purpose=request_purpose(request)
            )
        raw = str(form.get("identifier", ""))
        system, _, value = raw.rpartition("|")
        if system not in ("", CPR_SYSTEM) or not (value.isdigit() and len(value) == 10):
            raise InvalidInput(
                "search.identifier_invalid",
                f"identifier is {CPR_SYSTEM}|<10 digits>, in the form body.",
                field="identifier",
            )
        found = selectors.patient_search_by_cpr(
            actor=actor_of(request), cpr=value, purpose=request_purpose(request)
        )
        return self.fhir_response(
            searchset(
                request,
                resource_path="Patient",
                resources=found,
                total=len(found),
                count=1,
                offset=0,
                params={},
            )
        )


class PatientInstanceView(FHIRView):
    """``GET``/``PUT /fhir/Patient/<id>``: read and versioned update (``If-Match``)."""

    permission_classes = [ANY_STAFF]

    def get(self, request: Request, citizen_id: str) -> Response:
        body = selectors.patient_read(
            actor=actor_of(request), citizen_id=citizen_id, purpose=request_purpose(request)
        )
        return self.fhir_response(body, headers={"ETag": etag(int(body["meta"]["versionId"]))})

    def put(self, request: Request, citizen_id: str) -> Response:
        citizen = services.patient_update(
            actor=actor_of(request),
            citizen_id=int(citizen_id),
            data=_body(request),
            purpose=request_purpose(request),
            if_match=request.META.get("HTTP_IF_MATCH"),
        )
        return _patient_written(self, request, citizen, status=200)


class PatientEverythingView(FHIRView):
    """``GET /fhir/Patient/<id>/$everything``: the summary before a visit."""

    permission_classes = [ANY_STAFF]

    def get(self, request: Request, citizen_id: str) -> Response:
        resources = selectors.patient_everything(
            actor=actor_of(request), citizen_id=citizen_id, purpose=request_purpose(request)
        )
        return self.fhir_response(
            searchset(
                request,
                resource_path=f"Patient/{citizen_id}/$everything",
                resources=resources,
                total=len(resources),
                count=max(1, len(resources)),
                offset=0,
                params={},
            )
        )


class PatientInsightView(FHIRView):
    """``GET /fhir/Patient/<id>/$insight``: the insight report as a Bundle (R5)."""

    permission_classes = [ANY_STAFF]

    def get(self, request: Request, citizen_id: str) -> Response:
        report = selectors.insight_report(
            actor=actor_of(request), citizen_id=int(citizen_id) if citizen_id.isdigit() else -1
        )
        return self.fhir_response(selectors.insight_bundle(report))


class ConsentTypeView(FHIRView):
    permission_classes = [ANY_STAFF]

    def get(self, request: Request) -> Response:
        patient = (request.query_params.get("patient") or "").removeprefix("Patient/")
        if not patient:
            raise InvalidInput(
                "search.patient_required", "Consent search needs patient.", field="patient"
            )
        found = selectors.consent_search(
            actor=actor_of(request), patient=patient, purpose=request_purpose(request)
        )
        return self.fhir_response(
            searchset(
                request,
                resource_path="Consent",
                resources=found,
                total=len(found),
                count=max(1, len(found)),
                offset=0,
            )
        )

    def post(self, request: Request) -> Response:
        directive = services.consent_create(
            actor=actor_of(request), data=_body(request), purpose=request_purpose(request)
        )
        directive = selectors._consents(directive.citizen_id).get(pk=directive.pk)
        return self.fhir_response(
            consent_resource(directive),
            status=201,
            headers={"Location": f"{base_url(request)}/Consent/{directive.pk}"},
        )


class ConsentInstanceView(FHIRView):
    permission_classes = [ANY_STAFF]

    def get(self, request: Request, consent_id: str) -> Response:
        return self.fhir_response(
            selectors.consent_read(
                actor=actor_of(request), consent_id=consent_id, purpose=request_purpose(request)
            )
        )


class ConsentWithdrawView(FHIRView):
    """``POST /fhir/Consent/<id>/$withdraw`` with a Parameters resource naming
    ``how`` (oral/written). The directive is kept, marked inactive."""

    permission_classes = [ANY_STAFF]

    def post(self, request: Request, consent_id: str) -> Response:
        data = _body(request)
        if data.get("resourceType") != "Parameters":
            raise InvalidInput("fhir.invalid", "$withdraw takes a Parameters resource.")
        # Validated as R4B Parameters before a parameter is read.
        parameters = validate_fhir(data, expected_type="Parameters").get("parameter", [])
        how = next((p.get("valueCode") for p in parameters if p.get("name") == "how"), "")
        directive = services.consent_withdraw(
            actor=actor_of(request),
            directive_id=int(consent_id),
            given_how=str(how or ""),
            purpose=request_purpose(request),
        )
        directive = selectors._consents(directive.citizen_id).get(pk=directive.pk)
        return self.fhir_response(consent_resource(directive))


class TransactionView(FHIRView):
    """``POST /fhir/`` with a transaction Bundle: all entries or none."""

    permission_classes = [RECORD_WRITERS]

    def post(self, request: Request) -> Response:
        created = services.record_transaction(
            actor=actor_of(request), bundle=_body(request), purpose=request_purpose(request)
        )
        return self.fhir_response(
            {
                "resourceType": "Bundle",
                "type": "transaction-response",
                "entry": [
                    {
                        "response": {
                            "status": "201 Created",
                            "location": f"{r.resource_type}/{r.pk}/_history/{r.version_id}",
                            "etag": etag(r.version_id),
                        }
                    }
                    for r in created
                ],
            }
        )
