"""Receiving a MedCom CareCommunication (handler of ``care-communication-message``).

A ``new-message`` opens a thread under its episode identifier
(``Communication.identifier``). A ``reply-message`` or a
``forward-message`` under an identifier the platform knows continues that
thread when it comes from the thread's partner, whether or not the platform
holds the message it points to (its Provenance's ``revision`` entity): a
message that never arrived, or arrives late, is shown in its thread with
the segments it carries (MedCom's medcom-carecommunication-8 and -9). Under
an identifier the platform does not know, a reply or a forward opens a new
thread holding only what it carries: MedCom asks its receiver to show such
a reply (-10) and every forward (-16) in a new thread. Each payload is a
segment, kept once by its MedCom identifier, so the history a reply
repeats is not stored twice.
A reply to one of the platform's own CareCommunications sent outside a
thread (the episode's outcome, the hand-back, R11) opens the thread with
that message as its first segment, on the episode's referral.

Refused, with nothing written (:mod:`integrations.inbound` answers with
MedCom's fatal-error): a citizen the platform does not know by CPR (a
replacement CPR cannot be matched), a new thread about a citizen whose
municipality does not take part and who has no open referral, a reply or
forward from a partner into a conversation the platform holds with another
partner or under a message of its own it sent another partner or never
sent (R3: a partner reads and adds to its own conversations only), a
thread identifier already used about another citizen, a thread or segment
identifier longer than the platform keeps (never cut: two that differ only
past the cut would be taken for one), an attachment of a type MedCom does
not allow. See docs/decisions/0034-a-reply-in-an-unknown-thread-opens-one.md.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.utils import timezone

from acute.models import Referral
from core.actors import Actor
from core.fhir.bundle_references import BundleEntries
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
from integrations.messages import Event, InvalidMessage, ParsedMessage, message_moment_past
from integrations.models import (
    CareMessage,
    CareThread,
    OutboundMessage,
    Partner,
)
from integrations.patients import citizen_find

# What the platform's own CareCommunications outside a thread are about: the
# episode's outcome to a referrer or GP, and the hand-back (R11).
EPISODE_SOURCES = ("acute.episode", "acute.episode.handback")
# The activities that continue a conversation (or, under an identifier the
# platform does not know, open one of their own).
CONTINUING = ("reply-message", "forward-message")
# A time the message reports (when it was sent, when a segment was written)
# that lies ahead of our clock: untrue, refused whole as a hospital's is.
TIME_IN_FUTURE = "carecommunication.time_in_future"
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


def _resolve(message: ParsedMessage, reference: Any, referrer: dict[str, Any]) -> dict[str, Any]:
    """The entry of the message ``reference`` (written in ``referrer``) names, or {}."""
    return message.resolve(reference, referrer) or {}


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


def _author(message: ParsedMessage, communication: dict[str, Any], payload: dict[str, Any]) -> str:
    """'Name, title' of the payload's author (PractitionerRole → Practitioner)."""
    role = _resolve(
        message, _extension(payload, PRACTITIONER_EXTENSION).get("valueReference"), communication
    )
    practitioner = _resolve(message, role.get("practitioner"), role)
    name = (practitioner.get("name") or [{}])[0] if practitioner else {}
    person = (
        name.get("text") or " ".join([*(name.get("given") or []), name.get("family") or ""]).strip()
    )
    code = (role.get("code") or [{}])[0] if role else {}
    role_text = _role_title(code) if isinstance(code, dict) else ""
    return ", ".join(part for part in (person, role_text) if part)


def _reported(raw: object, field: str) -> dt.datetime | None:
    """A time the message reports as past (:data:`TIME_IN_FUTURE`)."""
    return message_moment_past(
        raw,
        field=field,
        code=TIME_IN_FUTURE,
        text=f"{field} lies in the future: a message tells what has already been written.",
    )


