"""What receiving a MedCom message needs beyond the platform's own receiving:
recognising one, turning broken rules into MedCom's issue details, checking
it is addressed to us by the partner that signed it, and answering with
MedCom's Acknowledgement (KR1 to KR5 of MedCom's acknowledgement rules).

The processing itself (one transaction with the de-duplication row, audit)
is :mod:`integrations.inbound`'s.
"""

from __future__ import annotations

import copy
import html
import logging
import re
from collections.abc import Mapping
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from core.models import SOR_SYSTEM, Organisation
from core.times import fhir_instant
from integrations.messages import ParsedMessage, partner_sentence
from integrations.models import Partner

from .envelope import GLN_SYSTEM, OWN_ENDPOINT, AckCode, Issue, acknowledgement, new_id
from .outbound import LOCAL_DEFINITION
from .validation import EQUIVALENT_SYSTEMS, LOCAL_EVENT_SYSTEM, Violation, validate_message

log = logging.getLogger(__name__)

EVENT_SYSTEM_ID = "medcom-messaging-eventCodes"
MEDCOM_PROFILE_BASE = "http://medcomfhir.dk/"

# A message MedCom's rules accept that refers to what the platform does not
# know: the platform's code, and MedCom's issue detail and FHIR issue type.
CITIZEN_UNKNOWN = "carecommunication.citizen_unknown"
PREVIOUS_UNKNOWN = "carecommunication.previous_unknown"
THREAD_OF_ANOTHER = "carecommunication.thread_of_another_citizen"
STAY_OF_ANOTHER = "hospital.stay_of_another_citizen"
# A hospital notification cancelling (``removal``) a notification the platform
# never received from that hospital about that citizen.
REMOVED_UNKNOWN = "hospital.previous_unknown"
IDENTIFIER_TOO_LONG = "carecommunication.identifier_too_long"
ATTACHMENT_TYPE_UNKNOWN = "carecommunication.attachment_type_unknown"
DETAILS_BY_CODE = {
    CITIZEN_UNKNOWN: ("MSG_NO_MATCH", "not-found"),
    PREVIOUS_UNKNOWN: ("MSG_NO_EXIST", "not-found"),
    THREAD_OF_ANOTHER: ("MSG_PARAM_INVALID", "conflict"),
    STAY_OF_ANOTHER: ("MSG_PARAM_INVALID", "conflict"),
    REMOVED_UNKNOWN: ("MSG_NO_EXIST", "not-found"),
    IDENTIFIER_TOO_LONG: ("MSG_Element_To_Long", "too-long"),
    ATTACHMENT_TYPE_UNKNOWN: ("MSG_VALUESET_VALUE_UNKNOWN", "code-invalid"),
}


# An id made for a message (a UUID): an acknowledgement answering one has the
# shape of one answering any other. See _broken_rules.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Rules a reference to no entry of the message breaks (FHIR R4's resolution of
# urn:uuid: references in a Bundle, MedCom's aggregation "bundled").
UNRESOLVED_REFERENCE = {"reference", "aggregation:bundled"}
# A destination endpoint given as a SOR unit's address (MedCom's messages
# name the receiver's SOR unit so: https://sor2.sum.dsdn.dk/#id=<SOR>).
_SOR_ENDPOINT = re.compile(r"https?://[^#\s]*sor[^#\s]*#id=(?P<sor>\d+)", re.IGNORECASE)
# An endpoint given as an EAN (GLN) location's address, in the same form.
_EAN_ENDPOINT = re.compile(
    r"https?://[^#\s]*(?:gs1|gln|ean)[^#\s]*#id=(?P<ean>\d{13})", re.IGNORECASE
)
_OK_SHAPES_CHECKED: dict[tuple[str, ...], list[Violation]] = {}
_OK_SHAPES_MAX = 1_000


