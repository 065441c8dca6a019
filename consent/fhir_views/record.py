"""The shared record's types (Condition, EpisodeOfCare, CarePlan, Encounter):
read and searched on the gated base, created, updated with ``If-Match``, read
at an earlier version, and written together in a transaction Bundle."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response

from consent import selectors, services
from consent.audit.models import Action
from consent.fhir import CATEGORY_SYSTEM, TYPE_BY_CATEGORY, etag, record_resource
from consent.fhir_views.common import (
    RECORD_READERS,
    RECORD_WRITERS,
    VersionedUpdateView,
    check_record_type,
    fhir_body,
    read_purpose,
    stated_purpose,
    update_stated,
)
from core.api import actor_of
from core.boundary import body_named
from core.fhir.gate import CitizensNamed
from core.fhir.resources import (
    Asked,
    FHIRResource,
    Found,
    Held,
    Param,
    ResourceSearchView,
)
from core.fhir.views import FHIRView, base_url
from core.permissions import roles


class SharedRecordResource(FHIRResource):
    """One type of the shared record (Condition, EpisodeOfCare, CarePlan,
    Encounter with numeric ids): read through the gate's one-query read of
    the resource with its citizen, searched by patient or across every
    citizen the reader may see (the gate's bulk form)."""

    readers = RECORD_READERS
    search_params: tuple[Param, ...] = (
        Param(
            "patient", "reference", "Patient/<id>; a hidden patient gives none.", names_citizen=True
        ),
        Param("subject", "reference", "The same as patient.", names_citizen=True),
        Param("category", "token", "Data category (urn:tvaerakut:data-category)."),
        Param("code", "token", "system|code, e.g. http://hl7.org/fhir/sid/icd-10|I10."),
        Param(
            "date",
            "date",
            "Clinically relevant date: a year, month or day (Copenhagen) or a date-time with its"
            " offset; prefixes eq, ne, gt, lt, ge, le, sa, eb (not ap); repeated, a range.",
            repeats=True,
        ),
    )
    # vread: routed with the version view (``RecordVersionView``), which lists it.
    more_interactions = ("create", "update")
    versioned = True

    def __init__(self, resource_type: str, documentation: str) -> None:
        self.type = resource_type
        self.documentation = documentation + " Consent-checked and audited."
        # The categories this type holds (TYPE_BY_CATEGORY): any other code,
        # or another system, is refused, never answered with an empty Bundle
        # a partner would read as "nothing in that category".
        held = tuple(c.value for c, t in TYPE_BY_CATEGORY.items() if t == resource_type)
        self.search_params = tuple(
            dataclasses.replace(p, codes=held, system=CATEGORY_SYSTEM)
            if p.name == "category"
            else p
            for p in SharedRecordResource.search_params
        )

    def citizen_named(self, resource_id: str, query: Any) -> CitizensNamed:
        if resource_id:
            return selectors.record_citizen_id(resource_type=self.type, resource_id=resource_id)
        return super().citizen_named(resource_id, query)

    def held_each(self, resource_ids: Collection[str]) -> dict[str, Held]:
        # Its rows are the record's, not a queryset of the base's; a read
        # decides on the resource's category and the date of its data.
        found = selectors.record_held_each(resource_type=self.type, resource_ids=resource_ids)
        return {
            rid: Held(row.citizen_id, row.category, (row.data_date,)) for rid, row in found.items()
        }

    def citizen_in_body(self, body: Any) -> CitizensNamed:
        # As a transaction's entries name theirs (``bundle_citizens_named``).
        return services.resource_citizen_named(body)

    def check_params(self, asked: Asked, query: Any) -> None:
        # Read in full before the gate decides: a date no clock reads is refused
        # (and the attempt recorded, R9) for every reader alike, not answered
        # with an empty page for one the gate shows nothing.
        super().check_params(asked, query)
        selectors.parse_search(query)

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
        purpose = stated_purpose(
            request,
            action=Action.CREATE,
            resource_type=self.resource.type,
            # Refused, on the log of the citizen the body names (R9).
            citizen=lambda: services.resource_citizen_named(body_named(request)),
        )
        resource = services.record_resource_create(
            actor=actor_of(request),
            data=fhir_body(request),
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


class RecordInstanceView(VersionedUpdateView):
    """``GET`` (the base) and ``PUT /fhir/<Type>/<id>``: read and versioned update."""

    def citizen_named(self, resource_id: str) -> int | None:
        return selectors.record_citizen_id(
            resource_type=self.resource.type, resource_id=resource_id
        )

    def updated(self, request: Request, resource_id: int, purpose: str) -> Response:
        resource = services.record_resource_update(
            actor=actor_of(request),
            resource_type=self.resource.type,
            resource_id=resource_id,
            purpose=purpose,
            **update_stated(request),
        )
        return _written(self, request, resource, status=200)


class RecordVersionView(FHIRView):
    """``GET /fhir/<Type>/<id>/_history/<vid>``: an earlier version (history is
    kept). Routed by the type's resource (``FHIRResource.urls``), which lists
    ``vread`` in the statement from the same declaration."""

    checks_pretty_itself = frozenset({"GET", "HEAD"})

    # An earlier version is read by the roles that read the current one; any
    # other is refused 403 and recorded on the citizen (FHIRView.permission_denied).
    permission_classes = [roles(*RECORD_READERS)]
    resource: FHIRResource = FHIRResource()

    def citizen_refused(self, request: Request) -> int | None:
        return selectors.record_citizen_id(
            resource_type=self.resource.type, resource_id=str(self.kwargs.get("resource_id", ""))
        )

    def get(self, request: Request, resource_id: str, vid: str) -> Response:
        resource_type = self.resource.type
        check_record_type(resource_type)

        def citizen() -> int | None:
            return selectors.record_citizen_id(resource_type=resource_type, resource_id=resource_id)

        purpose = read_purpose(
            request, resource_type=resource_type, resource_id=resource_id, citizen=citizen
        )
        resource, source_name = selectors.record_version_read(
            actor=actor_of(request),
            resource_type=resource_type,
            resource_id=resource_id,
            # ``01`` names no version: read and answered as an unknown one.
            version_id=self.resource.version_id(vid),
            purpose=purpose,
        )
        return self.fhir_response(
            record_resource(resource, source_name=source_name),
            headers={"ETag": etag(resource.version_id)},
        )


class TransactionView(FHIRView):
    """``POST /fhir/`` with a transaction Bundle: all entries or none."""

    permission_classes = [RECORD_WRITERS]

    def citizen_refused(self, request: Request) -> CitizensNamed:
        """A role refused here is recorded on each citizen the body's entries
        name (R9): one entry on each one's log."""
        if request.method != "POST":
            return super().citizen_refused(request)
        # A body the input checks refused names them as it was sent.
        return services.bundle_citizens_named(body_named(request))

    def post(self, request: Request) -> Response:
        purpose = stated_purpose(request, action=Action.CREATE, resource_type="Bundle")
        created = services.record_transaction(
            actor=actor_of(request), bundle=fhir_body(request), purpose=purpose
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
