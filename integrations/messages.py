"""FHIR R4 message Bundles in the style of MedCom's FHIR messages.

Every message is a Bundle of type ``message`` whose first entry is the
MessageHeader, followed by sender and receiver Organizations, the Patient, the
focus resources, and a Provenance naming who caused the message. An
Acknowledgement is a message whose header answers another (``response``:
``ok``, ``transient-error`` or ``fatal-error``) with an OperationOutcome when
not ok.

Parsing is strict: the Bundle is validated with the ``fhir.resources`` R4B
models, and anything the platform cannot read is an :class:`InvalidMessage`
with a stable code, answered by a fatal-error acknowledgement.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext
from fhir.resources.R4B.bundle import Bundle

from acute.occurrence import occurrence_split
from consent.fhir.patient import cpr_numbers
from core.cpr import (
    ReplacementCpr,
    is_replacement_cpr_system,
    normalise_replacement_cpr,
)
from core.deaths import CLOCK_SKEW, COPENHAGEN
from core.errors import InvalidInput, PlatformError
from core.fhir.bundle_references import BundleEntries
from core.fhir.outcome import operation_outcome
from core.fhir.validation import FHIRInvalid, fhir_check
from core.logging import scrub
from core.messages import general_in_place_of_detail, kind_message, user_message
from core.models import SOR_SYSTEM, Citizen, Organisation
from core.times import day_start, fhir_instant, read_day, read_moment
from integrations.models import INBOUND_REASON_LABELS

EVENT_SYSTEM = "urn:tvaerakut:message-event"
# The platform's own id of what a resource in a message was made from (``medorder-5``).
SOURCE_SYSTEM = "urn:tvaerakut:source"
ACTIVITY_SYSTEM = "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-activityCodes"
# The partners are Danish: what a nurse or physician there reads is written in
# Danish, whatever language the person whose action sent it uses on her pages.
PARTNER_LANGUAGE = "da"


def in_partner_language() -> translation.override:
    """Write a message's texts for a Danish reader (``gettext`` inside)."""
    return translation.override(PARTNER_LANGUAGE)


class Event:
    """Message events (MessageHeader.eventCoding.code)."""

    REFERRAL = "acute-referral"  # 1813 -> acute function
    REFERRAL_STATUS = "acute-referral-status"  # acute function -> 1813 / referrer
    HOSPITAL_NOTIFICATION = "hospital-notification"  # hospital -> acute function
    ADMISSION_HANDOFF = "admission-handoff"  # acute function -> hospital
    HOME_CARE_OBSERVATION = "homecareobservation"  # results -> GP
    CARE_COMMUNICATION = "care-communication"  # visit outcome, hand-back (R11)
    CARE_COMMUNICATION_REPLY = "care-communication-reply"  # a reply in a partner's thread
    ORDER_CONFIRMATION_REQUEST = "order-confirmation-request"  # phone order -> physician
    SHARED_RECORD_UPDATE = "shared-record-update"  # municipal records -> shared record
    ACKNOWLEDGEMENT = "acknowledgement"


class AckCode:
    OK = "ok"
    TRANSIENT = "transient-error"
    FATAL = "fatal-error"


