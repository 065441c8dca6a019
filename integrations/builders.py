"""Builders that several partners declare (:mod:`integrations.adapters`).

- the episode's outcome as a CareCommunication, to the referrer and the
  citizen's GP (R11: the referrer is told);
- the request to confirm a phone order (*telefonordination*) electronically,
  to the ordering physician's organisation (R8).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from integrations.adapters import Outgoing
from integrations.messages import patient_ref
from integrations.resources import communication, medicine

if TYPE_CHECKING:
    from acute.clinical.models import MedicationOrder
    from acute.models import Episode


def outcome_text(episode: Episode) -> str:
    label = episode.get_outcome_display() if episode.outcome else "ended"
    note = f"\n{episode.outcome_note}" if episode.outcome_note else ""
    return f"Acute episode {label}.{note}"


@dataclass(frozen=True)
class EpisodeCommunication:
    """A kind of CareCommunication about the end of an episode."""

    category: str
    title: str
    source_type: str


EPISODE_OUTCOME = EpisodeCommunication(
    category="visit-outcome", title="Outcome of the acute episode", source_type="acute.episode"
)


def episode_communication(episode: Episode, kind: EpisodeCommunication, text: str) -> Outgoing:
    """A CareCommunication of ``kind`` about the end of ``episode``."""
    about = f"episode-{episode.pk}"
    focus = communication(
        citizen=episode.citizen, category=kind.category, title=kind.title, text=text, about=about
    )
    return Outgoing(
        citizen=episode.citizen,
        focus=[focus],
        source_type=kind.source_type,
        source_id=str(episode.pk),
    )


def episode_outcome(episode: Episode) -> Outgoing:
    """The outcome of the episode, to a referrer (GP, hospital) or the citizen's GP."""
    return episode_communication(episode, EPISODE_OUTCOME, outcome_text(episode))


def order_confirmation_request(order: MedicationOrder) -> Outgoing:
    """A phone order awaiting the physician's electronic confirmation, as a
    MedicationRequest on hold."""
    request = {
        "resourceType": "MedicationRequest",
        "id": f"medorder-{order.pk}",
        "status": "on-hold",
        "intent": "order",
        "reportedBoolean": True,
        "medicationCodeableConcept": medicine(atc=order.medicine_atc, name=order.medicine_name),
        "subject": patient_ref(order.citizen),
        "authoredOn": order.ordered_at.isoformat(),
        "requester": {"display": order.ordered_by_name},
        "reasonCode": [{"text": order.indication}],
        "dosageInstruction": [
            {
                "text": (
                    f"{order.dose} {order.dose_unit} {order.route},"
                    f" {order.frequency}, {order.duration}"
                ),
            }
        ],
        "note": [{"text": "Phone order read back and confirmed; please confirm electronically."}],
    }
    return Outgoing(
        citizen=order.citizen,
        focus=[request],
        source_type="acute.clinical.medication_order",
        source_id=str(order.pk),
    )
