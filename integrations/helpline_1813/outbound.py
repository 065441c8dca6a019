"""Status of a 1813 referral back to 1813: accepted or declined, nurse on the
way, and the outcome. A FHIR Task whose focus is 1813's own ServiceRequest
(by its identifier), in a message Bundle."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from acute.models import Outcome
from core.times import fhir_instant
from integrations.adapters import Outgoing
from integrations.messages import in_partner_language, patient_ref

if TYPE_CHECKING:
    from acute.models import Referral

BUSINESS_STATUS_SYSTEM = "urn:tvaerakut:referral-status"
REFERRAL_ID_SYSTEM = "urn:tvaerakut:helpline-1813:case"

# Our step -> (Task.status, businessStatus code, text). The text is a msgid,
# written in Danish for 1813's physician when the message is built.
STEPS = {
    "accepted": ("accepted", "accepted", gettext_noop("Accepted by the acute function")),
    "declined": ("rejected", "declined", gettext_noop("Declined by the acute function")),
    "nurse_accepted": (
        "in-progress",
        "nurse-assigned",
        gettext_noop("A nurse has accepted the visit"),
    ),
    "en_route": ("in-progress", "nurse-en-route", gettext_noop("The nurse is on the way")),
    "on_site": ("in-progress", "nurse-on-site", gettext_noop("The nurse is with the citizen")),
    "completed": ("completed", "completed", gettext_noop("The acute episode ended")),
    # The coordinator withdrew it (1813 called it off, it was entered in
    # error, the citizen was cared for elsewhere): nobody is sent, the Task
    # ends here. Never left "accepted" for 1813's physician to wonder about.
    "withdrawn": (
        "cancelled",
        "withdrawn",
        gettext_noop("The acute function withdrew the referral: no nurse is sent"),
    ),
}
# An episode that ended without a nurse seeing the citizen is not "completed"
# to 1813's physician. Not found: the visit was tried and failed, nobody knows
# how she is, she may still need help (1813 may need to act again). Lapsed:
# the request was called off before anyone saw her (withdrawn, admitted by
# other means), nothing more is coming.
ENDED_WITHOUT_SEEING = {
    Outcome.CITIZEN_NOT_FOUND: (
        "failed",
        "citizen-not-found",
        gettext_noop(
            "The nurse did not find the citizen: nobody has seen her, she may still need help"
        ),
    ),
    Outcome.REFERRAL_LAPSED: (
        "cancelled",
        "referral-lapsed",
        gettext_noop("The referral lapsed before a nurse saw the citizen"),
    ),
}


@dataclass(frozen=True)
class ReferralStep:
    """A step of a referral 1813 is told about (a key of :data:`STEPS`), with
    the reason of a decline or the episode's outcome."""

    referral: Referral
    step: str
    note: str = ""
    outcome: str = ""


def status_task(step: ReferralStep) -> dict[str, Any]:
    referral = step.referral
    status, code, text = STEPS[step.step]
    if step.step == "completed" and step.outcome in ENDED_WITHOUT_SEEING:
        status, code, text = ENDED_WITHOUT_SEEING[Outcome(step.outcome)]
    elif step.step == "completed" and referral.status == referral.Status.WITHDRAWN:
        # Withdrawn earlier, its episode ended later on another referral: the
        # outcome is told, and the Task stays where the withdrawal left it
        # (a cancelled Task never becomes completed).
        status, code, text = STEPS["withdrawn"]
    with in_partner_language():
        text = gettext(text)
        referral_display = gettext("Referral %(number)s") % {"number": referral.pk}
        outcome_type = gettext("Outcome")
        outcome_label = (
            gettext(Outcome(step.outcome).label) if step.outcome in Outcome.values else ""
        )
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": str(uuid.uuid4()),
        "status": status,
        "intent": "order",
        "businessStatus": {
            "coding": [{"system": BUSINESS_STATUS_SYSTEM, "code": code}],
            "text": text,
        },
        "focus": {
            "identifier": {
                "system": REFERRAL_ID_SYSTEM,
                "value": referral.external_id or str(referral.pk),
            },
            "display": referral_display,
        },
        "for": patient_ref(referral.citizen),
        "lastModified": fhir_instant(timezone.now()),
    }
    if step.note:
        task["statusReason"] = {"text": step.note[:1000]}
    if step.outcome:
        task["output"] = [
            {
                "type": {"text": outcome_type},
                "valueCodeableConcept": {
                    "coding": [{"system": "urn:tvaerakut:episode-outcome", "code": step.outcome}],
                    **({"text": outcome_label} if outcome_label else {}),
                },
            }
        ]
    return task


def referral_status(step: ReferralStep) -> Outgoing:
    """Where 1813's referral stands."""
    return Outgoing(
        citizen=step.referral.citizen,
        focus=[status_task(step)],
        source_type="acute.referral",
        source_id=str(step.referral.pk),
        activity="status-update",
    )