class InvalidMessage(Exception):
    """A message the platform cannot read or act on: answered with fatal-error.
    ``citizen_ids``: citizens other than the message's own whose data it
    reached for (a thread or a hospital stay of another citizen), audited as
    denied attempts with it. ``element_type``: the FHIR type of ``field``
    where the message is not valid FHIR R4 there (``dateTime`` ...).
    ``params``: the values of a ``message`` built from them, which
    ``core.messages.TEMPLATES`` words in the partner's language under
    ``code`` (decision 0020); ``message`` stays the English sentence."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        citizen_ids: Iterable[int] = (),
        element_type: str = "",
        params: Mapping[str, object] | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.citizen_ids = tuple(citizen_ids)
        self.element_type = element_type
        self.params = dict(params or {})


@dataclass
class ParsedMessage:
    bundle_id: str
    header_id: str
    event: str
    header: dict[str, Any]
    resources: list[dict[str, Any]] = field(default_factory=list)
    # Bundle.timestamp as sent (when the message was assembled).
    timestamp: object = None
    # The Bundle's entries with their fullUrls, which the references inside
    # the message resolve against (FHIR R4, bundle.html#references); without
    # them, the header and resources, by type and id.
    entries: BundleEntries | None = None

    def resolve(self, ref: Any, referrer: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The entry of this message that the Reference ``ref``, written in
        the entry ``referrer``, names; None for what lies outside the message."""
        if self.entries is None:
            self.entries = BundleEntries(
                [{"resource": r} for r in [self.header, *self.resources] if isinstance(r, dict)]
            )
        return self.entries.resolve(ref, referrer)

    def of_type(self, resource_type: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r.get("resourceType") == resource_type]

    def one(self, resource_type: str) -> dict[str, Any]:
        found = self.of_type(resource_type)
        if len(found) != 1:
            raise InvalidMessage(
                "message.resource_count",
                f"The message must hold exactly one {resource_type}; it holds {len(found)}.",
                field=f"Bundle.entry.resource.ofType({resource_type})",
                params={"resource_type": resource_type, "count": len(found)},
            )
        return found[0]

    @property
    def response(self) -> dict[str, Any] | None:
        response = self.header.get("response")
        return response if isinstance(response, dict) else None

    def referenced(
        self, ref: Any, resource_type: str, referrer: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """The entry of ``resource_type`` that reference ``ref`` (written in
        the entry ``referrer``) names, if any."""
        found = self.resolve(ref, referrer)
        return found if found is not None and found.get("resourceType") == resource_type else None

    def names_entry(
        self, ref: Any, resource: dict[str, Any], referrer: dict[str, Any] | None = None
    ) -> bool:
        """Whether the Reference ``ref``, written in the entry ``referrer``,
        names ``resource``, an entry of this message: by a literal reference
        that resolves to it, or, without one, by one of its identifiers."""
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            return self.resolve(ref, referrer) is resource
        return names_by_identifier(ref, resource)


def names_by_identifier(ref: Any, resource: dict[str, Any]) -> bool:
    """Whether the Reference ``ref``, which has no literal reference, names
    ``resource`` by one of its identifiers."""
    if not isinstance(ref, dict):
        return False
    target = ref.get("reference")
    identifier = ref.get("identifier")
    if target is None and isinstance(identifier, dict):
        return any(
            isinstance(i, dict)
            and (i.get("system"), i.get("value"))
            == (identifier.get("system"), identifier.get("value"))
            for i in resource.get("identifier") or []
        )
    return False


def organisation_resource(organisation: Organisation) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": f"org-{organisation.pk}",
        "name": organisation.name,
    }
    if organisation.sor_code:
        resource["identifier"] = [{"system": SOR_SYSTEM, "value": organisation.sor_code}]
    return resource


def patient_ref(citizen: Citizen) -> dict[str, str]:
    """A reference to the message's Patient, from a resource in the same message."""
    return {"reference": f"urn:tvaerakut:Patient/{citizen.pk}"}


def _full_url(resource: dict[str, Any]) -> str:
    return f"urn:tvaerakut:{resource['resourceType']}/{resource['id']}"


