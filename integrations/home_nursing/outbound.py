"""The hand-back report (*tilbagemelding*) to the home nursing of the citizen's
own municipality when an acute episode ends (R11): a CareCommunication with
the outcome, the nurses' assessments and what to follow up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext, gettext_noop

from acute.models import Visit
from core.times import shown
from integrations.adapters import Outgoing
from integrations.builders import (
    EpisodeCommunication,
    episode_communication,
    episode_outcome,
    outcome_text,
)
from integrations.messages import in_partner_language

if TYPE_CHECKING:
    from acute.models import Episode

HAND_BACK = EpisodeCommunication(
    category="nursing",
    title=gettext_noop("Hand-back after an acute episode"),
    source_type="acute.episode.handback",
)


def handback_text(episode: Episode) -> str:
    lines = [outcome_text(episode)]
    visits = episode.visits.filter(status=Visit.Status.COMPLETED).order_by("completed_at")
    for visit in visits:
        if visit.assessment:
            # The home nurse reads the time as her own clock showed it
            # (Copenhagen), told which 02:30 in the hour that comes twice.
            with in_partner_language():
                visit_at = gettext("Visit %(date)s at %(time)s") % {
                    "date": shown(visit.completed_at, "d-m-Y"),
                    "time": shown(visit.completed_at, "H:i"),
                }
            lines.append(f"{visit_at}: {visit.assessment}")
    return "\n".join(lines)


def handback(episode: Episode) -> Outgoing:
    return episode_communication(episode, HAND_BACK, handback_text(episode))


@dataclass(frozen=True)
class ReferrerOutcome:
    """The outcome owed to a home nursing that referred the citizen but is not
    her own municipality's (she lives, or has moved, elsewhere): the referrer
    is told how the episode ended (R11); the hand-back with the nurses'
    assessments goes to her own municipality's home nursing only (R3)."""

    episode: Episode


def handback_or_outcome(about: Episode | ReferrerOutcome) -> Outgoing:
    """What a home nursing is sent when an episode ends: the hand-back to the
    citizen's own, the outcome to another that referred her."""
    if isinstance(about, ReferrerOutcome):
        return episode_outcome(about.episode)
    return handback(about)
