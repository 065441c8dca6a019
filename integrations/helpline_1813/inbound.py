"""A referral from 1813: a ServiceRequest with the Patient, the reason and the
1813 physician, becoming a referral in ``acute`` through its own service."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from acute.models import Referral
from core.actors import Actor
from integrations.adapters import Handled
from integrations.messages import InvalidMessage, ParsedMessage
from integrations.models import Partner
from integrations.patients import citizen_find_or_register
from integrations.referrals import referral_from_partner, requested_visit


def referral_receive(partner: Partner, message: ParsedMessage, actor: Actor) -> Handled:
    request = message.one("ServiceRequest")
    patient = message.one("Patient")
    requested = requested_visit(
        message,
        request,
        physician_missing=InvalidMessage(
            "referral.physician_missing",
            "The referral must name the 1813 physician (Practitioner with a phone number).",
            field="ServiceRequest.requester",
        ),
        default_reason="",
        default_actions=gettext_noop("Assess and treat at home"),
    )
    # Registered only once the referral itself reads well; a refusal by acute
    # below rolls the registration back with everything else.
    citizen = citizen_find_or_register(patient)
    referral = referral_from_partner(
        requested,
        citizen=citizen,
        partner=partner,
        source=Referral.Source.HELPLINE_1813,
        actor=actor,
    )
    return Handled(
        citizen=citizen, result={"referral": referral.pk, "episode": referral.episode_id}
    )
