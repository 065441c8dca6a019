"""One referral, visit or episode, and lists of them, through the gate.

One record: :func:`consent.gate.access_citizen` decides and audits. Lists: one
set-based decision (:func:`consent.gate.visible_record`, the gate's rules for
searches), one audit entry per citizen shown (:func:`consent.gate.audit_listed`:
emergency for a citizen only the override shows); the refused ones are left
out, and recorded as denied.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn, TypeVar

from acute.models import Episode, Referral, Visit
from consent.audit.services import Action, Outcome, Purpose, audit_record_many
from consent.gate import Decision, access_citizen, audit_listed, visible_record
from consent.services.denied import audit_denied
from core.actors import Actor
from core.errors import NotFoundOrNotAllowed

# The gate's category for the acute function's own records (identity, address
# and the referral's clinical picture travel together).
CATEGORY = "patient"

Row = TypeVar("Row", Referral, Visit)
Record = TypeVar("Record", Referral, Visit, Episode)


def _through_gate(
    actor: Actor, record: Record | None, action: str, resource_type: str, resource_id: str
) -> Record:
    """``record`` if the gate lets the actor at its citizen. One that does not
    exist is a denied attempt too (R9), with the same answer as a refusal."""
    if record is None:
        _unknown(actor, action, resource_type, resource_id)
    access_citizen(
        actor=actor,
        citizen_id=record.citizen_id,
        action=action,
        category=CATEGORY,
        purpose=Purpose.TREATMENT,
        resource_type=resource_type,
        resource_id=resource_id,
    )
    return record


def _unknown(actor: Actor, action: str, resource_type: str, resource_id: str) -> NoReturn:
    audit_denied(
        actor=actor,
        action=action,
        purpose=Purpose.TREATMENT,
        reason_code="unknown_resource",
        resource_type=resource_type,
        resource_id=resource_id,
    )
    raise NotFoundOrNotAllowed()


def referral_get(*, actor: Actor, referral_id: int, action: str = Action.READ) -> Referral:
    """One referral, through the gate."""
    referrals = Referral.objects.select_related(
        "citizen", "citizen__municipality", "source_organisation", "episode"
    ).filter(pk=referral_id)
    resource_id = f"referral-{referral_id}"
    return _through_gate(actor, referrals.first(), action, "ServiceRequest", resource_id)


def visit_get(*, actor: Actor, visit_id: int, action: str = Action.READ) -> Visit:
    """One visit, through the gate."""
    visits = Visit.objects.select_related(
        "citizen", "citizen__municipality", "nurse", "referral"
    ).filter(pk=visit_id)
    return _through_gate(actor, visits.first(), action, "Encounter", f"visit-{visit_id}")


def episode_get(*, actor: Actor, episode_id: int, action: str = Action.READ) -> Episode:
    """One episode, through the gate."""
    episode = Episode.objects.select_related("citizen").filter(pk=episode_id).first()
    return _through_gate(actor, episode, action, "EpisodeOfCare", str(episode_id))


def gated(actor: Actor, rows: Sequence[Row], resource_type: str) -> list[Row]:
    """Keep the rows whose citizen the actor may see; audit each citizen once.

    One set-based decision for the whole list (the gate's own rules for
    searches), not a decision per citizen: a board of a hundred referrals
    costs a few queries, not hundreds."""
    citizen_ids = list(dict.fromkeys(row.citizen_id for row in rows))
    allowed_ids: set[int] = set()
    overrides: dict[int, Decision] = {}
    if citizen_ids:
        visible = visible_record(actor=actor, category=CATEGORY, purpose=Purpose.TREATMENT)
        allowed_ids = set(visible.citizens.filter(pk__in=citizen_ids).values_list("pk", flat=True))
        allowed_ids -= visible.refused
        overrides = visible.overrides
    permitted = [citizen_id for citizen_id in citizen_ids if citizen_id in allowed_ids]
    denied = [citizen_id for citizen_id in citizen_ids if citizen_id not in allowed_ids]
    # A citizen on the list only through the nurse's break-the-glass is an
    # emergency access, recorded with the override's reason.
    audit_listed(
        actor=actor,
        action=Action.SEARCH,
        purpose=Purpose.TREATMENT,
        citizen_ids=permitted,
        overrides=overrides,
        category=CATEGORY,
        resource_type=resource_type,
        reason_code="care_relationship",
    )
    if denied:
        audit_record_many(
            actor=actor,
            action=Action.SEARCH,
            purpose=Purpose.TREATMENT,
            citizen_ids=denied,
            outcome=Outcome.DENIED,
            resource_type=resource_type,
            reason_code="left_out_of_list",
        )
    allowed = set(permitted)
    return [row for row in rows if row.citizen_id in allowed]