def message_bundle(
    *,
    event: str,
    sender: Organisation,
    receiver: Organisation,
    receiver_endpoint: str,
    focus: Iterable[dict[str, Any]],
    supporting: Iterable[dict[str, Any]] = (),
    author: str = "",
    activity: str = "new-message",
    response: dict[str, Any] | None = None,
    message_id: str | None = None,
    bundle_id: str | None = None,
) -> dict[str, Any]:
    """A validated message Bundle. Focus resources are listed in
    ``MessageHeader.focus``; ``supporting`` ones (Patient, Observations, ...) follow."""
    now = fhir_instant(timezone.now())
    header_id = message_id or str(uuid.uuid4())
    sender_resource = organisation_resource(sender)
    receiver_resource = organisation_resource(receiver)
    focus_list = list(focus)
    header: dict[str, Any] = {
        "resourceType": "MessageHeader",
        "id": header_id,
        "eventCoding": {"system": EVENT_SYSTEM, "code": event},
        "destination": [
            {
                "endpoint": receiver_endpoint or "urn:tvaerakut:unconfigured",
                "receiver": {"reference": _full_url(receiver_resource)},
            }
        ],
        "sender": {"reference": _full_url(sender_resource)},
        "source": {"endpoint": "urn:tvaerakut:acute-function", "software": "tvaerakut"},
        "focus": [{"reference": _full_url(r)} for r in focus_list],
    }
    if response is not None:
        header["response"] = response
    provenance = {
        "resourceType": "Provenance",
        "id": str(uuid.uuid4()),
        "target": [{"reference": f"urn:tvaerakut:MessageHeader/{header_id}"}],
        "recorded": now,
        "activity": {"coding": [{"system": ACTIVITY_SYSTEM, "code": activity}]},
        "agent": [
            {
                "who": {
                    "reference": _full_url(sender_resource),
                    **({"display": author} if author else {}),
                }
            }
        ],
    }
    resources = [header, sender_resource, receiver_resource, *focus_list, *supporting, provenance]
    bundle = {
        "resourceType": "Bundle",
        "id": bundle_id or str(uuid.uuid4()),
        "type": "message",
        "timestamp": now,
        "entry": [{"fullUrl": _full_url(r), "resource": r} for r in resources],
    }
    Bundle.model_validate(bundle)
    return bundle


_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def safe_id(value: str) -> str:
    """``value`` if it is a valid FHIR id, else ``"unknown"`` (ack of unreadable input)."""
    return value if _ID.match(value or "") else "unknown"


def acknowledgement_bundle(
    *,
    answering: str,
    code: str,
    outcome: dict[str, Any] | None = None,
    sender: Organisation | None = None,
    sender_name: str = "Tværkommunal Akutfunktion",
) -> dict[str, Any]:
    """An Acknowledgement of the message with header id ``answering``."""
    header_id = str(uuid.uuid4())
    sender_resource = (
        organisation_resource(sender)
        if sender is not None
        else {"resourceType": "Organization", "id": "sender", "name": sender_name}
    )
    answering = safe_id(answering)
    header: dict[str, Any] = {
        "resourceType": "MessageHeader",
        "id": header_id,
        "eventCoding": {"system": EVENT_SYSTEM, "code": Event.ACKNOWLEDGEMENT},
        "sender": {"reference": _full_url(sender_resource)},
        "source": {"endpoint": "urn:tvaerakut:acute-function", "software": "tvaerakut"},
        "response": {"identifier": answering, "code": code},
    }
    resources: list[dict[str, Any]] = [header, sender_resource]
    if outcome is not None:
        outcome = {**outcome, "id": str(uuid.uuid4())}
        header["response"]["details"] = {"reference": _full_url(outcome)}
        resources.append(outcome)
    bundle = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "message",
        "timestamp": fhir_instant(timezone.now()),
        "entry": [{"fullUrl": _full_url(r), "resource": r} for r in resources],
    }
    Bundle.model_validate(bundle)
    return bundle


