"""The hand-back report (*tilbagemelding*) to the home nursing of the citizen's
own municipality when an acute episode ends (R11): a CareCommunication with
the outcome, the nurses' assessments and what to follow up."""

from __future__ import annotations

from typing import Any

from core.actors import Actor
from integrations.gp.outbound import communication, outcome_text
from integrations.messages import Event
from integrations.models import OutboundMessage
from integrations.outbound import home_nursing_partner, message_send


def handback_text(episode: Any) -> str:
    lines = [outcome_text(episode)]
    visits = episode.visits.filter(status="completed").order_by("completed_at")
    for visit in visits:
        if visit.assessment:
            lines.append(f"Visit {visit.completed_at:%Y-%m-%d %H:%M} UTC: {visit.assessment}")
    return "\n".join(lines)


def handback_send(*, episode: Any, by: Actor | None) -> OutboundMessage | None:
    partner = home_nursing_partner(episode.citizen.municipality)
    if partner is None:
        return None
    return message_send(
        partner=partner,
        event=Event.CARE_COMMUNICATION,
        citizen=episode.citizen,
        focus=[
            communication(
                citizen=episode.citizen,
                category="hand-back",
                title="Hand-back after an acute episode",
                text=handback_text(episode),
                about=f"episode-{episode.pk}",
            )
        ],
        by=by,
        source_type="acute.episode.handback",
        source_id=episode.pk,
    )
