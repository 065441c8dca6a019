"""R4 on the way out: may this hand-off be disclosed to this partner now?

A hand-off discloses citizen data to the partner's organisation, so the
citizen's refusals (*spærring*) decide, exactly as the access gate applies
them to a person of that organisation (recipient organisation with its
sub-units, purpose, period in force, a later consent that lifts it). The
recipient is the organisation, not a named professional: a refusal that names
only professionals does not stop an organisation-level message. A partner
that speaks for a parent organisation (a hospital for its departments)
carries the message for the organisation it was chosen for
(``OutboundMessage.recipient``); a refusal of either withholds it.

Asked twice: when the message is written (:func:`outbox_enqueue`) and again
under the row lock just before each delivery attempt, so a refusal recorded in
between stops it. A refused message is *withheld*: kept, shown to the
coordinator with ``consent.refused``, and audited as a denied disclosure.

Two exceptions, decided from the trial texts (the citizen "can ask that data
from the shared solution is not disclosed"; R4 lets only break-the-glass
override a refusal):

- ``acute-referral-status`` answers the referrer about its own referral (1813's
  case: accepted, nurse on the way, outcome code). It tells the referrer
  nothing from the shared record that it did not send itself, and R11 requires
  the referrer be told; it goes despite a refusal, and the disclosure is
  audited with reason ``reply_to_referrer``.
- ``admission-handoff`` is the emergency the override exists for: if the nurse
  who sent the citizen in holds an open break-the-glass for the citizen (open
  when the message was written, or open when it is sent), the hand-off goes, audited
  with purpose ``emergency`` and the break-the-glass id.

Every other message (results and outcome to the GP, the hand-back to home
nursing, the order confirmation request, the outcome to a non-1813 referrer)
is withheld under a covering refusal; break-the-glass does not lift it, as it
is no emergency.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

from consent.audit.services import Action, Outcome, Purpose, audit_record
from consent.gate import consent_in_force, refusal_for
from consent.models import BreakGlass, ConsentDirective
from core.actors import Actor
from integrations.messages import Event
from integrations.models import OutboundMessage

REFUSED_CODE = "consent.refused"
REPLY_TO_REFERRER = "reply_to_referrer"
BREAK_GLASS = "break_glass"
NO_REFUSAL = "no_refusal"


@dataclass(frozen=True)
class DisclosureDecision:
    permitted: bool
    reason_code: str  # no_refusal, refused, reply_to_referrer, break_glass
    break_glass_id: int | None = None

    @property
    def purpose(self) -> str:
        return Purpose.EMERGENCY if self.break_glass_id else Purpose.TREATMENT


def directives_in_force(
    citizen_ids: Iterable[int], *, at: dt.datetime
) -> dict[int, list[ConsentDirective]]:
    """Refusals and consents in force at ``at``, by citizen, in one query
    (and two for their recipients only when there are any)."""
    found: dict[int, list[ConsentDirective]] = defaultdict(list)
    ids = set(citizen_ids)
    if not ids:
        return found
    directives = (
        consent_in_force(at)
        .filter(citizen_id__in=ids)
        .prefetch_related("recipient_organisations", "recipient_users")
    )
    for directive in directives:
        found[directive.citizen_id].append(directive)
    return found


def _recipients(message: OutboundMessage) -> list[Actor]:
    """The partner's organisation, and the one it carries the message for
    (a referring department of its hospital, a practice) when that differs."""
    organisations = [message.partner.organisation]
    recipient = message.recipient if message.recipient_id is not None else None
    if recipient is not None and recipient.pk != organisations[0].pk:
        organisations.append(recipient)
    return [Actor(user=None, membership=None, task="", partner=o) for o in organisations]


def _refused(directives: list[ConsentDirective], message: OutboundMessage) -> bool:
    if not directives:
        return False
    for recipient in _recipients(message):
        whole, periods = refusal_for(directives, recipient, Purpose.TREATMENT)
        # The gate's rule. A message is one disclosure: a refusal of some
        # period's data withholds all of it rather than send a part.
        if whole or periods:
            return True
    return False


def _break_glass_for(message: OutboundMessage, *, at: dt.datetime) -> int | None:
    """An override by the person who sent the citizen in, in the role and
    organisation she sent her in for, open when the message was written or
    open now (opened after it was withheld)."""
    membership = message.on_behalf_of
    if membership is None or message.citizen_id is None:
        return None
    # Each moment on its own: an override opened after the message was
    # written and already run out lifts nothing (R4's short time limit).
    open_at = [
        Q(started_at__lte=moment, expires_at__gt=moment) for moment in (message.created_at, at)
    ]
    return (
        BreakGlass.objects.filter(
            user_id=membership.user_id,
            organisation_id=membership.organisation_id,
            role=membership.role,
            citizen_id=message.citizen_id,
        )
        .filter(open_at[0] | open_at[1])
        .order_by("-expires_at")
        .values_list("pk", flat=True)
        .first()
    )


def disclosure_decide(
    message: OutboundMessage, *, directives: list[ConsentDirective], at: dt.datetime
) -> DisclosureDecision:
    """Permit or withhold ``message``; no side effects. ``directives`` are the
    citizen's directives in force (:func:`directives_in_force`)."""
    if message.citizen_id is None or not _refused(directives, message):
        return DisclosureDecision(True, NO_REFUSAL)
    if message.event == Event.REFERRAL_STATUS:
        return DisclosureDecision(True, REPLY_TO_REFERRER)
    if message.event == Event.ADMISSION_HANDOFF:
        glass = _break_glass_for(message, at=at)
        if glass is not None:
            return DisclosureDecision(True, BREAK_GLASS, glass)
    return DisclosureDecision(False, "refused")


def disclosure_actor(message: OutboundMessage, task: str) -> Actor:
    """The task, on behalf of the person whose action caused the message, for
    the partner's organisation (as the audit log records a disclosure)."""
    on_behalf = Actor.for_membership(message.on_behalf_of) if message.on_behalf_of else None
    return Actor.system(task, on_behalf_of=on_behalf, partner=message.partner.organisation)


def disclosure_withhold(
    message: OutboundMessage, *, task: str, at: dt.datetime, stage: str
) -> list[str]:
    """Mark ``message`` withheld (the caller saves the returned fields) and
    audit the denied disclosure (R4, R9)."""
    message.status = OutboundMessage.Status.WITHHELD
    message.lease_until = None
    message.failed_at = at
    message.last_error_code = REFUSED_CODE
    message.last_error = (
        "The citizen has refused disclosure to this recipient (R4); the message is withheld."
    )
    audit_record(
        actor=disclosure_actor(message, task),
        action=Action.DISCLOSE,
        purpose=Purpose.TREATMENT,
        citizen_id=message.citizen_id,
        outcome=Outcome.DENIED,
        resource_type="Bundle",
        resource_id=str(message.bundle_id),
        reason_code="refused",
        detail={
            "partner": message.partner.code,
            "message_id": str(message.message_id),
            "event": message.event,
            "checked_at": stage,
        },
    )
    return ["status", "lease_until", "failed_at", "last_error_code", "last_error"]