def acknowledgement_detail(data: Any, *, limit: int = 500) -> str:
    """What a partner's acknowledgement says is wrong, as its coordinator
    reads it on the board: each issue of its OperationOutcome as ``code:
    text`` (MedCom's issue detail code, or the platform's), joined by "; ",
    CPR numbers masked. The same whether it came as the answer to a delivery
    or as a message of its own."""
    parts: list[str] = []
    entries = data.get("entry") if isinstance(data, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "OperationOutcome":
            continue
        for issue in resource.get("issue") or []:
            if not isinstance(issue, dict):
                continue
            details = issue.get("details")
            details = details if isinstance(details, dict) else {}
            codings = details.get("coding")
            codings = codings if isinstance(codings, list) else []
            first = codings[0] if codings and isinstance(codings[0], dict) else {}
            text = details.get("text") or issue.get("diagnostics") or ""
            part = f"{first.get('code') or ''}: {text}".strip(": ")
            if part:
                parts.append(part)
    return scrub("; ".join(parts))[:limit]


def partner_sentence(
    code: str,
    message: str,
    *,
    kind: str = "invalid",
    params: Mapping[str, object] | None = None,
) -> tuple[str, str | None]:
    """What a partner reads of a refusal of its message, in the active
    language (the request's: Danish unless it asks for English, decision
    0020), and the precise sentence where that is a general one (None where
    the sentence read is the precise one). The precise sentence has wording
    in this language (``core.messages``), else the code's general sentence
    is read (its sentence in ``core.messages``, its reason on the
    coordinator's board, else the kind's) and the precise one is kept for
    the engineer as diagnostics. The code never changes with the language."""
    error = PlatformError(code, message, params=params)
    text = user_message(error)
    if general_in_place_of_detail(error):
        return text, error.message
    if text != error.message or (translation.get_language() or "").startswith("en"):
        return text, None
    label = INBOUND_REASON_LABELS.get(code)
    general = f"{gettext(label)}." if label is not None else kind_message(kind)
    return general, error.message


def error_outcome(
    code: str,
    message: str,
    *,
    kind: str = "invalid",
    field: str | None = None,
    params: Mapping[str, object] | None = None,
) -> dict[str, Any]:
    """A refusal of a partner's message as an OperationOutcome, its text in
    the active language (:func:`partner_sentence`)."""
    text, precise = partner_sentence(code, message, kind=kind, params=params)
    return operation_outcome(kind=kind, code=code, message=text, field=field, diagnostics=precise)


def _occurrence_set_aside(bundle: dict[str, Any]) -> dict[str, Any]:
    """The Bundle with each ServiceRequest's ``occurrence[x]`` set aside: acute
    judges it when it takes the referral in, with codes of its own (a time
    without its offset, in the past), instead of a bare "not valid FHIR"."""
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return bundle
    changed = []
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "ServiceRequest":
            rest, occurrence = occurrence_split(resource)
            if occurrence is not None:
                entry = {**entry, "resource": rest}
        changed.append(entry)
    return {**bundle, "entry": changed}


_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def parse_message(data: Any) -> ParsedMessage:
    """Read a message Bundle, strictly. Raises :class:`InvalidMessage`."""
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise InvalidMessage("message.not_bundle", "A message must be a FHIR Bundle.")
    if data.get("type") != "message":
        raise InvalidMessage(
            "message.not_message_bundle", "The Bundle type must be 'message'.", field="Bundle.type"
        )
    try:
        fhir_check(Bundle, _occurrence_set_aside(data))
    except FHIRInvalid as exc:
        # The models' English (pydantic's): a Danish reader gets the reason's
        # sentence and the element, the English as diagnostics, never one
        # sentence in two languages.
        raise InvalidMessage(
            exc.code or "message.invalid_fhir",
            f"The Bundle is not valid FHIR R4: {exc}.",
            field=exc.where or None,
            element_type=exc.element_type,
        ) from None
    entries = data.get("entry") or []
    resources = [e.get("resource") for e in entries if isinstance(e, dict)]
    if not resources or not isinstance(resources[0], dict):
        raise InvalidMessage("message.empty", "The message Bundle has no entries.")
    header = resources[0]
    if header.get("resourceType") != "MessageHeader":
        raise InvalidMessage(
            "message.header_not_first",
            "The first entry of a message must be its MessageHeader.",
            field="Bundle.entry[0]",
        )
    bundle_id, header_id = data.get("id"), header.get("id")
    if not bundle_id or not header_id:
        raise InvalidMessage(
            "message.id_missing", "Bundle.id and MessageHeader.id are both required."
        )
    for element, value in (("Bundle.id", bundle_id), ("MessageHeader.id", header_id)):
        # FHIR's id type; a longer one could not be remembered to answer a duplicate.
        if not isinstance(value, str) or not _FHIR_ID.fullmatch(value):
            raise InvalidMessage(
                "message.id_invalid",
                f"{element} must be a FHIR id: 1 to 64 letters, digits, '-' or '.'.",
                field=element,
                element_type="id",
                params={"element": element},
            )
    event = (header.get("eventCoding") or {}).get("code") or ""
    return ParsedMessage(
        bundle_id=str(bundle_id),
        header_id=str(header_id),
        event=str(event),
        header=header,
        resources=[r for r in resources[1:] if isinstance(r, dict)],
        timestamp=data.get("timestamp"),
        entries=BundleEntries(entries),
    )


# A FHIR dateTime without a time of day: a year, a month or a day.
_DATE_ALONE = re.compile(r"[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?")


def message_instant(raw: object, *, field: str) -> dt.datetime | None:
    """A message's dateTime as an aware instant, or None where it gives none
    or less than a day (``2026``, ``2026-03``). A date alone (``2026-03-04``)
    is the first moment of that day in Copenhagen
    (:func:`core.times.day_start`, docs/decisions/0042), as every door reads
    one: a discharge, a stay's end or a message text given as a day happened
    on that day, not at whatever time the message arrived. Read in ISO 8601's
    extended form only (:func:`core.times.read_moment`): one with a time of
    day in another form (``2026-12-08T10.30+01:00``, ``20261208T1030Z``), a
    value no calendar has (``2026-02-30T…``) or whose UTC instant falls
    outside the years 1 to 9999 (``9999-12-31T23:59:59-14:00``) is refused,
    naming ``field``: kept, it could be written but never read back, and
    every later read of the thread or the citizen would fail. In UTC,
    whatever offset it was sent with."""
    text = str(raw or "").strip()
    if not text:
        return None
    moment = read_moment(text)
    day = read_day(text) if moment is None else None
    try:
        if moment is not None and timezone.is_aware(moment):
            moment.astimezone(dt.UTC)
        if day is not None:
            moment = day_start(day, field=field)
        kept = moment is not None or _DATE_ALONE.fullmatch(text) is not None
    except (OverflowError, InvalidInput):  # out of the years 1 to 9999 in UTC
        kept = False
    if not kept:
        raise InvalidMessage(
            "message.datetime_invalid",
            f"{field} is not a moment the platform can keep (years 1 to 9999 in UTC).",
            field=field,
            params={"element": field},
        )
    if moment is None or timezone.is_naive(moment):
        return None
    # In UTC, as the store gives it back: the acknowledgement's result and the
    # audit entry say the partner's time the way every other door does.
    return moment.astimezone(dt.UTC)


def message_moment_past(raw: object, *, field: str, code: str, text: str) -> dt.datetime | None:
    """A message's dateTime (:func:`message_instant`) that reports what has
    already happened: one ahead of our clock by more than the clocks' skew
    (:data:`core.deaths.CLOCK_SKEW`), or a date alone (``2027-01-05``,
    ``2027-01``) whose first day is after today, is untrue and refused with
    ``code`` and ``text`` (``%(element)s`` names ``field``)."""
    moment = message_instant(raw, field=field)
    # A date alone is judged as a day (tomorrow is to come, whatever the
    # clocks' skew); a time of day against the clock.
    first = _first_day(str(raw or "").strip())
    if first is not None:
        ahead = first > timezone.now().astimezone(COPENHAGEN).date()
    else:
        ahead = moment is not None and moment > timezone.now() + CLOCK_SKEW
    if ahead:
        raise InvalidMessage(code, text, field=field, params={"element": field})
    return moment


# A time the envelope of any message reports (when it was assembled, when
# its Provenance says something was done or recorded) that lies ahead of our
# clock: the code of the refusal, where the message type has none of its own.
TIME_IN_FUTURE = "message.time_in_future"


def message_times_past(message: ParsedMessage, *, code: str = TIME_IN_FUTURE) -> None:
    """Refuse a message whose envelope reports a time to come
    (:func:`message_moment_past`): ``Bundle.timestamp`` and each
    Provenance's ``occurredDateTime``, ``occurredPeriod`` and ``recorded``,
    the history a reply repeats too. The elements every message type the
    platform takes has, in MedCom's envelope or its own; read before the
    message is processed, so one untrue time refuses it whole."""
    moments: list[tuple[str, object]] = [("Bundle.timestamp", message.timestamp)]
    for provenance in message.of_type("Provenance"):
        moments.append(("Provenance.occurredDateTime", provenance.get("occurredDateTime")))
        period = provenance.get("occurredPeriod")
        if isinstance(period, dict):
            for end in ("start", "end"):
                moments.append((f"Provenance.occurredPeriod.{end}", period.get(end)))
        moments.append(("Provenance.recorded", provenance.get("recorded")))
    for element, raw in moments:
        message_moment_past(
            raw,
            field=element,
            code=code,
            text=f"{element} lies in the future: a message reports what has already happened.",
        )


def _first_day(text: str) -> dt.date | None:
    """The first day a FHIR date without a time names (a year, a month, a day)."""
    if not _DATE_ALONE.fullmatch(text):
        return None
    year, month, day = [*text.split("-"), "1", "1"][:3]
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def peek_ids(data: Any) -> tuple[str, str]:
    """Bundle.id and MessageHeader.id of something that may not be valid at all."""
    if not isinstance(data, dict):
        return "", ""
    bundle_id = data.get("id") if isinstance(data.get("id"), str) else ""
    header_id = ""
    entries = data.get("entry")
    if isinstance(entries, list) and entries and isinstance(entries[0], dict):
        first = entries[0].get("resource")
        if isinstance(first, dict) and first.get("resourceType") == "MessageHeader":
            value = first.get("id")
            header_id = value if isinstance(value, str) else ""
    return bundle_id or "", header_id or ""


@dataclass(frozen=True)
class PatientIdentity:
    """Who a message's Patient is: the CPR number, the replacement CPR
    (X-eCPR or D-eCPR), or both."""

    cpr: str | None
    replacement: ReplacementCpr | None


def patient_identity(patient: dict[str, Any]) -> PatientIdentity:
    """The CPR number and the replacement CPR the Patient carries. Neither:
    ``message.patient_cpr_missing``; a replacement CPR that is not one
    (``core.cpr.normalise_replacement_cpr``, DK-core's formats):
    ``replacement_cpr.invalid``, its value never in the text; two different
    ones: ``message.replacement_cpr_ambiguous``."""
    replacement: ReplacementCpr | None = None
    identifiers = patient.get("identifier") or []
    try:
        # Read as the FHIR Patient door reads it: only an official CPR number is hers.
        numbers = set(cpr_numbers(identifiers if isinstance(identifiers, list) else []))
    except InvalidInput as exc:
        raise InvalidMessage(
            exc.code, exc.message, field="Patient.identifier", params=exc.params
        ) from None
    if len(numbers) > 1:
        raise InvalidMessage(
            "message.patient_cpr_ambiguous",
            "The Patient carries more than one CPR number.",
            field="Patient.identifier",
        )
    cpr = next(iter(numbers), None)
    for identifier in identifiers if isinstance(identifiers, list) else []:
        if not isinstance(identifier, dict) or not identifier.get("value"):
            continue
        system = identifier.get("system")
        if is_replacement_cpr_system(system):
            try:
                found = normalise_replacement_cpr(identifier["value"], system)
            except InvalidInput as exc:
                raise InvalidMessage(
                    exc.code, exc.message, field="Patient.identifier", params=exc.params
                ) from None
            if replacement is not None and found != replacement:
                # Read as the FHIR Patient door reads it: two are not one citizen.
                raise InvalidMessage(
                    "message.replacement_cpr_ambiguous",
                    "The Patient carries more than one replacement CPR number.",
                    field="Patient.identifier",
                )
            replacement = found
    if cpr is None and replacement is None:
        raise InvalidMessage(
            "message.patient_cpr_missing",
            "The Patient must carry a CPR identifier (urn:oid:1.2.208.176.1.2)"
            " or a replacement CPR (X-eCPR or D-eCPR).",
            field="Patient.identifier",
        )
    return PatientIdentity(cpr=cpr, replacement=replacement)
