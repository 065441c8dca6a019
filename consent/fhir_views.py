"""``/fhir/`` endpoints of the shared record, Patient, Consent and the insight Bundle.

The resource types are read and searched on the gated base
(:mod:`core.fhir.resources`); the writes (create, versioned update,
transaction, ``$withdraw``) and the operations are views of their own here,
each calling one service or selector that asks the gate. Every staff role may
*ask*; the gate decides per citizen and records the answer, so a refused role
is audited like any other refusal and sees the same "not found" as for a
record that does not exist.

The purpose of use comes from the ``X-Purpose-Of-Use`` header (the platform's
purpose or its HL7 v3 code: TREAT, ETREAT, HOPERAT …); without it, treatment.
One the platform does not know is refused (400 ``purpose.unknown``) and the
attempt recorded as denied (R9, reason ``purpose_unknown``) on every door: the
types' reads and searches through the FHIR base, the writes and operations
here through :func:`stated_purpose`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from rest_framework.request import Request
from rest_framework.response import Response

from consent import selectors, services
from consent.audit.models import Action
from consent.fhir import PURPOSE_BY_CODE, RECORD_TYPES, consent_resource, etag, record_resource
from consent.fhir.datatypes import referenced_id, validate_fhir
from consent.gate import CATEGORY_CONSENT, CATEGORY_PATIENT, CLINICAL_ROLES
from consent.models import ConsentDirective
from core.actors import Actor
from core.api import actor_of
from core.cpr import (
    CPR_SYSTEM,
    D_ECPR_SYSTEM_PREFIX,
    X_ECPR_SYSTEM,
    is_replacement_cpr_system,
    normalise_replacement_cpr,
)
from core.errors import InvalidInput, NotFoundOrNotAllowed, PlatformError
from core.fhir.gate import current_gate
from core.fhir.resources import (
    ANY_STAFF,
    FHIR_ID,
    PURPOSE_UNKNOWN,
    READ,
    SEARCH,
    TREATMENT,
    Asked,
    FHIRResource,
    Found,
    Param,
    ResourceReadView,
    ResourceSearchView,
)
from core.fhir.views import FHIRView, base_url, searchset
from core.models import Role
from core.permissions import roles
from core.validation import is_digits

# Every staff role may ask; the gate decides per citizen.
ALL_ROLES = frozenset(Role.values)
RECORD_WRITERS = roles(*CLINICAL_ROLES)
PURPOSE_HEADER = "HTTP_X_PURPOSE_OF_USE"


def request_purpose(request: Request) -> str:
    """The purpose the request states (the header), or treatment without one.
    Only reads the request: the callers record a refusal (:func:`stated_purpose`,
    and the FHIR base for the types' reads and searches)."""
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


def stated_purpose(
    request: Request,
    *,
    action: str,
    resource_type: str,
    resource_id: str = "",
    citizen: Callable[[], int | None] = lambda: None,
) -> str:
    """The purpose a write or an operation states. One the platform does not
    know is refused, and the attempt recorded as the FHIR base records a
    refused read (R9): denied, reason ``purpose_unknown``, on the log of the
    citizen the request names (``citizen()``, asked only then), if any."""
    try:
        return request_purpose(request)
    except InvalidInput:
        current_gate().refuse(
            actor=actor_of(request),
            action=action,
            purpose=TREATMENT,
            resource_type=resource_type,
            resource_id=resource_id if FHIR_ID.fullmatch(resource_id) else "",
            reason_code=PURPOSE_UNKNOWN,
            citizen_id=citizen(),
        )
        raise


def _citizen_in_path(raw: str) -> int | None:
    """The citizen a path's Patient id names (digits, as the routes take them)."""
    return int(raw) if is_digits(raw) and len(raw) <= 18 else None


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


class SharedRecordResource(FHIRResource):
    """One type of the shared record (Condition, EpisodeOfCare, CarePlan,
    Encounter with numeric ids): read through the gate's one-query read of
    the resource with its citizen, searched by patient or across every
    citizen the reader may see (the gate's bulk form)."""

    readers = ALL_ROLES
    search_params = (
        Param(
            "patient", "reference", "Patient/<id>; a hidden patient gives none.", names_citizen=True
        ),
        Param("subject", "reference", "The same as patient.", names_citizen=True),
        Param("category", "token", "Data category (urn:tvaerakut:data-category)."),
        Param("code", "token", "system|code, e.g. http://hl7.org/fhir/sid/icd-10|I10."),
        Param("date", "date", "Clinically relevant date, with prefixes ge/le/gt/lt/eq."),
    )
    refuse_unknown_params = True
    more_interactions = ("vread", "create", "update")
    versioned = True

    def __init__(self, resource_type: str, documentation: str) -> None:
        self.type = resource_type
        self.documentation = documentation + " Consent-checked and audited."

    def purpose(self, request: Request) -> str:
        return request_purpose(request)

    def citizen_named(self, resource_id: str, query: Any) -> int | None:
        if resource_id:
            return selectors.record_citizen_id(resource_type=self.type, resource_id=resource_id)
        return super().citizen_named(resource_id, query)

    def to_fhir(self, obj: Any) -> dict[str, Any]:
        return record_resource(obj)

    def headers(self, obj: Any, body: dict[str, Any]) -> dict[str, str]:
        return {"ETag": etag(obj.version_id)}

    def read(self, asked: Asked, resource_id: str) -> Any:
        if settings.CONSENT_BENCH_BARE_READS:
            return selectors.record_read_bare(resource_type=self.type, resource_id=resource_id)
        return selectors.record_read(
            actor=asked.actor,
            resource_type=self.type,
            resource_id=resource_id,
            purpose=asked.purpose,
        )

    def search(self, asked: Asked, query: Any, count: int, offset: int) -> Found:
        page, total = selectors.record_search(
            actor=asked.actor,
            resource_type=self.type,
            params=selectors.parse_search(query),
            purpose=asked.purpose,
            count=count,
            offset=offset,
        )
        return Found([record_resource(r) for r in page], total)


RECORD_RESOURCES = tuple(
    SharedRecordResource(resource_type, documentation)
    for resource_type, documentation in {
        "Condition": "Somatic diagnoses (ICD-10, chapter F refused — R2) and current "
        "nursing problems.",
        "EpisodeOfCare": "The municipal help the citizen receives (home help, personal care, "
        "home nursing).",
        "CarePlan": "Care and treatment plans.",
        "Encounter": "Contacts per hospital department (numeric ids; visit-<n> ids are "
        "the acute function's visits).",
    }.items()
)


class RecordTypeView(ResourceSearchView):
    """``GET /fhir/<Type>`` search (the base), ``POST /fhir/<Type>`` create."""

    def post(self, request: Request) -> Response:
        purpose = stated_purpose(request, action=Action.CREATE, resource_type=self.resource.type)
        resource = services.record_resource_create(
            actor=actor_of(request),
            data=_body(request),
            purpose=purpose,
            expected_type=self.resource.type,
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


class RecordInstanceView(ResourceReadView):
    """``GET`` (the base) and ``PUT /fhir/<Type>/<id>``: read and versioned update."""

    def put(self, request: Request, resource_id: str) -> Response:
        if not is_digits(resource_id):
            raise NotFoundOrNotAllowed()
        purpose = stated_purpose(
            request,
            action=Action.UPDATE,
            resource_type=self.resource.type,
            resource_id=resource_id,
            citizen=lambda: selectors.record_citizen_id(
                resource_type=self.resource.type, resource_id=resource_id
            ),
        )
        resource = services.record_resource_update(
            actor=actor_of(request),
            resource_type=self.resource.type,
            resource_id=int(resource_id),
            data=_body(request),
            purpose=purpose,
            if_match=request.META.get("HTTP_IF_MATCH"),
        )
        return _written(self, request, resource, status=200)


class RecordVersionView(FHIRView):
    """``GET /fhir/<Type>/<id>/_history/<vid>``: an earlier version (history is kept)."""

    permission_classes = [ANY_STAFF]

    def get(self, request: Request, resource_type: str, resource_id: str, vid: str) -> Response:
        _check_type(resource_type)
        purpose = stated_purpose(
            request,
            action=READ,
            resource_type=resource_type,
            resource_id=resource_id,
            citizen=lambda: selectors.record_citizen_id(
                resource_type=resource_type, resource_id=resource_id
            ),
        )
        resource, source_name = selectors.record_version_read(
            actor=actor_of(request),
            resource_type=resource_type,
            resource_id=resource_id,
            version_id=int(vid),
            purpose=purpose,
        )
        return self.fhir_response(
            record_resource(resource, source_name=source_name),
            headers={"ETag": etag(resource.version_id)},
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


class PatientResource(FHIRResource):
    """Citizens: read through the gate (category ``patient``), searched by the
    ordinary parameters with GET and by CPR number only in a POST body."""

    type = "Patient"
    category = CATEGORY_PATIENT
    readers = ALL_ROLES
    search_params = (
        Param("_id", "token", "Patient id; a comma means or."),
        Param("name", "string", "Family or given name (:exact, :contains)."),
        Param("family", "string", "Family name (:exact, :contains)."),
        Param("given", "string", "Given name (:exact, :contains)."),
        Param("birthdate", "date", "With prefixes eq/ne/gt/lt/ge/le/sa/eb."),
        Param("gender", "token", "female or male (the legal sex)."),
        Param(
            "identifier",
            "token",
            "CPR number: only in the form body of POST Patient/_search, never in "
            "a URL (a GET with it is refused).",
        ),
    )
    search_by_post = True
    more_interactions = ("create", "update")
    operations = (
        ("everything", "http://hl7.org/fhir/OperationDefinition/Patient-everything"),
        ("insight", "urn:tvaerakut:OperationDefinition/Patient-insight"),
    )
    versioned = True
    documentation = (
        "Citizens (DK-core CPR identifier); read, searched and updated "
        "through the consent gate, registered by the acute function's coordinator or "
        "the home nursing of the citizen's municipality; a CPR number already "
        "registered is refused (409). Updates need If-Match."
    )

    def purpose(self, request: Request) -> str:
        return request_purpose(request)

    def citizen_named(self, resource_id: str, query: Any) -> int | None:
        # A Patient's id is the citizen's.
        return self.row_id(resource_id) if resource_id else None

    def read(self, asked: Asked, resource_id: str) -> Any:
        # The row is the citizen the gate reads anyway: no fetch before it.
        return current_gate().read(
            actor=asked.actor,
            citizen_id=self.row_id(resource_id) or -1,
            category=self.category,
            purpose=asked.purpose,
            resource_type=self.type,
            resource_id=resource_id,
        )

    def to_fhir(self, obj: Any) -> dict[str, Any]:
        return selectors.versioned_patient(obj)

    def headers(self, obj: Any, body: dict[str, Any]) -> dict[str, str]:
        return {"ETag": etag(int(body["meta"]["versionId"]))}

    def refuse_cpr_in_url(
        self, *, actor: Actor, action: str, purpose: str, refused: InvalidInput
    ) -> PlatformError:
        if action != SEARCH:
            return super().refuse_cpr_in_url(
                actor=actor, action=action, purpose=purpose, refused=refused
            )
        # A search says where a CPR number is searched instead.
        return selectors.patient_search_refused_in_url(actor=actor, purpose=purpose)

    def check_params(self, asked: Asked, query: Any) -> None:
        # A CPR number in the URL is refused (and R9 audits the attempt) before
        # anything else is read of the request; in a POST body it is the search.
        in_url = selectors.cpr_in_query(asked.request.query_params)
        if in_url or ("identifier" not in asked.body_params and selectors.cpr_in_query(query)):
            raise selectors.patient_search_refused_in_url(actor=asked.actor, purpose=asked.purpose)
        super().check_params(asked, query)

    def search(self, asked: Asked, query: Any, count: int, offset: int) -> Found:
        if "identifier" in asked.body_params:
            return self._by_cpr(asked, str(query.get("identifier", "")))
        found, total = selectors.patient_search(
            actor=asked.actor,
            params=selectors.parse_patient_search(query),
            purpose=asked.purpose,
            count=count,
            offset=offset,
        )
        return Found(found, total)

    def _by_cpr(self, asked: Asked, raw: str) -> Found:
        system, _, value = raw.rpartition("|")
        replacement = None
        if is_replacement_cpr_system(system):
            # A replacement CPR is searched as a CPR number is (DK-core x-ecpr / d-ecpr).
            try:
                replacement = normalise_replacement_cpr(value, system)
            except InvalidInput as exc:
                raise InvalidInput(
                    exc.code, exc.message, field="identifier", params=exc.params
                ) from None
        elif system not in ("", CPR_SYSTEM) or not (is_digits(value) and len(value) == 10):
            raise InvalidInput(
                "search.identifier_invalid",
                f"identifier is {CPR_SYSTEM}|<10 digits>, or a replacement CPR as "
                f"{X_ECPR_SYSTEM}|<X-eCPR> or {D_ECPR_SYSTEM_PREFIX}<issuer>|<D-eCPR>, "
                "in the form body.",
                field="identifier",
                params={"cpr": CPR_SYSTEM, "x_ecpr": X_ECPR_SYSTEM, "d_ecpr": D_ECPR_SYSTEM_PREFIX},
            )
        found = selectors.patient_search_by_cpr(
            actor=asked.actor,
            cpr=None if replacement else value,
            replacement=replacement,
            purpose=asked.purpose,
        )
        # The links never repeat the number.
        return Found(found, len(found), link_params={})


class PatientTypeView(ResourceSearchView):
    """``POST /fhir/Patient`` registers a citizen; ``GET /fhir/Patient?name=…``
    searches (a CPR number in the URL is refused: it is searched by POST)."""

    def post(self, request: Request) -> Response:
        purpose = stated_purpose(request, action=Action.CREATE, resource_type="Patient")
        citizen = services.patient_create(
            actor=actor_of(request), data=_body(request), purpose=purpose
        )
        return _patient_written(self, request, citizen, status=201)


class PatientInstanceView(ResourceReadView):
    """``GET``/``PUT /fhir/Patient/<id>``: read and versioned update (``If-Match``)."""

    def put(self, request: Request, resource_id: str) -> Response:
        if not is_digits(resource_id):
            raise NotFoundOrNotAllowed()
        purpose = stated_purpose(
            request,
            action=Action.UPDATE,
            resource_type="Patient",
            resource_id=resource_id,
            citizen=lambda: _citizen_in_path(resource_id),
        )
        citizen = services.patient_update(
            actor=actor_of(request),
            citizen_id=int(resource_id),
            data=_body(request),
            purpose=purpose,
            if_match=request.META.get("HTTP_IF_MATCH"),
        )
        return _patient_written(self, request, citizen, status=200)


class PatientEverythingView(FHIRView):
    """``GET /fhir/Patient/<id>/$everything``: the summary before a visit."""

    permission_classes = [ANY_STAFF]

    def get(self, request: Request, citizen_id: str) -> Response:
        purpose = stated_purpose(
            request,
            action=READ,
            resource_type="Patient",
            resource_id=citizen_id,
            citizen=lambda: _citizen_in_path(citizen_id),
        )
        resources = selectors.patient_everything(
            actor=actor_of(request), citizen_id=citizen_id, purpose=purpose
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
            actor=actor_of(request), citizen_id=int(citizen_id) if is_digits(citizen_id) else -1
        )
        return self.fhir_response(selectors.insight_bundle(report))


class ConsentResource(FHIRResource):
    """A citizen's refusals and consents (R4), withdrawn ones kept and shown."""

    type = "Consent"
    category = CATEGORY_CONSENT
    readers = ALL_ROLES
    search_params = (Param("patient", "reference", "Patient/<id>.", names_citizen=True),)
    required = (("patient",),)
    refused_search_is_empty = True
    order_by = ("-recorded_at", "-pk")
    more_interactions = ("create",)
    operations = (("withdraw", "urn:tvaerakut:OperationDefinition/Consent-withdraw"),)
    documentation = "Refusals (Min Spærring) and consents; withdrawals keep history."

    def purpose(self, request: Request) -> str:
        return request_purpose(request)

    def citizen_named(self, resource_id: str, query: Any) -> int | None:
        if resource_id:
            return selectors.directive_citizen_id(resource_id)
        return super().citizen_named(resource_id, query)

    def queryset(self) -> QuerySet[ConsentDirective]:
        return ConsentDirective.objects.select_related(
            "withdrawal", "recorded_by", "recorded_by_organisation"
        ).prefetch_related("recipient_organisations", "recipient_users")

    def to_fhir(self, obj: Any) -> dict[str, Any]:
        return consent_resource(obj)

    def read(self, asked: Asked, resource_id: str) -> Any:
        # The gate is asked about the directive's citizen before the directive is read.
        citizen = selectors.access_directive(
            actor=asked.actor, directive_id=resource_id, action=READ, purpose=asked.purpose
        )
        return selectors.consent_directives(citizen.pk).get(pk=int(resource_id))


class ConsentTypeView(ResourceSearchView):
    """``GET /fhir/Consent?patient=`` (the base), ``POST /fhir/Consent`` records one."""

    def post(self, request: Request) -> Response:
        data = _body(request)
        purpose = stated_purpose(
            request,
            action=Action.CREATE,
            resource_type="Consent",
            citizen=lambda: referenced_id(data.get("patient"), "Patient"),
        )
        directive = services.consent_create(actor=actor_of(request), data=data, purpose=purpose)
        directive = selectors.consent_directives(directive.citizen_id).get(pk=directive.pk)
        return self.fhir_response(
            consent_resource(directive),
            status=201,
            headers={"Location": f"{base_url(request)}/Consent/{directive.pk}"},
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
        purpose = stated_purpose(
            request,
            action=Action.UPDATE,
            resource_type="Consent",
            resource_id=consent_id,
            citizen=lambda: selectors.directive_citizen_id(consent_id),
        )
        directive = services.consent_withdraw(
            actor=actor_of(request),
            directive_id=int(consent_id),
            given_how=str(how or ""),
            purpose=purpose,
        )
        directive = selectors.consent_directives(directive.citizen_id).get(pk=directive.pk)
        return self.fhir_response(consent_resource(directive))


class TransactionView(FHIRView):
    """``POST /fhir/`` with a transaction Bundle: all entries or none."""

    permission_classes = [RECORD_WRITERS]

    def post(self, request: Request) -> Response:
        purpose = stated_purpose(request, action=Action.CREATE, resource_type="Bundle")
        created = services.record_transaction(
            actor=actor_of(request), bundle=_body(request), purpose=purpose
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


PATIENT = PatientResource()
CONSENT = ConsentResource()
RESOURCES = (*RECORD_RESOURCES, PATIENT, CONSENT)
