"""Builders that several partners declare (:mod:`integrations.adapters`).

- the episode's outcome as a CareCommunication, to the referrer and the
  citizen's GP (R11: the referrer is told);
- the request to confirm a phone order (*telefonordination*) electronically,
  to the ordering physician's organisation (R8).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from acute.models import Outcome
from core.times import fhir_instant, shown
from integrations.adapters import Outgoing
from integrations.medcom.envelope import narrative, profile_url
from integrations.medcom.outbound import (
    DATETIME_EXTENSION,
    IDENTIFIER_EXTENSION,
    PRACTITIONER_EXTENSION,
    SENT_AS_MEDCOM,
    MedComShape,
)
from integrations.messages import SOURCE_SYSTEM, in_partner_language, patient_ref
from integrations.resources import medicine

if TYPE_CHECKING:
    from acute.clinical.models import MedicationOrder
    from acute.models import Episode
    from core.models import Citizen, User

CARE_COMMUNICATION_EVENT = SENT_AS_MEDCOM["care-communication"]
CARE_COMMUNICATION_DEFINITION = (
    "http://medcomfhir.dk/ig/messagedefinitions/MessageDefinition/"
    "MedComCareCommunicationMessageDefinition|5.0"
)
CATEGORY_SYSTEM = (
    "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-careCommunication-categoryCodes"
)
# What the author of a hand-off is, as PractitionerRole.code.text.
AUTHOR_ROLE = "Sundhedsfaglig medarbejder, kommunal akutfunktion"


def outcome_text(episode: Episode) -> str:
    """The episode's end as the partner's nurse or GP reads it, in Danish: the
    outcome by its label (the model keeps FHIR's English display), then the
    nurse's note."""
    with in_partner_language():
        if episode.outcome:
            # The label is the catalogue's msgid (acute.pages.EDGE_LABELS).
            label = gettext(Outcome(episode.outcome).label)
            head = gettext("Acute episode ended: %(outcome)s.") % {"outcome": label}
        else:
            head = gettext("Acute episode ended.")
    note = f"\n{episode.outcome_note}" if episode.outcome_note else ""
    return f"{head}{note}"


@dataclass(frozen=True)
class EpisodeCommunication:
    """A kind of CareCommunication about the end of an episode."""

    category: str  # MedCom's CareCommunication category
    title: str  # the topic: a msgid, written in Danish when the message is built
    source_type: str


EPISODE_OUTCOME = EpisodeCommunication(
    category="carecoordination",
    title=gettext_noop("Outcome of the acute episode"),
    source_type="acute.episode",
)


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def author_resources(user: User | None) -> list[dict[str, Any]]:
    """The author as MedCom names one: a PractitionerRole pointing to a named
    Practitioner. None without a person (the message then breaks MedCom's
    rule that a text has an author, and is parked)."""
    if user is None:
        return []
    name: dict[str, Any] = {"use": "official", "text": user.get_full_name() or user.username}
    if user.last_name:
        name["family"] = user.last_name
    if user.first_name:
        name["given"] = user.first_name.split()
    practitioner = {
        "resourceType": "Practitioner",
        "id": str(uuid.uuid4()),
        "name": [name],
        "text": narrative(name["text"]),
    }
    role = {
        "resourceType": "PractitionerRole",
        "id": str(uuid.uuid4()),
        "practitioner": {"reference": f"urn:uuid:{practitioner['id']}"},
        "code": [{"text": AUTHOR_ROLE}],
        "text": narrative(name["text"], AUTHOR_ROLE),
    }
    return [role, practitioner]


def communication(
    *,
    citizen: Citizen,
    category: str,
    topic: str,
    text: str,
    author: list[dict[str, Any]],
    identifier: str | None = None,
    segment_identifier: str | None = None,
) -> dict[str, Any]:
    """A MedComCareCommunication: status, identifier (the thread's, else a new
    one), category, topic, and one text payload with its date, identifier and
    author."""
    now = timezone.now()
    sent = fhir_instant(now, timespec="seconds")
    # The narrative is what a partner's nurse reads: her clock, in Danish.
    with in_partner_language():
        sent_local = gettext("%(date)s at %(time)s") % {
            "date": shown(now, "d-m-Y"),
            "time": shown(now, "H:i"),
        }
    payload: dict[str, Any] = {
        "extension": [
            {"url": DATETIME_EXTENSION, "valueDateTime": sent},
            {
                "url": IDENTIFIER_EXTENSION,
                "valueIdentifier": {"value": segment_identifier or _urn()},
            },
        ],
        "contentString": text or topic,
    }
    if author:
        payload["extension"].insert(
            1,
            {
                "url": PRACTITIONER_EXTENSION,
                "valueReference": {"reference": f"urn:uuid:{author[0]['id']}"},
            },
        )
    author_name = author[1]["name"][0]["text"] if author else ""
    return {
        "resourceType": "Communication",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [profile_url("medcom-careCommunication-communication")]},
        "text": narrative(topic, sent_local, author_name, *(text or "").splitlines()),
        "status": "unknown",
        "identifier": [{"value": identifier or _urn()}],
        "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": category}]}],
        "subject": patient_ref(citizen),
        "topic": {"text": topic},
        "payload": [payload],
    }