def refusal_issue(
    code: str, text: str, field: str | None, params: Mapping[str, object] | None = None
) -> Issue:
    """The issue of a fatal-error for a message a domain rule refuses, in the
    answer's language (:func:`integrations.messages.partner_sentence`)."""
    details, kind = DETAILS_BY_CODE.get(code, ("MSG_PARAM_INVALID", "business-rule"))
    sentence, precise = partner_sentence(code, text, params=params)
    where = field or "Bundle"
    return Issue(
        details,
        f"{where}: {sentence} ({code})",
        code=kind,
        diagnostics=f"{where}: {precise} ({code})" if precise else "",
    )


def header_of(data: Any) -> dict[str, Any] | None:
    """The message's MessageHeader: its first entry, or, in a message that
    broke that rule, the first MessageHeader among its entries (so the
    message is still answered as MedCom's, quoting its id, naming the rule)."""
    if not isinstance(data, dict) or not isinstance(data.get("entry"), list):
        return None
    for entry in data["entry"]:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "MessageHeader":
            return resource
    return None


def is_medcom(data: Any) -> bool:
    """A message whose event is one of MedCom's message types (by system), or
    whose Bundle declares one of MedCom's message profiles: a MedCom message
    that lost its eventCoding is MedCom's to refuse, naming the rule."""
    header = header_of(data)
    coding = header.get("eventCoding") if header else None
    system = coding.get("system") if isinstance(coding, dict) else None
    if isinstance(system, str) and system.rstrip("/").endswith(EVENT_SYSTEM_ID):
        return True
    meta = data.get("meta") if header is not None else None
    profiles = meta.get("profile") if isinstance(meta, dict) else None
    return isinstance(profiles, list) and any(
        isinstance(p, str) and p.startswith(MEDCOM_PROFILE_BASE) for p in profiles
    )


def is_local(data: Any) -> bool:
    """One of the platform's local events in MedCom's envelope, declared as
    such: its event in the platform's own event system and the platform's
    MessageDefinition of it (as the platform sends them). Checked against
    what MedCom's rules ask of the envelope and answered the MedCom way; a
    local event without that declaration is the platform's own message."""
    header = header_of(data)
    coding = header.get("eventCoding") if header else None
    system = coding.get("system") if isinstance(coding, dict) else None
    definition = header.get("definition") if header else None
    prefix = LOCAL_DEFINITION.split("{", 1)[0]
    return (
        system == LOCAL_EVENT_SYSTEM
        and isinstance(definition, str)
        and definition.startswith(prefix)
    )


def event_of(data: Any) -> str:
    header = header_of(data) or {}
    coding = header.get("eventCoding")
    return str(coding.get("code", "")) if isinstance(coding, dict) else ""


def own_provenance(message: ParsedMessage) -> dict[str, Any] | None:
    """The Provenance about this message (its target is this MessageHeader);
    a message that repeats the history of its thread holds earlier ones too.
    Without one naming it, the last Provenance of the message."""
    provenances = message.of_type("Provenance")
    for provenance in provenances:
        for target in provenance.get("target") or []:
            if message.resolve(target, provenance) is message.header:
                return provenance
    return provenances[-1] if provenances else None


def activity_of(provenance: dict[str, Any] | None) -> str:
    """The MedCom activity code of a Provenance ('' without one)."""
    for coding in ((provenance or {}).get("activity") or {}).get("coding") or []:
        if isinstance(coding, dict) and coding.get("code"):
            return str(coding["code"])
    return ""


# What a broken rule means, for a reader of the acknowledgement in a
# language the rule's own text (profile, element, rule, what was expected:
# MedCom's FSH, in English) is not written in; the rule's text is the issue's
# diagnostics then.
BROKEN_BINDING = gettext_noop("The code is not in the value set MedCom's rules name for it.")
BROKEN_MISSING = gettext_noop("Required by MedCom's rules, and missing.")
BROKEN_REPEATED = gettext_noop("Given more times than MedCom's rules allow.")
BROKEN_MESSAGE = gettext_noop("The message is not built as MedCom's rules require.")
BROKEN_REFERENCE = gettext_noop("The reference names no resource in the message.")
BROKEN_FULL_URL = gettext_noop("The fullUrl must be urn:uuid: followed by a UUID.")
BROKEN_FULL_URL_ID = gettext_noop("The fullUrl does not end in the resource's id.")
BROKEN_FULL_URL_TYPE = gettext_noop("The fullUrl names another type of resource.")
BROKEN_INVARIANT = gettext_noop("Breaks MedCom's constraint (invariant) %(key)s.")
BROKEN_VALUE = gettext_noop("The value is not the one MedCom's rules require.")
BROKEN_TYPE = gettext_noop("The value is of a data type MedCom's rules do not allow here.")
BROKEN_REFERENCE_TYPE = gettext_noop(
    "The reference names a type of resource MedCom's rules do not allow here."
)


