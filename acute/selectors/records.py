"""One referral, visit or episode, and lists of them, through the gate.

One record: :func:`consent.gate.access_citizen` decides and audits. Lists: one
set-based decision (:func:`consent.gate.visible_record`, the gate's rules for
searches), one audit entry per citizen shown (:func:`consent.gate.audit_listed`:
emergency for a citizen only the override shows); the refused ones are left
out, and recorded as denied.

What the acute function does of its own care passes a refusal that covers it
(R4 governs disclosure, docs/decisions/0029): the nurse's own visit under way
(:func:`own_visit_under_way`: documenting it, finishing it) and the ending of
an open episode by the coordinator (``ending=True``). Every other read and
write, and any new visit, is refused as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NoReturn, TypeVar

from acute.models import Episode, Referral, Visit
from consent.audit.services import Action, Outcome, Purpose, audit_record_many
from consent.gate import (
    Decision,
    access_citizen,
    audit_listed,
    own_care_decision,
    visible_record,
)
from consent.models import CareRelationship
from consent.services.denied import audit_denied
from core.actors import Actor
from core.errors import Conflict, NotFoundOrNotAllowed
from core.models import Organisation, Role

# The gate's category for the acute function's own records (identity, address
# and the referral's clinical picture travel together).
CATEGORY = "patient"

Row = TypeVar("Row", Referral, Visit)
Record = TypeVar("Record", Referral, Visit, Episode)

# The bases of the acute function's own care, recorded when a refusal covered
# it (consent.gate.rules.own_care_decision).
VISIT_NURSE = "visit_nurse"
EPISODE_END = "episode_end"
# A visit under way: she has set off for the citizen or is with her.
UNDER_WAY = (Visit.Status.EN_ROUTE, Visit.Status.ON_SITE)

# The hospital's reports that take a nurse's visit back (R12), and what she
# is told when her tablet, or a system for her, still writes on it.
HOSPITAL_WITHDRAWALS = (Visit.CancelReason.ADMITTED, Visit.CancelReason.DECEASED)
VISIT_WITHDRAWN_ADMITTED = "visit.withdrawn_admitted"
VISIT_WITHDRAWN_DECEASED = "visit.withdrawn_deceased"
_WITHDRAWN = {
    Visit.CancelReason.ADMITTED: (
        VISIT_WITHDRAWN_ADMITTED,
        "Your visit was withdrawn because the citizen was admitted to hospital. Nothing was saved.",
    ),
    Visit.CancelReason.DECEASED: (
        VISIT_WITHDRAWN_DECEASED,
        "Your visit was withdrawn because the citizen is registered deceased. Nothing was saved.",
    ),
}


def own_visit_under_way(actor: Actor, visit: Visit) -> str:
    """:data:`VISIT_NURSE` when ``visit`` is the actor's own, under way, and
    she acts as an acute nurse of the visit's acute function: what she does
    and records on it is her own record of care, which the citizen's refusal
    does not stop (the refusal still decides every read of the shared
    record). Otherwise ``""``."""
    if (
        actor.role == Role.ACUTE_NURSE
        and actor.user is not None
        and actor.organisation is not None
        and visit.nurse_id == actor.user.pk
        and visit.status in UNDER_WAY
        and visit.shift.acute_function_id == actor.organisation.pk
    ):
        return VISIT_NURSE
    return ""


def visit_withdrawn_refusal(actor: Actor, visit: Visit) -> Conflict | None:
    """Why a write on her own visit is refused once the hospital's report
    withdrew it (the citizen admitted, or dead): said on every door rather
    than "not found", which would leave her to think the coordinator gave
    it to another nurse. Asked only after the gate refused (the attempt is
    recorded, R9); it tells her nothing her visit page does not. ``None``
    for any other visit."""
    if (
        actor.user is None
        or visit.nurse_id != actor.user.pk
        or visit.status != Visit.Status.CANCELLED
        or visit.cancel_reason not in _WITHDRAWN
    ):
        return None
    code, message = _WITHDRAWN[Visit.CancelReason(visit.cancel_reason)]
    return Conflict(code, message, rule="R12")


def _episode_ended_by(actor: Actor, episode: Episode | None) -> str:
    """:data:`EPISODE_END` when the acute function's coordinator ends an open
    episode: a step on the episode, not a read of the record, so the
    citizen's refusal does not leave it open for good. Otherwise ``""``."""
    if (
        episode is not None
        and episode.status == Episode.Status.OPEN
        and actor.role == Role.COORDINATOR
        and actor.organisation is not None
        and actor.organisation.kind == Organisation.Kind.ACUTE_FUNCTION
    ):
        return EPISODE_END
    return ""


