"""Sending a hand-off: who the recipient is, and the message its adapter builds,
written to the outbox in the current transaction."""

from __future__ import annotations

from typing import cast

from django.db import connection
from django.db.models import Q, QuerySet

from core.actors import Actor
from core.errors import PreconditionFailed
from core.models import Citizen, Organisation
from core.sql import CompiledQuery, columns_of, instances_of, plain_columns
from integrations.medcom import outbound as medcom
from integrations.medcom.envelope import OWN_ENDPOINT
from integrations.messages import patient_ref
from integrations.models import OutboundMessage, Partner
from integrations.outbox import outbox_enqueue
from integrations.partners import adapter_for, kinds_sent


def acute_functions() -> QuerySet[Organisation]:
    """The active acute functions, the platform's own organisation first."""
    return Organisation.objects.filter(
        kind=Organisation.Kind.ACUTE_FUNCTION, is_active=True
    ).order_by("pk")


# Read for every message received and sent: compiled once (core/sql.py).
# A message received reads it with what it needs besides (integrations/inbound.py).
US_PARTS = ((Organisation, ""),)
_US_QUERY = CompiledQuery(lambda: acute_functions().values_list(*columns_of(US_PARTS))[:1])


def acute_function() -> Organisation | None:
    """The platform's own organisation: the first active acute function."""
    if connection.vendor != "postgresql" or not plain_columns(US_PARTS):
        return acute_functions().first()
    rows = _US_QUERY.rows(binary=True)
    return cast("Organisation", instances_of(rows[0], US_PARTS)[0]) if rows else None


def partner_for(
    organisation: Organisation | None, *, event: str, kind: str | None = None
) -> Partner | None:
    """The active partner that speaks for ``organisation`` (or its parent) and
    is sent ``event``; of ``kind`` only, if given."""
    if organisation is None:
        return None
    partners = (
        Partner.objects.in_service()
        .select_related("organisation")
        .filter(kind__in=kinds_sent(event))
    )
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
        Partner.objects.in_service()
        .select_related("organisation")
        .filter(kind=Partner.Kind.HOME_NURSING)
        .filter(Q(organisation__parent=municipality) | Q(organisation__serves=municipality))
        .order_by("pk")
        .first()
    )


def hospital_partner(citizen: Citizen) -> Partner | None:
    """The hospital serving the citizen's municipality; None when no active
    one does (R3: never another hospital, which has nothing to do with her)."""
    return (
        Partner.objects.in_service()
        .select_related("organisation")
        .filter(kind=Partner.Kind.HOSPITAL)
        .filter(organisation__serves=citizen.municipality)
        .order_by("pk")
        .first()
    )


def _reason(broken: list[medcom.Violation]) -> str:
    """The rules a message breaks, for the person who looks at it: the first
    few, each naming profile, element and rule (never an identifier's value)."""
    shown = "; ".join(str(v) for v in broken[:3])
    more = f" (+{len(broken) - 3} more)" if len(broken) > 3 else ""
    return f"{shown}{more}"[:500]


def message_send(
    *,
    partner: Partner,
    event: str,
    about: object,
    by: Actor | None,
    recipient: Organisation | None = None,
) -> OutboundMessage | None:
    """Build ``event`` about ``about`` with the builder the partner's adapter
    declares, and write it to the outbox in the current transaction: a Bundle
    with the Patient (CPR: the receiver must match the citizen). None when
    there is nothing to tell or no acute function to send from.

    ``recipient``: the organisation the partner was chosen for (it may speak
    for it as its parent), whose refusals the citizen's R4 is asked for too."""
    builder = adapter_for(partner.kind).builder(event)
    if builder is None:
        raise PreconditionFailed(
            "handoff.event_not_sent",
            "This kind of partner is not sent this kind of message.",
            field="event",
        )
    outgoing = builder(about)
    sender = acute_function()
    if outgoing is None or sender is None:
        return None
    # Every hand-off in the MedCom envelope, checked against MedCom's rules
    # before it may go (a local event against those of the envelope, its
    # event being the platform's own), and parked when it breaks one.
    shape = outgoing.medcom or medcom.local_shape(event, outgoing.activity)
    bundle = medcom.build(
        shape=shape,
        citizen=outgoing.citizen,
        citizen_reference=patient_ref(outgoing.citizen)["reference"],
        focus=outgoing.focus,
        supporting=outgoing.supporting,
        sender=sender,
        receiver=partner.organisation,
        receiver_endpoint=partner.endpoint_url or "urn:tvaerakut:unconfigured",
        sender_endpoint=OWN_ENDPOINT,
    )
    broken = medcom.violations(bundle, local=shape.local)
    return outbox_enqueue(
        partner=partner,
        event=event,
        bundle=bundle,
        citizen=outgoing.citizen,
        source_type=outgoing.source_type,
        source_id=outgoing.source_id,
        on_behalf_of=by,
        recipient=recipient,
        parked=(medcom.RULE_BROKEN, _reason(broken)) if broken else None,
    )
