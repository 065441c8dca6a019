"""Reads of a citizen's refusals and consents (R4) as FHIR Consent, through
the gate (category ``consent``); withdrawn ones are kept and shown."""

from __future__ import annotations

from django.db.models import QuerySet

from consent.gate import CATEGORY_CONSENT, access_citizen, row_id
from consent.models import ConsentDirective
from core.actors import Actor
from core.models import Citizen


def consent_directives(citizen_id: int) -> QuerySet[ConsentDirective]:
    """A citizen's refusals and consents, withdrawn ones included, newest first,
    with what :func:`consent.fhir.consent_resource` reads."""
    return (
        ConsentDirective.objects.filter(citizen_id=citizen_id)
        .select_related("withdrawal", "recorded_by", "recorded_by_organisation")
        .prefetch_related("recipient_organisations", "recipient_users")
        .order_by("-recorded_at", "-pk")
    )


def directive_citizen_id(directive_id: str) -> int | None:
    """Whose refusal or consent an id names, with no decision: for the gate
    (below), and to put an attempt refused before the gate is asked on that
    citizen's log."""
    pk = row_id(directive_id)
    if not 0 < pk < 10**18:
        return None
    return ConsentDirective.objects.filter(pk=pk).values_list("citizen_id", flat=True).first()


def access_directive(
    *, actor: Actor, directive_id: str, action: str, purpose: str, audit_permit: bool = True
) -> Citizen:
    """The citizen whose refusal or consent this is, if the gate lets the actor
    at the citizen's directives; decided and audited as
    :func:`consent.gate.access_citizen` does (``audit_permit=False`` for writes)."""
    citizen_id = directive_citizen_id(directive_id)
    return access_citizen(
        actor=actor,
        citizen_id=citizen_id if citizen_id is not None else -1,
        action=action,
        category=CATEGORY_CONSENT,
        purpose=purpose,
        resource_type="Consent",
        resource_id=directive_id,
        audit_permit=audit_permit,
    )
