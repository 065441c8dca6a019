"""``/fhir/Consent``: a citizen's refusals and consents (R4), read, searched,
created and withdrawn."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.request import Request
from rest_framework.response import Response

from consent import selectors, services
from consent.audit.models import Action
from consent.fhir import consent_resource
from consent.fhir.datatypes import validate_fhir
from consent.fhir_views.common import (
    CONSENT_READERS,
    fhir_body,
    stated_purpose,
)
from consent.gate import CATEGORY_CONSENT
from consent.models import ConsentDirective
from core.api import actor_of
from core.errors import InvalidInput
from core.fhir import resources as base
from core.fhir.gate import CitizensNamed
from core.fhir.views import FHIRView, base_url


class ConsentResource(base.FHIRResource):
    """A citizen's refusals and consents (R4), withdrawn ones kept and shown."""

    type = "Consent"
    category = CATEGORY_CONSENT
    readers = CONSENT_READERS
    search_params = (base.Param("patient", "reference", "Patient/<id>.", names_citizen=True),)
    required = (("patient",),)
    refused_search_is_empty = True
    order_by = ("-recorded_at", "-pk")
    more_interactions = ("create",)
    operations = (("withdraw", "urn:tvaerakut:OperationDefinition/Consent-withdraw"),)
    documentation = "Refusals (Min Spærring) and consents; withdrawals keep history."

    def citizen_named(self, resource_id: str, query: Any) -> CitizensNamed:
        if resource_id:
            return selectors.directive_citizen_id(resource_id)
        return super().citizen_named(resource_id, query)

    def citizen_in_body(self, body: Any) -> CitizensNamed:
        # A Consent names its citizen as ``patient`` (a refusal of the body
        # or of a header before the purpose is asked is on her log too, R9).
        return services.resource_citizen_named(body, "patient")

    def queryset(self) -> QuerySet[ConsentDirective]:
        return ConsentDirective.objects.select_related(
            "withdrawal", "recorded_by", "recorded_by_organisation"
        ).prefetch_related("recipient_organisations", "recipient_users")

    def to_fhir(self, obj: Any) -> dict[str, Any]:
        return consent_resource(obj)

    def of_citizen(self, rows: QuerySet[Any], citizen: Any) -> QuerySet[Any]:
        # A reader the citizen refused is shown only the directives that apply
        # to her (the gate's decision says which).
        rows = super().of_citizen(rows, citizen)
        shown = getattr(citizen, "gate_decision", None)
        if shown is not None and shown.directives_shown is not None:
            rows = rows.filter(pk__in=shown.directives_shown)
        return rows

    def read(self, asked: base.Asked, resource_id: str) -> Any:
        # The gate is asked about the directive's citizen before the directive is read.
        citizen = selectors.access_directive(
            actor=asked.actor, directive_id=resource_id, action=base.READ, purpose=asked.purpose
        )
        return selectors.consent_directives(citizen.pk).get(pk=int(resource_id))


class ConsentTypeView(base.ResourceSearchView):
    """``GET /fhir/Consent?patient=`` (the base), ``POST /fhir/Consent`` records one."""

    def post(self, request: Request) -> Response:
        data = fhir_body(request)
        purpose = stated_purpose(
            request,
            action=Action.CREATE,
            resource_type="Consent",
            citizen=lambda: services.resource_citizen_named(data, "patient"),
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

    permission_classes = [base.ANY_STAFF]

    def post(self, request: Request, consent_id: str) -> Response:
        data = fhir_body(request)
        if data.get("resourceType") != "Parameters":
            raise InvalidInput("fhir.invalid", "$withdraw takes a Parameters resource.")
        # Validated as R4B Parameters before a parameter is read.
        parameters = validate_fhir(data, expected_type="Parameters").get("parameter", [])
        names = [str(p.get("name", "")) for p in parameters]
        # Only ``how``, once: anything else is refused by the service once the
        # gate has let the caller at the directive, and recorded there (R9).
        hows = [p for p in parameters if p.get("name") == "how"]
        how = hows[0].get("valueCode") if len(hows) == 1 else ""
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
            parameters=names,
        )
        directive = selectors.consent_directives(directive.citizen_id).get(pk=directive.pk)
        return self.fhir_response(consent_resource(directive))