def issue_of(violation: Violation) -> Issue:
    """The MedCom issue detail code for a broken rule, with a text naming it:
    the rule's own (English) text where the answer is in English, else the
    profile and the element where it was broken and what that means in the
    answer's language, the rule's text as diagnostics."""
    if violation.rule == "binding":
        details, kind, meaning = "MSG_VALUESET_VALUE_UNKNOWN", "code-invalid", BROKEN_BINDING
    elif violation.rule == "cardinality":
        missing = violation.found == "0" or (
            violation.found.isdigit() and violation.expected.startswith(("1", "2"))
        )
        details, kind, meaning = (
            ("MSG_RESOURCE_REQUIRED", "required", BROKEN_MISSING)
            if missing
            else ("MSG_PARAM_NO_REPEAT", "structure", BROKEN_REPEATED)
        )
    elif violation.rule == "message":
        details, kind, meaning = "MSG_BAD_FORMAT", "structure", BROKEN_MESSAGE
    elif violation.rule in UNRESOLVED_REFERENCE:
        details, kind, meaning = "MSG_NO_EXIST", "not-found", BROKEN_REFERENCE
    elif violation.rule == "fullUrl:uuid":
        details, kind, meaning = "MSG_BAD_FORMAT", "value", BROKEN_FULL_URL
    elif violation.rule == "fullUrl:id":
        details, kind, meaning = "MSG_RESOURCE_ID_MISMATCH", "value", BROKEN_FULL_URL_ID
    elif violation.rule == "fullUrl:type":
        details, kind, meaning = "MSG_RESOURCE_TYPE_MISMATCH", "value", BROKEN_FULL_URL_TYPE
    elif violation.rule == "type":
        details, kind, meaning = "MSG_Datatype_Wrong", "structure", BROKEN_TYPE
    elif violation.rule == "reference:type":
        details, kind, meaning = "MSG_RESOURCE_TYPE_MISMATCH", "value", BROKEN_REFERENCE_TYPE
    elif violation.rule.startswith("invariant"):
        details, kind, meaning = "MSG_PARAM_INVALID", "invariant", BROKEN_INVARIANT
    else:
        details, kind, meaning = "MSG_PARAM_INVALID", "value", BROKEN_VALUE
    rule = str(violation)
    if (translation.get_language() or "").startswith("en"):
        return Issue(details=details, text=rule, code=kind)
    where = f"{violation.location} {violation.path}".strip()
    # An invariant's key names the rule as MedCom's FSH does, in every language.
    said = gettext(meaning) % {"key": violation.rule.partition(":")[2]}
    return Issue(
        details=details, text=f"{violation.profile}: {where}: {said}", code=kind, diagnostics=rule
    )


def _identifiers(organization: dict[str, Any] | None) -> set[tuple[str, str]]:
    found = set()
    for identifier in (organization or {}).get("identifier") or []:
        if isinstance(identifier, dict):
            system = str(identifier.get("system", ""))
            found.add((EQUIVALENT_SYSTEMS.get(system, system), str(identifier.get("value", ""))))
    return found


def _organisation_ids(organisation: Organisation) -> set[tuple[str, str]]:
    ids = set()
    if organisation.sor_code:
        ids.add((SOR_SYSTEM, organisation.sor_code))
    if organisation.ean:
        ids.add((GLN_SYSTEM, organisation.ean))
    return ids


