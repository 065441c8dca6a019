"""Building and queueing outbound messages: who receives what, in one place."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from core.actors import Actor
from core.fhir.patient import patient_resource
from core.models import Citizen, Organisation
from integrations.messages import message_bundle
from integrations.models import OutboundMessage, Partner
from integrations.outbox import outbox_enqueue


def acute_function() -> Organisation | None:
    return (
        Organisation.objects.filter(kind=Organisation.Kind.ACUTE_FUNCTION, is_active=True)
        .order_by("pk")
        .first()
    )


def partner_for(organisation: Organisation | None, *, kind: str | None = None) -> Partner | None:
    """The active partner that speaks for ``organisation`` (or its parent)."""
    if organisation is None:
        return None
    partners = Partner.objects.select_related("organisation").filter(is_active=True)
    if kind:
        partners = partners.filter(kind=kind)
    found = partners.filter(organisation=organisation).first()
    if found is None and organisation.parent_id is not None:
        found = partners.filter(organisation_id=organisation.parent_id).first()
    return found


def home_nursing_partner(municipality: Organisation) -> Partner | None:
    """Home nursing of the citizen's own municipality (R11): its organisation is
    the municipality's unit, or serves the municipality."""
    return (
        Partner.objects.select_related("organisation")
        .filter(kind=Partner.Kind.HOME_NURSING, is_active=True)
        .filter(Q(organisation__parent=municipality) | Q(organisation__serves=municipality))
        .order_by("pk")
        .first()
    )


def hospital_partner(citizen: Citizen) -> Partner | None:
    """The hospital serving the citizen's municipality, else the first configured."""
    hospitals = Partner.objects.select_related("organisation").filter(
        kind=Partner.Kind.HOSPITAL, is_active=True
    )
    return (
        hospitals.filter(organisation__serves=citizen.municipality).order_by("pk").first()
        or hospitals.order_by("pk").first()
    )


def message_send(
    *,
    partner: Partner,
    event: str,
    citizen: Citizen,
    focus: list[dict[str, Any]],
    supporting: list[dict[str, Any]] | None = None,
    by: Actor | None,
    source_type: str,
    source_id: str | int,
    activity: str = "new-message",
) -> OutboundMessage | None:
    """Build the Bundle (Patient with CPR: the receiver must match the citizen)
    and write it to the outbox in the current transaction."""
    sender = acute_function()
    if sender is None:
        return None
    author = by.user.get_full_name() or by.user.username if by is not None and by.user else ""
    bundle = message_bundle(
        event=event,
        sender=sender,
        receiver=partner.organisation,
        receiver_endpoint=partner.endpoint_url,
        focus=focus,
        supporting=[patient_resource(citizen), *(supporting or [])],
        author=author,
        activity=activity,
    )
    return outbox_enqueue(
        partner=partner,
        event=event,
        bundle=bundle,
        citizen=citizen,
        source_type=source_type,
        source_id=str(source_id),
        on_behalf_of=by,
    )


def patient_ref(citizen: Citizen) -> dict[str, str]:
    return {"reference": f"urn:tvaerakut:Patient/{citizen.pk}"}
