"""A referral from 1813: a ServiceRequest with the Patient, the reason and the
1813 physician, becoming a referral in ``acute`` through its own service."""

from __future__ import annotations

from typing import Any

from core.actors import Actor
from integrations.inbound import Handled
from integrations.messages import InvalidMessage, ParsedMessage
from integrations.models import Partner
from integrations.patients import citizen_find_or_register

# ServiceRequest.priority -> acute urgency (R10).
URGENCY_BY_PRIORITY = {
    "stat": "within_2_hours",
    "asap": "within_2_hours",
    "urgent": "within_shift",
    "routine": "next_day",
}


def _text(concepts: Any) -> str:
    if not isinstance(concepts, list):
        return ""
    return "; ".join(c.get("text") or "" for c in concepts if isinstance(c, dict)).strip("; ")


def referral_receive(partner: Partner, message: ParsedMessage, actor: Actor) -> Handled:
    from acute.services import referral_create

    request = message.one("ServiceRequest")
    patient = message.one("Patient")
    practitioners = message.of_type("Practitioner")
    if not practitioners:
        raise InvalidMessage(
            "referral.physician_missing",
            "The referral must name the 1813 physician (Practitioner with a phone number).",
            field="ServiceRequest.requester",
        )
    physician = practitioners[0]
    name = (physician.get("name") or [{}])[0]
    physician_name = (
        name.get("text") or " ".join([*(name.get("given") or []), name.get("family") or ""]).strip()
    )
    phones = [
        t.get("value", "") for t in physician.get("telecom") or [] if t.get("system") == "phone"
    ]
    priority = request.get("priority") or "urgent"
    urgency = URGENCY_BY_PRIORITY.get(priority)
    if urgency is None:
        raise InvalidMessage(
            "referral.priority_unknown",
            "Unknown ServiceRequest.priority.",
            field="ServiceRequest.priority",
        )
    case_ids = [i.get("value", "") for i in request.get("identifier") or [] if i.get("value")]
    reason = _text(request.get("reasonCode"))
    if not reason:
        raise InvalidMessage(
            "referral.reason_missing",
            "The referral must state its reason.",
            field="ServiceRequest.reasonCode",
        )
    citizen = citizen_find_or_register(patient)
    referral = referral_create(
        citizen=citizen,
        source="helpline_1813",
        channel="electronic",
        referrer_name=physician_name,
        referrer_phone=phones[0] if phones else "",
        reason=reason,
        clinical_picture="\n".join(n.get("text", "") for n in request.get("note") or []) or reason,
        requested_actions=_text(request.get("orderDetail")) or "Assess and treat at home",
        urgency=urgency,
        responsible_physician_name=physician_name,
        responsible_physician_phone=phones[0] if phones else "",
        responsible_physician_organisation=partner.organisation,
        source_organisation=partner.organisation,
        external_id=case_ids[0] if case_ids else message.header_id,
        by=actor,
    )
    return Handled(
        citizen=citizen, result={"referral": referral.pk, "episode": referral.episode_id}
    )
