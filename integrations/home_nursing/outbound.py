"""The hand-back report (*tilbagemelding*) to the home nursing of the citizen's
own municipality when an acute episode ends (R11): a CareCommunication with
the outcome, the nurses' assessments and what to follow up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import timezone

from acute.models import Visit
from integrations.adapters import Outgoing
from integrations.builders import EpisodeCommunication, episode_communication, outcome_text

if TYPE_CHECKING:
    from acute.models import Episode

HAND_BACK = EpisodeCommunication(
    category="nursing",
    title="Hand-back after an acute episode",
    source_type="acute.episode.handback",
)


def handback_text(episode: Episode) -> str:
    lines = [outcome_text(episode)]
    visits = episode.visits.filter(status=Visit.Status.COMPLETED).order_by("completed_at")
    for visit in visits:
        if visit.assessment:
            # The home nurse reads the time as her own clock showed it (Copenhagen).
            at = timezone.localtime(visit.completed_at, timezone.get_default_timezone())
            lines.append(f"Visit {at:%d-%m-%Y %H:%M}: {visit.assessment}")
    return "\n".join(lines)


def handback(episode: Episode) -> Outgoing:
    return episode_communication(episode, HAND_BACK, handback_text(episode))
