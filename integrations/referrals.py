"""A partner's ServiceRequest asking the acute function to visit a citizen,
read into a referral (1813's referral, the hospital's follow-up after
discharge) and taken in through ``acute``'s own service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import translation
from fhir.resources.R4B.servicerequest import ServiceRequest

from acute.models import Referral
from acute.occurrence import Occurrence, occurrence_split
from acute.services import referral_create
from consent.fhir import CodedValue, coded_values
from core.fhir.validation import fhir_validate
from core.validation import text_trimmed
from integrations.messages import InvalidMessage, ParsedMessage

if TYPE_CHECKING:
    from core.actors import Actor
    from core.models import Citizen
    from integrations.models import Partner

# ServiceRequest.priority -> acute urgency (R10).
URGENCY_BY_PRIORITY = {
    "stat": "within_2_hours",
    "asap": "within_2_hours",
    "urgent": "within_shift",
    "routine": "next_day",
}


def concept_text(concepts: object) -> str:
    """The texts of a list of CodeableConcepts, joined."""
    if not isinstance(concepts, list):
        return ""
    return "; ".join(c.get("text") or "" for c in concepts if isinstance(c, dict)).strip("; ")


@dataclass(frozen=True)
class RequestedVisit:
    """What the ServiceRequest asks, with the physician responsible for it."""

    physician_name: str
    physician_phone: str
    urgency: str
    reason: str
    clinical_picture: str
    requested_actions: str
    external_id: str
    # Every coded value of the ServiceRequest, for the intake to judge (R2).
    codings: tuple[CodedValue, ...] = ()
    # ServiceRequest.status: acute takes only an active one (a revoked
    # request is refused, never answered as the referral it names).
    status: str = "active"
    # ServiceRequest.intent: acute takes only an order (a proposal or plan
    # asks nobody to go).
    intent: str = "order"
    # ServiceRequest.occurrence[x]: when the referrer asks her to be seen;
    # acute tightens the deadline by it or refuses it, never ignores it (R10).
    occurrence: Occurrence | None = None


def _physician(practitioner: dict[str, Any]) -> tuple[str, str]:
    """Name and first phone number of a Practitioner."""
    name = (practitioner.get("name") or [{}])[0]
    full_name = (
        name.get("text") or " ".join([*(name.get("given") or []), name.get("family") or ""]).strip()
    )
    phones = [
        t.get("value", "") for t in practitioner.get("telecom") or [] if t.get("system") == "phone"
    ]
    return full_name, phones[0] if phones else ""


def _requester(
    message: ParsedMessage, request: dict[str, Any], *, physician_missing: InvalidMessage
) -> dict[str, Any]:
    """The physician who asks for the visit: the Practitioner that
    ``ServiceRequest.requester`` names (directly or through its
    PractitionerRole), else the message's only Practitioner. Several and none
    named is refused: the responsibility (*behandlingsansvar*) is never
    guessed."""
    requester = request.get("requester")
    named = message.referenced(requester, "Practitioner", request)
    if named is None:
        role = message.referenced(requester, "PractitionerRole", request)
        if role is not None:
            named = message.referenced(role.get("practitioner"), "Practitioner", role)
    if named is not None:
        return named
    practitioners = message.of_type("Practitioner")
    if len(practitioners) != 1:
        raise physician_missing
    return practitioners[0]


def requested_visit(
    message: ParsedMessage,
    request: dict[str, Any],
    *,
    physician_missing: InvalidMessage,
    default_reason: str,
    default_actions: str,
) -> RequestedVisit:
    """Read ``request``; raises ``physician_missing`` when the message names no
    physician, and ``referral.reason_missing`` when it states no reason and
    there is no ``default_reason``. The defaults (``gettext_noop`` msgids) are
    written into the referral in the platform's language, as the staff write
    theirs, for the coordinator and the nurse to read."""
    with translation.override(settings.LANGUAGE_CODE):
        default_reason = translation.gettext(default_reason) if default_reason else ""
        default_actions = translation.gettext(default_actions) if default_actions else ""
    patients = message.of_type("Patient")
    if len(patients) == 1 and not message.names_entry(request.get("subject"), patients[0], request):
        # The referral is filed under the message's citizen and a nurse goes
        # to her: one about anyone else is refused, never taken as hers.
        raise InvalidMessage(
            "referral.subject_not_message_patient",
            "ServiceRequest.subject names someone other than the message's Patient; "
            "a referral is about the citizen the message carries.",
            field="ServiceRequest.subject",
        )
    physician_name, physician_phone = _physician(
        _requester(message, request, physician_missing=physician_missing)
    )
    priority = request.get("priority")
    if not priority:
        # FHIR reads a missing priority as routine; 1813 meant "urgent" by it.
        # Neither is guessed: the referrer states the urgency, as on every
        # door (R10), and the sender raises the refusal to a person.
        raise InvalidMessage(
            "referral.urgency_required",
            "The referral must state its urgency (ServiceRequest.priority).",
            field="ServiceRequest.priority",
        )
    urgency = URGENCY_BY_PRIORITY.get(priority)
    if urgency is None:
        raise InvalidMessage(
            "referral.priority_unknown",
            "Unknown ServiceRequest.priority.",
            field="ServiceRequest.priority",
        )
    reason = text_trimmed(concept_text(request.get("reasonCode"))) or default_reason
    if not reason:
        raise InvalidMessage(
            "referral.reason_missing",
            "The referral must state its reason.",
            field="ServiceRequest.reasonCode",
        )
    # occurrence[x] is judged by acute, with codes of its own.
    rest, occurrence = occurrence_split(request)
    case_ids = [i.get("value", "") for i in request.get("identifier") or [] if i.get("value")]
    return RequestedVisit(
        physician_name=physician_name,
        physician_phone=physician_phone,
        urgency=urgency,
        reason=reason,
        clinical_picture="\n".join(n.get("text", "") for n in request.get("note") or []) or reason,
        requested_actions=concept_text(request.get("orderDetail")) or default_actions,
        external_id=case_ids[0] if case_ids else message.header_id,
        # The message's codes were held to FHIR's required bindings by its
        # validator, whose refusal is MedCom's own.
        codings=tuple(
            coded_values(fhir_validate(ServiceRequest, rest, bindings=False), diagnosis=False)
        ),
        status=str(request.get("status") or ""),
        intent=str(request.get("intent") or ""),
        occurrence=occurrence,
    )


def referral_from_partner(
    requested: RequestedVisit, *, citizen: Citizen, partner: Partner, source: str, actor: Actor
) -> Referral:
    """The referral from ``partner``, whose physician holds the responsibility."""
    return referral_create(
        citizen=citizen,
        source=source,
        channel=Referral.Channel.ELECTRONIC,
        referrer_name=requested.physician_name,
        referrer_phone=requested.physician_phone,
        reason=requested.reason,
        clinical_picture=requested.clinical_picture,
        requested_actions=requested.requested_actions,
        urgency=requested.urgency,
        responsible_physician_name=requested.physician_name,
        responsible_physician_phone=requested.physician_phone,
        responsible_physician_organisation=partner.organisation,
        source_organisation=partner.organisation,
        external_id=requested.external_id,
        codings=requested.codings,
        requested_status=requested.status,
        requested_intent=requested.intent,
        occurrence=requested.occurrence,
        actor=actor,
    )