def _when(payload: dict[str, Any]) -> dt.datetime:
    written = _reported(
        _extension(payload, DATETIME_EXTENSION).get("valueDateTime"),
        "Communication.payload.extension(date).valueDateTime",
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
    return value


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


def _not_this_partners(citizen: Citizen, other_citizen_id: int | None, text: str) -> InvalidMessage:
    """R3: a partner's reply or forward into a conversation the platform
    holds with someone else, or under a message of ours it never received.
    Worded as an unknown message (``MSG_NO_EXIST``): whose conversation it is
    is not told; the thread's citizen, another than the message's, is
    audited with the denied attempt (R9)."""
    others = [other_citizen_id] if other_citizen_id and other_citizen_id != citizen.pk else []
    return InvalidMessage(
        PREVIOUS_UNKNOWN, text, field="Provenance.entity.what", citizen_ids=others
    )


# What a partner reads when its reply or forward names a conversation that
# is not its own here (core.messages words them in Danish).
REPLY_NOT_ITS = (
    "The message answers a message this platform never sent to this partner in this thread."
)
FORWARD_NOT_ITS = "The message continues a conversation this platform never had with this partner."


def _thread_known(
    partner: Partner,
    thread: CareThread | None,
    identifier: str,
    citizen: Citizen,
    answers: str | None,
    *,
    reply: bool,
) -> CareThread | None:
    """The thread a reply or forward continues: ``thread``, the one of its
    identifier, or the one a reply to a CareCommunication the platform sent
    the partner outside a thread opens. None when the platform knows
    neither: the message opens a thread of its own (MedCom's
    medcom-carecommunication-10 and -16). The message it points to need not
    be one the platform holds (one lost or late, -8 and -9). Another
    partner's thread is not the sender's to read or write in (R3), and
    neither is a message of ours under the identifier that went to another
    partner or never left."""
    text = REPLY_NOT_ITS if reply else FORWARD_NOT_ITS
    if thread is None and answers is not None:
        found = _our_message(identifier, answers)
        if found is not None:
            ours = found[0]
            if ours.partner_id != partner.pk or ours.sent_at is None:
                raise _not_this_partners(citizen, ours.citizen_id, text)
            thread = _thread_of_our_message(identifier, citizen, *found)
    if thread is None:
        return None
    if thread.partner_id != partner.pk:
        raise _not_this_partners(citizen, thread.citizen_id, text)
    if thread.citizen_id != citizen.pk:
        raise InvalidMessage(
            THREAD_OF_ANOTHER,
            "The thread identifier belongs to a conversation about another citizen.",
            field="Communication.identifier",
            citizen_ids=[thread.citizen_id],
        )
    return thread


def _our_message(identifier: str, answers: str) -> tuple[OutboundMessage, ParsedMessage] | None:
    """The CareCommunication the platform made as ``answers`` under the
    thread identifier ``identifier``, read, to whichever partner and whether
    or not it left (the caller tells those apart)."""
    try:
        message_id = uuid.UUID(answers)
    except ValueError:
        return None
    message = (
        OutboundMessage.objects.filter(message_id=message_id, event=Event.CARE_COMMUNICATION)
        .select_related("partner")
        .first()
    )
    if message is None:
        return None
    resources = [e["resource"] for e in message.bundle["entry"]]
    ours = ParsedMessage(
        bundle_id=str(message.bundle_id),
        header_id=str(message.message_id),
        event=Event.CARE_COMMUNICATION,
        header=resources[0],
        resources=resources[1:],
        entries=BundleEntries(message.bundle["entry"]),
    )
    communication = ours.one("Communication")
    if ((communication.get("identifier") or [{}])[0]).get("value") != identifier:
        return None
    return message, ours


def _thread_of_our_message(
    identifier: str, citizen: Citizen, message: OutboundMessage, ours: ParsedMessage
) -> CareThread:
    """The thread a partner's answer to one of the platform's own
    CareCommunications opens (``message``, sent to that partner, read as
    ``ours``): the episode's outcome or the hand-back (R11), sent outside
    any thread. It opens on the episode's referral with the platform's
    message as its first segment, whether or not the citizen's municipality
    still takes part: it answers what the platform sent."""
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
            identifier=str(segment.get("value", "")),
            header_id=str(message.message_id),
            direction=CareMessage.Direction.OUT,
            activity="new-message",
            text=str(payload.get("contentString") or ""),
            author=_author(ours, communication, payload),
            written_at=_when(payload),
            outbound=message,
        )
    return thread


def _thread_opened(
    partner: Partner,
    existing: CareThread | None,
    identifier: str,
    citizen: Citizen,
    communication: dict[str, Any],
) -> CareThread:
    """The thread a message opens under ``identifier`` (``existing``: the one
    already under it, a new message sent again in a new envelope)."""
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
        category=str(category.get("code", "")),
        topic=str((communication.get("topic") or {}).get("text", "")),
    )
    thread.full_clean()
    thread.save()
    return thread


def care_communication_receive(partner: Partner, message: ParsedMessage, actor: Actor) -> Handled:
    """Keep a partner's CareCommunication in its thread (see the module docstring)."""
    communication = message.one("Communication")
    _reported(communication.get("sent"), "Communication.sent")
    for payload in communication.get("payload") or []:
        # Every segment's time before anything is written, the history a
        # reply repeats too: one untrue time refuses the message whole.
        _when(payload)
    citizen = _citizen(message.one("Patient"))
    identifier = _identifier(
        ((communication.get("identifier") or [{}])[0]).get("value", ""),
        "Communication.identifier.value",
        CareThread,
    )
    provenance = own_provenance(message)
    activity = activity_of(provenance)
    existing = CareThread.objects.select_for_update().filter(identifier=identifier).first()
    if activity in CONTINUING:
        thread = _thread_known(
            partner,
            existing,
            identifier,
            citizen,
            _revised(provenance),
            reply=activity == "reply-message",
        ) or _thread_opened(partner, None, identifier, citizen, communication)
    else:
        thread = _thread_opened(partner, existing, identifier, citizen, communication)
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
            header_id=message.header_id,
            direction=CareMessage.Direction.IN,
            activity=activity,
            text=_text(payload),
            author=_author(message, communication, payload),
            author_contact=_contact(payload),
            written_at=_when(payload),
        )
        row.full_clean(exclude=["thread"])
        row.save()
        known.add(key)
        added.append(row.pk)
    return Handled(
        citizen=citizen,
        result={
            "care_thread": thread.pk,
            "activity": activity,
            "thread_opened": existing is None,
            "segments_added": added,
        },
    )