def _through_gate(
    actor: Actor,
    record: Record | None,
    action: str,
    resource_type: str,
    resource_id: str,
    *,
    own_care: str = "",
) -> Record:
    """``record`` if the gate lets the actor at its citizen. One that does not
    exist is a denied attempt too (R9), with the same answer as a refusal.
    ``own_care``: the basis on which it is the actor's own care (above)."""
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
        own_care=own_care,
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


def referral_get(
    *, actor: Actor, referral_id: int, action: str = Action.READ, ending: bool = False
) -> Referral:
    """One referral, through the gate; ``ending``: to end its episode (an
    update), which the coordinator may do under the citizen's refusal."""
    referral = (
        Referral.objects.select_related(
            "citizen", "citizen__municipality", "source_organisation", "episode"
        )
        .filter(pk=referral_id)
        .first()
    )
    own_care = _episode_ended_by(actor, referral.episode) if ending and referral is not None else ""
    resource_id = f"referral-{referral_id}"
    return _through_gate(actor, referral, action, "ServiceRequest", resource_id, own_care=own_care)


def referral_episode_ended_for(*, actor: Actor, referral_id: int) -> bool:
    """Whether the referral's page is closed to this coordinator because its
    episode has ended: her acute function had the citizen through that
    episode, and its care relationship ended with it (R1; a death ends the
    episode too). Asked only after the gate has refused the read and
    recorded the attempt, so that she is told why rather than "not
    available"; anyone whose organisation never had the episode gets False,
    and learns nothing of it."""
    if actor.role != Role.COORDINATOR or actor.organisation is None:
        return False
    ended = (
        Referral.objects.filter(pk=referral_id, episode__status=Episode.Status.COMPLETED)
        .values_list("citizen_id", "episode_id")
        .first()
    )
    if ended is None:
        return False
    citizen_id, episode_id = ended
    # The acute function's own relationship through the episode (opened with
    # its first referral, for the function and not a nurse).
    return CareRelationship.objects.filter(
        citizen_id=citizen_id,
        organisation=actor.organisation,
        user__isnull=True,
        basis=CareRelationship.Basis.REFERRAL,
        source_id=str(episode_id),
        ended_at__isnull=False,
    ).exists()


def visit_get(*, actor: Actor, visit_id: int, action: str = Action.READ) -> Visit:
    """One visit, through the gate: her own visit under way passes the
    citizen's refusal (:func:`own_visit_under_way`)."""
    visit = (
        Visit.objects.select_related(
            "citizen", "citizen__municipality", "nurse", "referral", "shift"
        )
        .filter(pk=visit_id)
        .first()
    )
    own_care = own_visit_under_way(actor, visit) if visit is not None else ""
    try:
        return _through_gate(
            actor, visit, action, "Encounter", f"visit-{visit_id}", own_care=own_care
        )
    except NotFoundOrNotAllowed:
        withdrawn = (
            visit_withdrawn_refusal(actor, visit)
            if visit is not None and action != Action.READ
            else None
        )
        if withdrawn is not None:
            raise withdrawn from None
        raise


def episode_get(
    *, actor: Actor, episode_id: int, action: str = Action.READ, ending: bool = False
) -> Episode:
    """One episode, through the gate; ``ending``: to end it (an update),
    which the coordinator may do under the citizen's refusal."""
    episode = Episode.objects.select_related("citizen").filter(pk=episode_id).first()
    own_care = _episode_ended_by(actor, episode) if ending else ""
    return _through_gate(
        actor, episode, action, "EpisodeOfCare", str(episode_id), own_care=own_care
    )


def gated(
    actor: Actor,
    rows: Sequence[Row],
    resource_type: str,
    *,
    own_care: Mapping[int, str] | None = None,
) -> list[Row]:
    """Keep the rows whose citizen the actor may see; audit each citizen once.

    One set-based decision for the whole list (the gate's own rules for
    searches), not a decision per citizen: a board of a hundred referrals
    costs a few queries, not hundreds. ``own_care`` (citizen id: basis): the
    citizens of her own care under way, whom a refusal covering her does not
    take off the list, recorded on that basis."""
    citizen_ids = list(dict.fromkeys(row.citizen_id for row in rows))
    allowed_ids: set[int] = set()
    overrides: dict[int, Decision] = {}
    if citizen_ids:
        visible = visible_record(actor=actor, category=CATEGORY, purpose=Purpose.TREATMENT)
        allowed_ids = set(visible.citizens.filter(pk__in=citizen_ids).values_list("pk", flat=True))
        own = {
            cid: own_care_decision(basis)
            for cid, basis in (own_care or {}).items()
            if basis and cid in allowed_ids and cid in visible.refused
        }
        allowed_ids -= visible.refused - own.keys()
        overrides = {**visible.overrides, **own}
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