def care_communication(
    *,
    episode: Episode,
    kind: EpisodeCommunication,
    text: str,
    author: list[dict[str, Any]],
) -> dict[str, Any]:
    """The CareCommunication of ``kind`` about ``episode``."""
    with in_partner_language():
        topic = gettext(kind.title)
    return communication(
        citizen=episode.citizen, category=kind.category, topic=topic, text=text, author=author
    )


def episode_author(episode: Episode) -> User | None:
    """Who speaks for the episode: whoever closed it; when the platform closed
    it, the nurse of its last visit, else whoever took the referral in."""
    if episode.closed_by is not None:
        return episode.closed_by
    visit = episode.visits.select_related("nurse").order_by("-assigned_at").first()
    if visit is not None:
        return visit.nurse
    referral = episode.referrals.select_related("created_by").order_by("pk").first()
    return referral.created_by if referral is not None else None


def episode_communication(episode: Episode, kind: EpisodeCommunication, text: str) -> Outgoing:
    """A MedCom CareCommunication of ``kind`` about the end of ``episode``,
    written by whoever closed it."""
    author = author_resources(episode_author(episode))
    focus = care_communication(episode=episode, kind=kind, text=text, author=author)
    payload_identifier = focus["payload"][0]["extension"][-1]["valueIdentifier"]
    return Outgoing(
        citizen=episode.citizen,
        focus=[focus],
        supporting=author,
        source_type=kind.source_type,
        source_id=str(episode.pk),
        medcom=MedComShape(
            event=CARE_COMMUNICATION_EVENT,
            definition=CARE_COMMUNICATION_DEFINITION,
            provenance_entities=[{"role": "source", "what": {"identifier": payload_identifier}}],
        ),
    )


def episode_outcome(episode: Episode) -> Outgoing:
    """The outcome of the episode, to a referrer (GP, hospital) or the citizen's GP."""
    return episode_communication(episode, EPISODE_OUTCOME, outcome_text(episode))


def order_confirmation_request(order: MedicationOrder) -> Outgoing:
    """A phone order awaiting the physician's electronic confirmation, as a
    MedicationRequest on hold."""
    with in_partner_language():
        note = gettext("Phone order read back and confirmed; please confirm electronically.")
    request = {
        "resourceType": "MedicationRequest",
        "id": str(uuid.uuid4()),
        "identifier": [{"system": SOURCE_SYSTEM, "value": f"medorder-{order.pk}"}],
        "status": "on-hold",
        "intent": "order",
        "reportedBoolean": True,
        "medicationCodeableConcept": medicine(atc=order.medicine_atc, name=order.medicine_name),
        "subject": patient_ref(order.citizen),
        "authoredOn": fhir_instant(order.ordered_at),
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
        "note": [{"text": note}],
    }
    return Outgoing(
        citizen=order.citizen,
        focus=[request],
        source_type="acute.clinical.medication_order",
        source_id=str(order.pk),
    )