def _names(organization: dict[str, Any] | None, organisation: Organisation) -> bool:
    """The Organization names ``organisation``: one of its SOR and EAN numbers
    is hers, and none in a system she is known by is another unit's (a SOR
    number of one unit beside the EAN number of another names neither)."""
    given = _identifiers(organization)
    ours = _organisation_ids(organisation)
    systems = {system for system, _ in ours}
    return bool(given & ours) and all(
        (system, value) in ours for system, value in given if system in systems
    )


def _referenced(message: ParsedMessage, ref: Any) -> dict[str, Any] | None:
    """The entry of the message a reference of its MessageHeader names."""
    return message.resolve(ref, message.header)


def _unit_addressed(source: Any) -> tuple[str, str] | None:
    """The SOR or EAN unit a ``MessageHeader.source`` names by its endpoint
    (``https://sor2.sum.dsdn.dk/#id=<SOR>``), as (system, number); ``None``
    for an address that names no unit (``http://medcomfhir.dk/unknown``)."""
    endpoint = str(source.get("endpoint") or "") if isinstance(source, dict) else ""
    sor = _SOR_ENDPOINT.fullmatch(endpoint)
    if sor is not None:
        return (SOR_SYSTEM, sor["sor"])
    ean = _EAN_ENDPOINT.fullmatch(endpoint)
    return (GLN_SYSTEM, ean["ean"]) if ean is not None else None


def addressing_issue(partner: Partner, us: Organisation, message: ParsedMessage) -> Issue | None:
    """The message must come from the partner that signed it and be sent to
    us (SOR or EAN of the sender and the primary receiver), and its source
    endpoint, where the answer goes, must be the sender's own (MedCom's
    ``source.endpoint``): one naming another SOR or EAN unit is refused."""
    sender = _referenced(message, message.header.get("sender"))
    if not _names(sender, partner.organisation):
        return Issue(
            details="MSG_PARAM_INVALID",
            text=gettext(
                "MessageHeader.sender: its SOR/EAN is not that of the partner that sent it."
            ),
            code="security",
        )
    claimed = _unit_addressed(message.header.get("source"))
    if claimed is not None and claimed not in _organisation_ids(partner.organisation):
        # MedCom: source.endpoint is the sender's own address, where the
        # acknowledgement goes. Another unit's address beside this sender
        # would send our answer, and what it says of the citizen, to a unit
        # that did not write the message.
        return Issue(
            details="MSG_PARAM_INVALID",
            text=gettext(
                "MessageHeader.source.endpoint: it names a SOR/EAN unit not that of the"
                " partner that sent it."
            ),
            code="security",
        )
    destinations = message.header.get("destination") or []
    receiver = _referenced(message, destinations[0].get("receiver")) if destinations else None
    if receiver is None:
        return Issue(
            details="MSG_Receiver_Identifier_MISSING",
            text=gettext(
                "MessageHeader.destination.receiver: no receiver Organization in the message."
            ),
            code="required",
        )
    if not _names(receiver, us):
        return Issue(
            details="MSG_Receiver_Identifier_UNKNOWN",
            text=gettext("MessageHeader.destination.receiver: its SOR/EAN is not this platform's."),
            code="not-found",
        )
    addressed = _SOR_ENDPOINT.fullmatch(str(destinations[0].get("endpoint") or ""))
    if addressed is not None and addressed["sor"] != us.sor_code:
        # Sent to another SOR unit's address: the message contradicts its own
        # receiver and was meant for someone else.
        return Issue(
            details="MSG_Receiver_Identifier_UNKNOWN",
            text=gettext(
                "MessageHeader.destination.endpoint: it names a SOR unit not this platform's."
            ),
            code="not-found",
        )
    return None


