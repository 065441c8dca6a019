"""Receiving a MedCom CareCommunication (handler of ``care-communication-message``).

A ``new-message`` opens a thread under its episode identifier
(``Communication.identifier``), and so does a ``forward-message`` under an
identifier the platform does not know: MedCom gives a forward a new one and
asks its receiver to show it, with the messages it carries, in a new thread.
A ``reply-message``, or a forward under a known identifier, continues the
thread of that identifier and must point (its Provenance's ``revision``
entity) to a message of that thread: a reply to one the platform sent
the partner or the partner's own, a forward to one it knows. Each payload
is a segment, kept once by its MedCom identifier, so the history a reply
repeats is not stored twice.
A reply to one of the platform's own CareCommunications sent outside a
thread (the episode's outcome, the hand-back, R11) opens the thread with
that message as its first segment, on the episode's referral.

Refused, with nothing written (:mod:`integrations.inbound` answers with
MedCom's fatal-error): a citizen the platform does not know by CPR (a
replacement CPR cannot be matched), a new conversation about a citizen
whose municipality does not take part and who has no open referral, a
reply to a message the platform never sent the partner nor the partner
sent in the thread, a thread identifier already used about another
citizen, a thread or segment identifier longer than the platform keeps
(never cut: two that differ only past the cut would be taken for one), an
attachment of a type MedCom does not allow.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db.models import Q
from django.utils import timezone

from acute.models import Referral
from core.actors import Actor
from core.models import Citizen
from integrations.adapters import Handled
from integrations.medcom.inbound import (
    ATTACHMENT_TYPE_UNKNOWN,
    CITIZEN_UNKNOWN,
    IDENTIFIER_TOO_LONG,
    PREVIOUS_UNKNOWN,
    THREAD_OF_ANOTHER,
    activity_of,
    own_provenance,
)
from integrations.medcom.outbound import (
    CONTACT_EXTENSION,
    DATETIME_EXTENSION,
    IDENTIFIER_EXTENSION,
    PRACTITIONER_EXTENSION,
)
from integrations.messages import Event, InvalidMessage, ParsedMessage, message_instant
from integrations.models import (
    CareMessage,
    CareThread,
    InboundMessage,
    OutboundMessage,
    Partner,
)
from integrations.patients import citizen_find

# What the platform's own CareCommunications outside a thread are about: the
# episode's outcome to a referrer or GP, and the hand-back (R11).
EPISODE_SOURCES = ("acute.episode", "acute.episode.handback")
# A text segment of only blank characters.
TEXT_EMPTY = "carecommunication.text_empty"
# A new conversation about a citizen whose municipality does not take part.
CITIZEN_NOT_SERVED = "carecommunication.citizen_not_served"
# The attachment types MedCom allows (ValueSet medcom-core-attachmentMimeTypes,
# which the CareCommunication profile binds contentType to, required).
ATTACHMENT_TYPES = frozenset(
    {"application/pdf", "image/bmp", "image/gif", "image/jpeg", "image/png", "image/tiff"}
)


def _identifier(value: Any, field: str, model: type[CareThread | CareMessage]) -> str:
    """An identifier as the message gives it, whole; one longer than the
    platform keeps (``model``'s column) is refused, never cut."""
    text = str(value if value is not None else "")
    most = model._meta.get_field("identifier").max_length or 0
    if len(text) > most:
        raise InvalidMessage(
            IDENTIFIER_TOO_LONG,
            f"The identifier is longer than the {most} characters the platform keeps.",
            field=field,
            params={"most": most},
        )
    return text


def _citizen(patient: dict[str, Any]) -> Citizen:
    citizen = citizen_find(patient)
    if citizen is None:
        raise InvalidMessage(
            CITIZEN_UNKNOWN,
            "The Patient is not a citizen the acute function serves"
            " (matched by CPR number or replacement CPR).",
            field="Patient.identifier",
        )
    return citizen


def _revised(provenance: dict[str, Any] | None) -> str | None:
    """The MessageHeader.id the message answers or forwards (None: it names
    no FHIR message, e.g. a reply to an OIOXML letter by its identifier)."""
    for entity in (provenance or {}).get("entity") or []:
        if isinstance(entity, dict) and entity.get("role") == "revision":
            reference = str((entity.get("what") or {}).get("reference", ""))
            if reference:
                return reference.rstrip("/").rsplit("/", 1)[-1]
    return None


def _extension(payload: dict[str, Any], url: str) -> dict[str, Any]:
    for extension in payload.get("extension") or []:
        if isinstance(extension, dict) and extension.get("url") == url:
            return extension
    return {}


def _resolve(message: ParsedMessage, reference: Any) -> dict[str, Any]:
    target = reference.get("reference") if isinstance(reference, dict) else None
    if not isinstance(target, str):
        return {}
    for resource in message.resources:
        kind, rid = resource.get("resourceType"), resource.get("id")
        if target in (f"urn:uuid:{rid}", f"{kind}/{rid}") or target.endswith(f"/{kind}/{rid}"):
            return resource
    return {}


# MedCom's practitioner roles (ValueSet medcom-core-PractitionerRoles, codes of
# the Autorisationsregistret and SKS administrative code systems) as MedCom
# names them: a page shows the title a clinician reads, never the code.
PRACTITIONER_ROLES = {
    "afdelingslaege": "Afdelingslæge",
    "ambulancebehandler": "Ambulancebehandler",
    "bandagist": "Bandagist",
    "behandlerfarmaceut": "Behandlerfarmaceut",
    "bioanalytiker": "Bioanalytiker",
    "cheflaege": "Cheflæge",
    "ergoterapeut": "Ergoterapeut",
    "fodterapeut": "Fodterapeut",
    "fysioterapeut": "Fysioterapeut",
    "jordemoder": "Jordemoder",
    "kiropraktor": "Kiropraktor",
    "kliniskdiaetist": "Klinisk diætist",
    "klinisktandtekniker": "Klinisk tandtekniker",
    "laege": "Læge",
    "optikerogoptometrist": "Optiker og optometrist",
    "osteopat": "Osteopat",
    "overlaege": "Overlæge",
    "plejehjemsassistent": "Plejehjemsassistent",
    "plejer": "Plejer",
    "radiograf": "Radiograf",
    "socialogsundhedsassistent": "Social- og sundhedsassistent",
    "socialogsundhedsmedhjaelper": "Social- og sundhedsmedhjælper",
    "socialogsundhedsmehjaelper": "Social- og sundhedsmedhjælper",
    "speciallaege": "Speciallæge",
    "speciallaegeipraksis": "Speciallæge i praksis",
    "sundhedsplejerske": "Sundhedsplejerske",
    "sygehjaelper": "Sygehjælper",
    "sygehuslaege": "Sygehuslæge",
    "sygeplejerske": "Sygeplejerske",
    "tandlaege": "Tandlæge",
    "tandplejer": "Tandplejer",
}


def _role_title(code: dict[str, Any]) -> str:
    """The author's title: the partner's own text, else the coding's display,
    else MedCom's name for the code; a code MedCom does not list is shown as
    given (the partner's word, not one of ours)."""
    if code.get("text"):
        return str(code["text"])
    coding = (code.get("coding") or [{}])[0]
    if not isinstance(coding, dict):
        return ""
    value = str(coding.get("code", ""))
    return str(coding.get("display") or PRACTITIONER_ROLES.get(value.lower(), value))


def _author(message: ParsedMessage, payload: dict[str, Any]) -> str:
    """'Name, title' of the payload's author (PractitionerRole → Practitioner)."""
    role = _resolve(message, _extension(payload, PRACTITIONER_EXTENSION).get("valueReference"))
    practitioner = _resolve(message, role.get("practitioner"))
    name = (practitioner.get("name") or [{}])[0] if practitioner else {}
    person = (
        name.get("text") or " ".join([*(name.get("given") or []), name.get("family") or ""]).strip()
    )
    code = (role.get("code") or [{}])[0] if role else {}
    role_text = _role_title(code) if isinstance(code, dict) else ""
    return ", ".join(part for part in (person, role_text) if part)[:200]


def _when(payload: dict[str, Any]) -> dt.datetime:
    written = message_instant(
        _extension(payload, DATETIME_EXTENSION).get("valueDateTime"),
        field="Communication.payload.extension(date).valueDateTime",
    )
    return written or timezone.now()


def _text(payload: dict[str, Any]) -> str:
    if "contentString" in payload:
        text = str(payload["contentString"] or "")
        if not text.strip():
            # MedCom: a text segment is a message text; one of only blanks
            # would be an empty message in the thread the staff answer.
            raise InvalidMessage(
                TEXT_EMPTY,
                "A message segment's text is empty (only blank characters).",
                field="Communication.payload.contentString",
            )
        return text
    attachment = payload.get("contentAttachment") or {}
    content_type = str(attachment.get("contentType") or "")
    if content_type.split(";", 1)[0].strip().lower() not in ATTACHMENT_TYPES and (
        content_type or "data" in attachment
    ):
        # MedCom binds the type to its list; an attached file must name it.
        # Nothing of a type outside it is shown as a message that came.
        raise InvalidMessage(
            ATTACHMENT_TYPE_UNKNOWN,
            "An attachment's type is not one MedCom allows (PDF, BMP, GIF, JPEG, PNG or TIFF).",
            field="Communication.payload.contentAttachment.contentType",
        )
    # Attachments are not kept: the segment says one came, by its title
    # (MedCom requires one), and a link keeps its address, shown as text.
    title = f"[{attachment.get('title') or ''}]"
    url = str(attachment.get("url") or "")
    if "data" not in attachment and url.lower().startswith(("https://", "http://")):
        return f"{title} {url}"
    return title


# ContactPoint systems kept behind their name: a phone number is kept as given.
CONTACT_SYSTEMS = frozenset({"email", "fax", "sms", "pager", "url", "other"})


def _contact(payload: dict[str, Any]) -> str:
    """The author's contact (MedCom's authorContact): a phone number as
    given, any other kind behind its system (``email:...``), so the page
    names it by its kind and never calls an e-mail address a phone number."""
    contact = _extension(payload, CONTACT_EXTENSION).get("valueContactPoint") or {}
    value = str(contact.get("value") or "")
    system = str(contact.get("system") or "")
    if value and system in CONTACT_SYSTEMS:
        value = f"{system}:{value}"
    return value[:100]


def _open_referral(citizen: Citizen) -> Referral | None:
    return (
        Referral.objects.filter(citizen=citizen)
        .exclude(
            status__in=[
                Referral.Status.CLOSED,
                Referral.Status.DECLINED,
                Referral.Status.WITHDRAWN,
            ]
        )
        .order_by("-pk")
        .first()
    )


def _sent_by_us(thread: CareThread, header_id: str, partner: Partner | None) -> bool:
    """Whether the platform sent the message ``header_id`` about the thread's
    citizen (to ``partner``, when given)."""
    try:
        message_id = uuid.UUID(header_id)
    except ValueError:
        return False
    sent = OutboundMessage.objects.filter(message_id=message_id, citizen_id=thread.citizen_id)
    if partner is not None:
        sent = sent.filter(partner=partner)
    return sent.exists()


def _thread_continued(
    partner: Partner, identifier: str, citizen: Citizen, answers: str | None, *, reply: bool
) -> CareThread:
    """The thread a reply or forward continues: of the same identifier and
    holding the message it points to. A reply answers what the platform sent
    to the partner replying: a message the platform sent another partner
    (the thread's, when it was forwarded on) is not one it may answer, and
    its thread is not the replying partner's to write in."""
    thread = CareThread.objects.select_for_update().filter(identifier=identifier).first()
    if thread is None and answers is not None:
        thread = _thread_of_our_message(partner, identifier, citizen, answers, reply=reply)
    known = False
    if thread is not None and answers is not None:
        segments = thread.messages.filter(header_id=answers)
        if reply:
            # Sent to this partner: through its outbox row, or, for a segment
            # kept without one, as the thread's own partner's. Or the
            # partner's own message: MedCom lets a sender reply to its own
            # latest message (medcom-carecommunication-4).
            sent_to_it = Q(direction=CareMessage.Direction.OUT) & (
                Q(outbound__partner=partner) | Q(outbound__isnull=True, thread__partner=partner)
            )
            its_own = Q(
                direction=CareMessage.Direction.IN,
                header_id__in=InboundMessage.objects.filter(
                    partner=partner, header_id=answers
                ).values("header_id"),
            )
            segments = segments.filter(sent_to_it | its_own)
        known = segments.exists() or _sent_by_us(thread, answers, partner if reply else None)
    if thread is None or not known:
        raise InvalidMessage(
            PREVIOUS_UNKNOWN,
            "The message answers a message this platform never sent to this partner"
            " in this thread.",
            field="Provenance.entity.what",
        )
    if thread.citizen_id != citizen.pk:
        raise InvalidMessage(
            THREAD_OF_ANOTHER,
            "The thread identifier belongs to a conversation about another citizen.",
            field="Communication.identifier",
            citizen_ids=[thread.citizen_id],
        )
    return thread


def _our_message(
    identifier: str, answers: str, partner: Partner | None
) -> tuple[OutboundMessage, ParsedMessage] | None:
    """The CareCommunication the platform sent (to ``partner``, when given)
    as ``answers``, under the thread identifier ``identifier``, read: one
    that left, not one withheld or parked before it went."""
    try:
        message_id = uuid.UUID(answers)
    except ValueError:
        return None
    sent = OutboundMessage.objects.filter(
        message_id=message_id, event=Event.CARE_COMMUNICATION, sent_at__isnull=False
    )
    if partner is not None:
        sent = sent.filter(partner=partner)
    message = sent.select_related("partner").first()
    if message is None:
        return None
    resources = [e["resource"] for e in message.bundle["entry"]]
    ours = ParsedMessage(
        bundle_id=str(message.bundle_id),
        header_id=str(message.message_id),
        event=Event.CARE_COMMUNICATION,
        header=resources[0],
        resources=resources[1:],
    )
    communication = ours.one("Communication")
    if ((communication.get("identifier") or [{}])[0]).get("value") != identifier:
        return None
    return message, ours


def _thread_of_our_message(
    partner: Partner, identifier: str, citizen: Citizen, answers: str, *, reply: bool
) -> CareThread | None:
    """The thread a partner's answer to one of the platform's own
    CareCommunications opens: the episode's outcome or the hand-back (R11),
    sent outside any thread. It opens on the episode's referral with the
    platform's message as its first segment, whether or not the citizen's
    municipality still takes part: it answers what the platform sent. None
    when the platform sent no such message."""
    found = _our_message(identifier, answers, partner if reply else None)
    if found is None:
        return None
    message, ours = found
    if message.citizen_id != citizen.pk:
        raise InvalidMessage(
            THREAD_OF_ANOTHER,
            "The thread identifier belongs to a conversation about another citizen.",
            field="Communication.identifier",
            citizen_ids=[message.citizen_id] if message.citizen_id else [],
        )
    referral = None
    if message.source_type in EPISODE_SOURCES and message.source_id:
        referral = (
            Referral.objects.filter(episode_id=message.source_id, citizen=citizen)
            .order_by("-pk")
            .first()
        )
    communication = ours.one("Communication")
    thread = _thread_new(identifier, message.partner, citizen, referral, communication)
    for payload in communication.get("payload") or []:
        segment = _extension(payload, IDENTIFIER_EXTENSION).get("valueIdentifier") or {}
        CareMessage.objects.create(
            thread=thread,
            identifier=str(segment.get("value", ""))[:100],
            header_id=str(message.message_id),
            direction=CareMessage.Direction.OUT,
            activity="new-message",
            text=str(payload.get("contentString") or ""),
            author=_author(ours, payload),
            written_at=_when(payload),
            outbound=message,
        )
    return thread


def _thread_opened(
    partner: Partner, identifier: str, citizen: Citizen, communication: dict[str, Any]
) -> CareThread:
    existing = CareThread.objects.select_for_update().filter(identifier=identifier).first()
    if existing is not None:
        if existing.citizen_id != citizen.pk or existing.partner_id != partner.pk:
            raise InvalidMessage(
                THREAD_OF_ANOTHER,
                "The thread identifier belongs to another conversation.",
                field="Communication.identifier",
                citizen_ids=[existing.citizen_id] if existing.citizen_id != citizen.pk else [],
            )
        return existing
    referral = _open_referral(citizen)
    if referral is None and not citizen.municipality.participates:
        # Her municipality has left the joint function (or not joined): a
        # new conversation about her is not the function's to read. One
        # about a referral still open is, and replies to what it sent are.
        raise InvalidMessage(
            CITIZEN_NOT_SERVED,
            "The citizen's municipality does not take part in the joint acute function"
            " and she has no open referral there.",
            field="Patient.address",
        )
    return _thread_new(identifier, partner, citizen, referral, communication)


def _thread_new(
    identifier: str,
    partner: Partner,
    citizen: Citizen,
    referral: Referral | None,
    communication: dict[str, Any],
) -> CareThread:
    """A new thread about ``citizen`` with ``partner``, on ``referral``, with
    the category and topic its first Communication states."""
    category = ((communication.get("category") or [{}])[0].get("coding") or [{}])[0]
    thread = CareThread(
        identifier=identifier,
        partner=partner,
        citizen=citizen,
        referral=referral,
        category=str(category.get("code", ""))[:40],
        topic=str((communication.get("topic") or {}).get("text", ""))[:200],
    )
    thread.full_clean()
    thread.save()
    return thread


def care_communication_receive(partner: Partner, message: ParsedMessage, actor: Actor) -> Handled:
    """Keep a partner's CareCommunication in its thread (see the module docstring)."""
    communication = message.one("Communication")
    citizen = _citizen(message.one("Patient"))
    identifier = _identifier(
        ((communication.get("identifier") or [{}])[0]).get("value", ""),
        "Communication.identifier.value",
        CareThread,
    )
    provenance = own_provenance(message)
    activity = activity_of(provenance)
    if activity == "reply-message" or (
        # MedCom's governance (medcom-carecommunication-13 and -16): a forward
        # starts a new thread under a new identifier and its receiver shows
        # it, with all it carries, whether or not it had the thread before.
        activity == "forward-message" and CareThread.objects.filter(identifier=identifier).exists()
    ):
        thread = _thread_continued(
            partner, identifier, citizen, _revised(provenance), reply=activity == "reply-message"
        )
    else:
        thread = _thread_opened(partner, identifier, citizen, communication)
    known = set(thread.messages.values_list("identifier", flat=True))
    added = []
    for payload in communication.get("payload") or []:
        segment = _extension(payload, IDENTIFIER_EXTENSION).get("valueIdentifier") or {}
        key = _identifier(
            segment.get("value", ""),
            "Communication.payload.extension(identifier).value",
            CareMessage,
        )
        if not key or key in known:
            continue
        row = CareMessage(
            thread=thread,
            identifier=key,
            header_id=message.header_id[:64],
            direction=CareMessage.Direction.IN,
            activity=activity[:32],
            text=_text(payload),
            author=_author(message, payload),
            author_contact=_contact(payload),
            written_at=_when(payload),
        )
        row.full_clean(exclude=["thread"])
        row.save()
        known.add(key)
        added.append(row.pk)
    return Handled(
        citizen=citizen,
        result={"care_thread": thread.pk, "activity": activity, "segments_added": added},
    )
