"""``/fhir/Patient``: read and searched on the gated base (CPR number only in
a POST body), created and updated, ``$everything`` and ``$insight`` (R5)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from consent import selectors, services
from consent.audit.models import Action, Purpose
from consent.fhir import etag
from consent.fhir.patient import cpr_searched
from consent.fhir_views.common import (
    RECORD_READERS,
    VersionedUpdateView,
    citizen_in_path,
    fhir_body,
    read_purpose,
    stated_purpose,
    update_stated,
)
from consent.gate import CATEGORY_PATIENT
from core.actors import Actor
from core.api import actor_of
from core.errors import InvalidInput, PlatformError
from core.fhir.gate import CitizensNamed, current_gate
from core.fhir.resources import (
    ANY_STAFF,
    SEARCH,
    Asked,
    FHIRResource,
    Found,
    Param,
    ResourceSearchView,
    check_read_params,
)
from core.fhir.views import FHIRView, base_url, searchset
from core.permissions import roles


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


# FHIR's administrative-gender: a citizen's legal sex is female or male;
# other and unknown are codes of the set that match no one.
GENDER_CODES = ("female", "male", "other", "unknown")
# How a name is matched (consent.selectors.patient_search), as the statement says it.
NAME_MATCH = (
    ": the start of a word in it, case and accents aside; :contains anywhere, :exact as written."
)


class PatientResource(FHIRResource):
    """Citizens: read through the gate (category ``patient``), searched by the
    ordinary parameters with GET and by CPR number only in a POST body."""

    type = "Patient"
    category = CATEGORY_PATIENT
    readers = RECORD_READERS
    search_params = (
        # Repeated, each of these narrows further (its own parser ands them).
        Param("_id", "token", "Patient id; a comma means or.", repeats=True),
        Param(
            "name",
            "string",
            f"Family or given name{NAME_MATCH}",
            repeats=True,
        ),
        Param(
            "family",
            "string",
            f"Family name{NAME_MATCH}",
            repeats=True,
        ),
        Param(
            "given",
            "string",
            f"Given name{NAME_MATCH}",
            repeats=True,
        ),
        Param(
            "birthdate",
            "date",
            "A year, month or day; prefixes eq, ne, gt, lt, ge, le, sa, eb (not ap).",
            repeats=True,
        ),
        Param(
            "gender",
            "token",
            "female or male (the legal sex).",
            repeats=True,
            codes=GENDER_CODES,
            system=selectors.GENDER_SYSTEM,
        ),
        Param(
            "identifier",
            "token",
            "CPR number: only in the form body of POST Patient/_search, never in "
            "a URL (a GET with it is refused).",
        ),
    )
    search_by_post = True
    # A CPR number is searched in the form body (its links repeat no query).
    cpr_params = frozenset({"identifier"})
    # Its own parser refuses what it does not know, modifiers told apart
    # (search.modifier_unsupported).
    refuse_unknown_params = False
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

    def citizen_named(self, resource_id: str, query: Any) -> CitizensNamed:
        # A Patient's id is the citizen's; a search names each by its ``_id``.
        if resource_id:
            return self.row_id(resource_id)
        return selectors.patient_ids_named(query) or None

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
        if not in_url:
            # In a POST body, ``identifier:of-type`` or ``identifier:missing`` is
            # a modifier not served, not a CPR number in a URL.
            for key in sorted(asked.body_params):
                if key.partition(":")[0] == "identifier" and key != "identifier":
                    self.refuse_modifier_or_chain(key)
        if in_url or ("identifier" not in asked.body_params and selectors.cpr_in_query(query)):
            raise selectors.patient_search_refused_in_url(actor=asked.actor, purpose=asked.purpose)
        super().check_params(asked, query)
        # Every parameter is read here, before the search, so that a refused
        # one is recorded as a refused search (R9) like the others.
        if "identifier" not in asked.body_params:
            selectors.parse_patient_search(query)
            return
        cpr_searched(str(query.get("identifier", "")))
        rest = query.copy()
        rest.pop("identifier", None)
        # A CPR number names one citizen: answered by it alone, ``name=…``,
        # ``_sort`` or a misspelt parameter beside it were silently dropped
        # and the citizen shown whatever else was asked.
        beside = selectors.parse_patient_search(rest)
        if beside.names or beside.ids is not None:
            raise InvalidInput(
                "search.identifier_alone",
                "A CPR number names one citizen: identifier is searched alone "
                "(with _count, _offset or _summary at most).",
                field=(beside.names or ["_id"])[0],
            )

    def search(self, asked: Asked, query: Any, count: int, offset: int) -> Found:
        if "identifier" in asked.body_params:
            by_cpr = self._by_cpr(asked, str(query.get("identifier", "")))
            # The page asked for: ``_count=0`` is the total alone.
            return Found(by_cpr.resources[offset : offset + count], by_cpr.total, link_params={})
        found, total = selectors.patient_search(
            actor=asked.actor,
            params=selectors.parse_patient_search(query),
            purpose=asked.purpose,
            count=count,
            offset=offset,
        )
        return Found(found, total)

    def _by_cpr(self, asked: Asked, raw: str) -> Found:
        cpr, replacement = cpr_searched(raw)
        found = selectors.patient_search_by_cpr(
            actor=asked.actor,
            cpr=cpr,
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
            actor=actor_of(request), data=fhir_body(request), purpose=purpose
        )
        return _patient_written(self, request, citizen, status=201)


class PatientInstanceView(VersionedUpdateView):
    """``GET``/``PUT /fhir/Patient/<id>``: read and versioned update (``If-Match``)."""

    def citizen_named(self, resource_id: str) -> int | None:
        return citizen_in_path(resource_id)

    def updated(self, request: Request, resource_id: int, purpose: str) -> Response:
        citizen = services.patient_update(
            actor=actor_of(request),
            citizen_id=resource_id,
            purpose=purpose,
            **update_stated(request),
        )
        return _patient_written(self, request, citizen, status=200)


class PatientEverythingView(FHIRView):
    """``GET /fhir/Patient/<id>/$everything``: the summary before a visit, for
    the roles that read the record; any other is refused 403 and recorded on
    the citizen (FHIRView.permission_denied)."""

    checks_pretty_itself = frozenset({"GET", "HEAD"})

    permission_classes = [roles(*RECORD_READERS)]

    def get(self, request: Request, citizen_id: str) -> Response:
        # $everything's start, end, _since, _type and _count are not served:
        # refused, not answered with everything as if they were (the summary
        # is one answer, never paged; a period would hide what a nurse must see).
        purpose = read_purpose(
            request,
            resource_type="Patient",
            resource_id=citizen_id,
            citizen=lambda: citizen_in_path(citizen_id),
            operation="$everything",
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
                paged=False,
            )
        )


class PatientInsightView(FHIRView):
    """``GET /fhir/Patient/<id>/$insight``: the insight report as a Bundle (R5)."""

    checks_pretty_itself = frozenset({"GET", "HEAD"})

    permission_classes = [ANY_STAFF]

    def get(self, request: Request, citizen_id: str) -> Response:
        # The report is the whole of what the record holds and every access:
        # a parameter it does not serve (a period, _count, _summary=true) is
        # refused, not answered with the whole report as if it were applied.
        check_read_params(
            request,
            actor=actor_of(request),
            purpose=Purpose.AUDIT,
            resource_type="Patient",
            resource_id=citizen_id,
            citizen=lambda: citizen_in_path(citizen_id),
            action=Action.EXPORT,
            operation="$insight",
        )
        report = selectors.insight_report(
            actor=actor_of(request), citizen_id=citizen_in_path(citizen_id) or -1
        )
        return self.fhir_response(selectors.insight_bundle(report))