def answer(
    *,
    data: Any,
    partner: Partner,
    us: Organisation,
    code: str,
    issues: list[Issue] = [],  # noqa: B006 - never mutated
) -> dict[str, Any]:
    """MedCom's Acknowledgement of ``data`` (as far as it can be read)."""
    header = header_of(data) or {}
    source = header.get("source")
    source = source if isinstance(source, dict) else {}
    header_id = str(header["id"]) if isinstance(header.get("id"), str) else "unknown"
    claimed = _unit_addressed(source)
    # Answered at the sender's own address: never at another unit's that
    # its source names (a message refused for that above all).
    theirs = claimed is None or claimed in _organisation_ids(partner.organisation)
    given = source.get("endpoint") if theirs else None
    receiver_endpoint = str(given or partner.endpoint_url or "urn:unknown")
    ack = acknowledgement(
        answering=header_id,
        code=code,
        sender=us,
        receiver=partner.organisation,
        receiver_endpoint=receiver_endpoint,
        # Ours, whatever address the message was sent to: an answer (a refusal
        # of a message meant for another unit above all) comes from us.
        sender_endpoint=OWN_ENDPOINT,
        issues=issues,
    )
    shape = (
        "~" if _UUID.fullmatch(header_id) else header_id,
        *_shown(us),
        *_shown(partner.organisation),
        receiver_endpoint,
    )
    broken = _broken_rules(ack, code, shape)
    if broken:
        # An answer cannot wait for a person: it goes, and the configuration
        # that makes it break MedCom's rules (a missing SOR or EAN) is told.
        log.warning(
            "acknowledgement to %s breaks %d MedCom rule(s), first: %s",
            partner.code,
            len(broken),
            broken[0],
        )
    return ack


def _shown(organisation: Organisation) -> tuple[str, str, str, str]:
    """What an acknowledgement shows of an organisation (envelope.organization)."""
    return (
        organisation.name,
        organisation.sor_code or "",
        organisation.ean or "",
        organisation.provider_number or "",
    )


def _broken_rules(ack: dict[str, Any], code: str, shape: tuple[str, ...]) -> list[Violation]:
    """The MedCom rules our acknowledgement breaks. An ok acknowledgement is
    built (envelope.acknowledgement) from its ``shape`` (the MessageHeader.id
    answered, what it shows of the two organisations, the receiver's
    endpoint; its own endpoint is always ours) and from ids and times made
    for it: UUIDs and now, always of one form. Two with the same shape keep
    and break the same rules, so the answer for one is that of the first
    checked; a new shape (another partner, a changed organisation, an
    answered id that is not a UUID) is checked. The shape is read from what
    the acknowledgement is built of, not from the built one, which would
    cost more to read than to check."""
    if code != AckCode.OK:
        return validate_message(ack)
    broken = _OK_SHAPES_CHECKED.get(shape)
    if broken is None:
        broken = validate_message(ack)
        if len(_OK_SHAPES_CHECKED) < _OK_SHAPES_MAX:
            _OK_SHAPES_CHECKED[shape] = broken
    return broken


def resent(ack: dict[str, Any]) -> dict[str, Any]:
    """The original acknowledgement again for a duplicate, in a new envelope:
    new Bundle.id and timestamp, the same MessageHeader and content (MedCom's
    reliable messaging), sent from our own address: one kept from when an
    answer took the address the message was sent to as its source gets ours."""
    again = copy.deepcopy(ack)
    again["id"] = new_id()
    again["timestamp"] = fhir_instant(timezone.now(), timespec="seconds")
    header = header_of(again)
    source = header.get("source") if header is not None else None
    if header is not None and isinstance(source, dict) and source.get("endpoint") != OWN_ENDPOINT:
        claimed = str(source.get("endpoint") or "")
        source["endpoint"] = OWN_ENDPOINT
        text = header.get("text")
        if isinstance(text, dict) and isinstance(text.get("div"), str):
            # The narrative names the source too (MedCom: what a producer shall show).
            text["div"] = text["div"].replace(
                f"<p>{html.escape(f'source: {claimed}')}</p>",
                f"<p>{html.escape(f'source: {OWN_ENDPOINT}')}</p>",
            )
    return again


def is_ok(code: str) -> bool:
    return code == AckCode.OK
