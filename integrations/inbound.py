"""Receiving messages: authenticate the partner, de-duplicate, process once, acknowledge.

Every message gets an Acknowledgement (MedCom style):

- ``ok`` — processed; what it created is remembered with the message ids;
- ``fatal-error`` — the message cannot be processed as sent (malformed,
  refused by a rule such as R2): nothing is created, and the answer is
  remembered so a resend gets the same answer;
- ``transient-error`` — something on our side was briefly unavailable; nothing
  is remembered, so the sender may retry.

A duplicate (same Bundle.id or MessageHeader.id from the same partner) is
answered with the original acknowledgement and never processed twice; the
database's unique constraints decide a race between two copies. A copy of a
message answered before is still on the log of the citizen it names (R9).

The texts of a negative acknowledgement are in the request's language
(Danish unless it asks for English, decision 0020); its codes are the same in
both. A duplicate gets the acknowledgement as it was first built, in the
language of the first answer: the answer to a message is one answer (MedCom's
reliable messaging), and a resend is not a new question.

One module, a little over 500 lines: it is the receiving pipeline, each step
handing to the next (authenticate, parse, validate, de-duplicate, process,
acknowledge, remember), and it reads best as one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import orjson
from django.db import (
    DatabaseError,
    DataError,
    IntegrityError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import Q, Subquery
from django.db.models.functions import JSONObject
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from consent.audit.services import (
    Action,
    Entry,
    Outcome,
    Purpose,
    audit_record_many,
    audit_write,
    audit_write_along,
)
from core.actors import Actor
from core.boundary import json_load
from core.errors import InvalidInput, PlatformError, Unavailable
from core.fhir.bundle_references import BundleEntries
from core.fhir.outcome import operation_outcome
from core.models import Citizen, Organisation
from core.sql import CompiledQuery, columns_of, instances_of, plain_columns, run_prepared
from integrations.adapters import Handler
from integrations.medcom import inbound as medcom
from integrations.medcom.envelope import Issue, MedComEvent
from integrations.medcom.validation import validate_message
from integrations.messages import (
    TIME_IN_FUTURE,
    AckCode,
    Event,
    InvalidMessage,
    ParsedMessage,
    acknowledgement_bundle,
    acknowledgement_detail,
    error_outcome,
    message_times_past,
    parse_message,
    partner_sentence,
    peek_ids,
)
from integrations.models import InboundMessage, Partner, ReceivedAcknowledgement
from integrations.outbound import US_PARTS, acute_function, acute_functions
from integrations.outbox import outbox_acknowledge
from integrations.outbox.acknowledge import acknowledgement_earlier, acknowledgement_remembered
from integrations.partners import adapter_for
from integrations.patients import citizen_find, registrations_noted

log = logging.getLogger(__name__)

PROCESS_TASK = "integrations.process_message"
# A MedCom fatal-error names at most this many broken rules.
MAX_ISSUES = 20
# Why a message was refused before it was processed (the audit entry's reason).
ADDRESSING_REFUSED = "message.not_addressed_by_partner"
EVENT_UNSUPPORTED = "message.event_unsupported"
RULE_BROKEN = "medcom.rule_broken"
# MedCom 043: a Bundle.id already received with another MessageHeader.id.
BUNDLE_ID_REUSED = "message.bundle_id_reused"
# A message received again (its MessageHeader.id already answered): answered
# with the first acknowledgement, nothing applied twice; the audit entry's reason.
RESENT = "message.resent"
BUNDLE_ID_REUSED_TEXT = gettext_noop(
    "Bundle.id: already used by another message; a Bundle.id is never reused."
)
# Our side briefly unavailable (answered transient-error: send again).
DB_UNAVAILABLE_TEXT = gettext_noop("The database was briefly unavailable.")
# A time to come in a message's envelope (Bundle.timestamp, a Provenance's):
# refused under the code its message type's own times to come have, so the
# coordinator's board names the refusal alike whichever time was untrue.
TIME_IN_FUTURE_BY_EVENT = {
    MedComEvent.HOSPITAL_NOTIFICATION: "hospital.occurred_in_future",
    MedComEvent.CARE_COMMUNICATION: "carecommunication.time_in_future",
}


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    duplicate: bool = False


class Earlier(NamedTuple):
    """What a message sent before with the same id was answered."""

    header_id: str
    http_status: int
    acknowledgement: dict[str, Any]
    citizen_id: int | None


# The message a partner sent before with either id, looked up for every
# message received: compiled once (core/sql.py), reading only what a
# duplicate is answered and audited from.
_EARLIER_COLUMNS = ("header_id", "http_status", "acknowledgement", "citizen_id")
_EARLIER_QUERY = CompiledQuery(
    lambda partner_id, bundle_id, header_id: InboundMessage.objects.filter(
        Q(bundle_id=bundle_id) | Q(header_id=header_id), partner_id=partner_id
    ).values_list(*_EARLIER_COLUMNS)[:1],
    -7_361_004_219,
    "stand-in bundle id",
    "stand-in header id",
)


def _earlier(partner: Partner, bundle_id: str, header_id: str) -> Earlier | None:
    if bundle_id and header_id and connection.vendor == "postgresql":
        # Read in binary: the acknowledgement comes back parsed.
        rows = _EARLIER_QUERY.rows(partner.pk, bundle_id, header_id, binary=True)
        return Earlier(*rows[0]) if rows else None
    match = Q()
    if bundle_id:
        match |= Q(bundle_id=bundle_id)
    if header_id:
        match |= Q(header_id=header_id)
    if not match:
        return None
    row = InboundMessage.objects.filter(match, partner=partner).values_list(*_EARLIER_COLUMNS)
    found = row.first()
    return Earlier(*found) if found is not None else None


# Our organisation, and the message the partner sent before with either id:
# both read for every MedCom message received, in one round trip. The earlier
# message's columns come as one JSON object, so that they are one row's.
_US_AND_EARLIER_QUERY = CompiledQuery(
    lambda partner_id, bundle_id, header_id: (
        acute_functions()
        .annotate(
            earlier=Subquery(
                InboundMessage.objects.filter(
                    Q(bundle_id=bundle_id) | Q(header_id=header_id), partner_id=partner_id
                ).values(found=JSONObject(**{name: name for name in _EARLIER_COLUMNS}))[:1]
            )
        )
        .values_list(*columns_of(US_PARTS), "earlier")[:1]
    ),
    -7_361_004_219,
    "stand-in bundle id",
    "stand-in header id",
)


def _us_and_earlier(
    partner: Partner, bundle_id: str, header_id: str
) -> tuple[Organisation | None, Earlier | None]:
    """:func:`acute_function` and, if there is one, :func:`_earlier`."""
    if not (
        bundle_id and header_id and connection.vendor == "postgresql" and plain_columns(US_PARTS)
    ):
        us = acute_function()
        return us, (_earlier(partner, bundle_id, header_id) if us is not None else None)
    rows = _US_AND_EARLIER_QUERY.rows(partner.pk, bundle_id, header_id, binary=True)
    if not rows:
        return None, None
    us = cast("Organisation", instances_of(rows[0][:-1], US_PARTS)[0])
    found = rows[0][-1]  # read in binary: the JSON comes back parsed
    return us, (Earlier(**found) if found is not None else None)


# Every message processed or refused is remembered with its answer: one
# prepared insert on PostgreSQL (the ORM's create compiles it anew each time).
_REMEMBER_SQL = (
    f"INSERT INTO {InboundMessage._meta.db_table} (partner_id, bundle_id, header_id, "  # noqa: S608
    "event, citizen_id, outcome, http_status, acknowledgement, result, received_at, "
    "reason_code, noted_at, noted_by_id) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s, NULL, NULL) RETURNING id"
)


def _remember(
    *,
    partner: Partner,
    bundle_id: str,
    header_id: str,
    event: str,
    citizen_id: int | None,
    outcome: str,
    http_status: int,
    acknowledgement: dict[str, Any],
    result: dict[str, Any],
    reason_code: str = "",
    audited: Entry | None = None,
) -> None:
    """Keep the message's ids and answer; a copy already kept (the same
    Bundle.id or MessageHeader.id from this partner) raises IntegrityError.
    ``audited``: the audit entry of the message's processing, written with
    the row (on PostgreSQL in the same statement: one round trip less on
    every message)."""
    if connection.vendor != "postgresql":
        InboundMessage.objects.create(
            partner=partner,
            bundle_id=bundle_id,
            header_id=header_id,
            event=event,
            citizen_id=citizen_id,
            outcome=outcome,
            http_status=http_status,
            acknowledgement=acknowledgement,
            result=result,
            reason_code=reason_code,
        )
        if audited is not None:
            audit_write(**audited)
        return
    params = [
        partner.pk,
        bundle_id,
        header_id,
        event,
        citizen_id,
        outcome,
        http_status,
        orjson.dumps(acknowledgement, option=orjson.OPT_NON_STR_KEYS).decode(),
        orjson.dumps(result, option=orjson.OPT_NON_STR_KEYS).decode(),
        timezone.now(),
        reason_code,
    ]
    if audited is None:
        run_prepared(_REMEMBER_SQL, params)
    else:
        audit_write_along(_REMEMBER_SQL, params, **audited)


def _acknowledgement_settles(
    partner: Partner, parsed: ParsedMessage, data: dict[str, Any]
) -> Answer:
    """A partner's acknowledgement settles the outbox message it answers
    (``MessageHeader.response``); the HTTP answer says whether one matched.
    One whose envelope reports a time to come settles nothing (400)."""
    try:
        message_times_past(parsed)
    except InvalidMessage as exc:
        refused = Answer(
            400, error_outcome(exc.code, exc.message, field=exc.field, params=exc.params)
        )
        return _acknowledgement_refused(partner, data, refused, exc.code)
    earlier = acknowledgement_earlier(partner, parsed.bundle_id, parsed.header_id)
    if earlier is not None:
        return _acknowledgement_again(partner, parsed, data, earlier)
    response = parsed.response or {}
    answering, code = str(response.get("identifier", "")), str(response.get("code", ""))
    try:
        with transaction.atomic():
            settles = outbox_acknowledge(
                partner=partner,
                answering=answering,
                code=code,
                detail=acknowledgement_detail(data),
            )
            # Remembered with what it did, in one transaction: of two copies
            # at once, the second waits for the first and is its repeat.
            remembered = acknowledgement_remembered(
                partner=partner,
                bundle_id=parsed.bundle_id,
                header_id=parsed.header_id,
                answering=answering,
                code=code,
                settles=settles,
            )
            remembered.save(force_insert=True)
    except IntegrityError:
        earlier = acknowledgement_earlier(partner, parsed.bundle_id, parsed.header_id)
        if earlier is None:
            raise
        return _acknowledgement_again(partner, parsed, data, earlier)
    answer = Answer(remembered.http_status, remembered.answer)
    if not remembered.reason_code:
        return answer
    return _acknowledgement_refused(partner, data, answer, remembered.reason_code)


def _acknowledgement_again(
    partner: Partner, parsed: ParsedMessage, data: dict[str, Any], earlier: ReceivedAcknowledgement
) -> Answer:
    """An acknowledgement received before (its MessageHeader.id), as its own
    message or in the partner's answer to our delivery, is answered as it
    was the first time and settles nothing again (MedCom: a message
    received twice is processed once), whatever became of the message it
    answers since. One reusing another's Bundle.id is refused, as a message
    is (MedCom 043). A repeat of a refused one is recorded again: a denied
    attempt each time."""
    if earlier.header_id != parsed.header_id[:64]:
        reused = Answer(
            400, error_outcome(BUNDLE_ID_REUSED, BUNDLE_ID_REUSED_TEXT, field="Bundle.id")
        )
        return _acknowledgement_refused(partner, data, reused, BUNDLE_ID_REUSED)
    log.info("acknowledgement %s received again from %s", earlier.pk, partner.code)
    again = Answer(earlier.http_status, earlier.answer, duplicate=True)
    if not earlier.reason_code:
        return again
    return _acknowledgement_refused(partner, data, again, earlier.reason_code)


# A FHIR id, as an audit entry may name a refused acknowledgement's Bundle.
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# A message id of the platform's form (a UUID), as the entry may name what it answered.
_ANSWERED_ID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def _acknowledgement_refused(partner: Partner, data: Any, answer: Answer, reason: str) -> Answer:
    """A partner's acknowledgement that settled nothing — of a message never
    sent to this partner, contradicting its first answer, with a code
    outside FHIR's three, or refused before it was read — is answered
    ``answer`` and is on the audit log as about no citizen (it names none):
    the partner, why, and the message id it answered when that is one of the
    platform's form (a UUID), so an operator finds who sends acknowledgements
    of what. Recorded before the answer goes: without its entry the partner
    is answered transient-error and sends it again."""
    header = medcom.header_of(data) or {}
    response = header.get("response")
    answering = str(response.get("identifier") or "") if isinstance(response, dict) else ""
    bundle_id = data.get("id") if isinstance(data, dict) else None
    log.warning("acknowledgement from %s settled nothing: %s", partner.code, reason)
    try:
        audit_write(
            actor=Actor.system(PROCESS_TASK, partner=partner.organisation),
            action=Action.CREATE,
            purpose=Purpose.TREATMENT,
            citizen_id=None,
            outcome=Outcome.DENIED,
            resource_type="Bundle",
            resource_id=bundle_id
            if isinstance(bundle_id, str) and _FHIR_ID.fullmatch(bundle_id)
            else "",
            reason_code=reason[:64],
            detail={
                "partner": partner.code,
                "event": medcom.event_of(data),
                "answering": answering if _ANSWERED_ID.fullmatch(answering) else "",
                "status": answer.status,
            },
        )
    except (Unavailable, DatabaseError):
        return Answer(503, error_outcome("db.unavailable", DB_UNAVAILABLE_TEXT, kind="unavailable"))
    return answer


def _refusal_record(
    partner: Partner,
    bundle_id: str,
    header_id: str,
    event: str,
    ack: dict[str, Any],
    reason: str,
) -> Earlier | None:
    """Keep a refused message's answer, so a repeat gets the same one, and
    its reason, so the coordinator's board shows it until she has seen it;
    where the same message was recorded first, that earlier record."""
    if not (bundle_id and header_id):
        return None
    try:
        with transaction.atomic():
            _remember(
                partner=partner,
                bundle_id=bundle_id[:64],
                header_id=header_id[:64],
                event=event[:64],
                citizen_id=None,
                outcome=InboundMessage.Outcome.FATAL,
                http_status=400,
                acknowledgement=ack,
                result={},
                reason_code=reason[:64],
            )
    except IntegrityError:
        earlier = _earlier(partner, bundle_id, header_id)
        # Another message's answer (its Bundle.id reused) is never this one's.
        return earlier if earlier is not None and earlier.header_id == header_id else None
    return None


def _fatal(
    partner: Partner,
    bundle_id: str,
    header_id: str,
    event: str,
    code: str,
    text: str,
    field: str | None,
    params: Mapping[str, object] | None = None,
) -> Answer:
    ack = acknowledgement_bundle(
        answering=header_id or "unknown",
        code=AckCode.FATAL,
        outcome=error_outcome(code, text, field=field, params=params),
        sender=None,
    )
    earlier = _refusal_record(partner, bundle_id, header_id, event, ack, code)
    if earlier is not None:
        return Answer(earlier.http_status, earlier.acknowledgement, duplicate=True)
    log.info("message from %s refused: %s", partner.code, code)
    return Answer(400, ack)


def message_receive(*, partner: Partner, raw: bytes) -> Answer:
    """Process one signed message from ``partner`` (already authenticated)."""
    try:
        # The same door as every other body: size, depth, NUL and broken text.
        data = json_load(raw)
    except InvalidInput as exc:
        code = "message.not_json" if exc.code == "request.malformed" else exc.code
        return _fatal(partner, "", "", "", code, exc.message, exc.field, exc.params)
    if medcom.is_medcom(data) or medcom.is_local(data):
        return _medcom_receive(partner, data)
    bundle_id, header_id = peek_ids(data)
    earlier = _earlier(partner, bundle_id, header_id)
    if earlier is not None and earlier.header_id == header_id:
        return _resent(
            partner,
            _as_read(data),
            earlier,
            Answer(earlier.http_status, earlier.acknowledgement, duplicate=True),
            lambda code, text: _transient(header_id, code, text),
        )
    if earlier is not None:
        reused = acknowledgement_bundle(
            answering=header_id or "unknown",
            code=AckCode.FATAL,
            outcome=error_outcome(BUNDLE_ID_REUSED, BUNDLE_ID_REUSED_TEXT, field="Bundle.id"),
            sender=None,
        )
        return _bundle_id_reused(
            partner,
            data,
            lambda: Answer(400, reused),
            lambda code, text: _transient(header_id, code, text),
        )
    try:
        parsed = parse_message(data)
    except InvalidMessage as exc:
        if medcom.event_of(data) == Event.ACKNOWLEDGEMENT:
            # An acknowledgement is never acknowledged, a broken one neither:
            # the HTTP answer says what is wrong, and the refusal is recorded.
            broken = Answer(
                400, error_outcome(exc.code, exc.message, field=exc.field, params=exc.params)
            )
            return _acknowledgement_refused(partner, data, broken, exc.code)
        invalid = exc

        def refusal() -> Answer:
            return _fatal(
                partner,
                bundle_id,
                header_id,
                "",
                invalid.code,
                invalid.message,
                invalid.field,
                invalid.params,
            )

        unread = _as_read(data)
        if unread is None:
            return refusal()
        # Unreadable as a message, yet naming a citizen: a denied attempt on her (R9).
        return _denied(
            partner,
            unread,
            invalid.code,
            refusal,
            lambda code, text: _transient(header_id, code, text),
        )

    if parsed.event == Event.ACKNOWLEDGEMENT:
        # Acknowledgements are not acknowledged; the HTTP answer says whether it matched.
        return _acknowledgement_settles(partner, parsed, data)

    # A partner may send only what its adapter declares it receives.
    handler = adapter_for(partner.kind).handler(parsed.event)
    if handler is None:
        return _denied(
            partner,
            parsed,
            EVENT_UNSUPPORTED,
            lambda: _fatal(
                partner,
                parsed.bundle_id,
                parsed.header_id,
                parsed.event,
                EVENT_UNSUPPORTED,
                "This partner may not send this kind of message to the platform.",
                "MessageHeader.eventCoding",
            ),
            lambda code, text: _transient(parsed.header_id, code, text),
        )
    return _process(
        partner,
        parsed,
        handler,
        ok=lambda: acknowledgement_bundle(answering=parsed.header_id, code=AckCode.OK, sender=None),
        fatal=lambda exc: _fatal(
            partner,
            parsed.bundle_id,
            parsed.header_id,
            parsed.event,
            exc.code,
            exc.message,
            exc.field,
            getattr(exc, "params", None),
        ),
        transient=lambda code, text: _transient(parsed.header_id, code, text),
    )


def _process(
    partner: Partner,
    parsed: ParsedMessage,
    handler: Handler,
    *,
    ok: Callable[[], dict[str, Any]],
    fatal: Callable[[InvalidMessage | PlatformError], Answer],
    transient: Callable[[str, str], Answer],
) -> Answer:
    """Process a message once, in one transaction with the row that remembers
    it and the audit entry; answered by the acknowledgement ``ok`` builds, or
    ``fatal`` / ``transient`` when a rule or our side refuses it."""
    actor = Actor.system(PROCESS_TASK, partner=partner.organisation)
    try:
        with registrations_noted() as registered, transaction.atomic():
            # Every message type's envelope times, before anything is written.
            message_times_past(
                parsed, code=TIME_IN_FUTURE_BY_EVENT.get(parsed.event, TIME_IN_FUTURE)
            )
            handled = handler(partner, parsed, actor)
            ack = ok()
            _remember(
                partner=partner,
                bundle_id=parsed.bundle_id,
                header_id=parsed.header_id,
                event=parsed.event,
                citizen_id=handled.citizen.pk if handled.citizen is not None else None,
                outcome=InboundMessage.Outcome.OK,
                http_status=200,
                acknowledgement=ack,
                result=handled.result,
                audited=Entry(
                    actor=actor,
                    action=Action.CREATE,
                    purpose=Purpose.TREATMENT,
                    citizen_id=handled.citizen.pk,
                    outcome=Outcome.PERMITTED,
                    resource_type="Bundle",
                    resource_id=parsed.bundle_id[:64],
                    reason_code=parsed.event,
                    detail={"partner": partner.code, "result": handled.result},
                )
                if handled.citizen is not None
                else None,
            )
    except Unavailable as exc:
        return transient(exc.code, exc.message)
    except (InvalidMessage, PlatformError) as exc:
        try:
            _refusal_audit(partner, parsed, actor, exc, registered=bool(registered))
        except DatabaseError:
            return transient("db.unavailable", DB_UNAVAILABLE_TEXT)
        return fatal(exc)
    except IntegrityError:
        # A copy of this message won the race: answer as it was answered. A
        # message that won with its Bundle.id is another: sent again, this
        # one is refused for reusing it.
        earlier = _earlier(partner, parsed.bundle_id, parsed.header_id)
        if earlier is not None and earlier.header_id == parsed.header_id:
            return _resent(
                partner,
                parsed,
                earlier,
                Answer(earlier.http_status, earlier.acknowledgement, duplicate=True),
                transient,
            )
        return transient("db.conflict", "A concurrent change; send again.")
    except DataError:
        # A value the database cannot hold (a number out of any column's
        # range): the message is wrong and sending it again cannot help. A
        # refusal all the same, so a denied attempt on the citizen (R9).
        refused = InvalidMessage(
            "message.value_out_of_range", "A value in the message cannot be stored."
        )
        try:
            _refusal_audit(partner, parsed, actor, refused, registered=bool(registered))
        except DatabaseError:
            return transient("db.unavailable", DB_UNAVAILABLE_TEXT)
        return fatal(refused)
    except (OperationalError, DatabaseError) as exc:
        log.warning("message from %s not processed: %s", partner.code, type(exc).__name__)
        return transient("db.unavailable", DB_UNAVAILABLE_TEXT)
    return Answer(200, ack)


def _resent(
    partner: Partner,
    read: ParsedMessage | None,
    earlier: Earlier,
    answer: Answer,
    transient: Callable[[str, str], Answer],
) -> Answer:
    """A message received again (its MessageHeader.id already answered) gets
    the first acknowledgement and changes nothing; it is still an access to
    the citizens it names (R9): the one its first copy was about and any its
    Patient names now, each with an entry saying what was answered and done
    (the acknowledgement sent again, nothing applied twice), permitted where
    the first copy was processed, denied where it was refused. Audited before
    the answer goes: without its entry the resend is answered transient-error
    and comes again."""
    log.info("message from %s received again: the first acknowledgement resent", partner.code)
    citizen_ids = [earlier.citizen_id] if earlier.citizen_id is not None else []
    if read is not None:
        citizen_ids += [
            citizen.pk
            for citizen in map(_known_citizen, read.of_type("Patient"))
            if citizen is not None
        ]
    if not citizen_ids:
        return answer
    header = medcom.header_of(earlier.acknowledgement) or {}
    response = header.get("response")
    answered = response.get("code") if isinstance(response, dict) else None
    try:
        audit_record_many(
            actor=Actor.system(PROCESS_TASK, partner=partner.organisation),
            action=Action.CREATE,
            purpose=Purpose.TREATMENT,
            citizen_ids=citizen_ids,
            outcome=Outcome.PERMITTED if earlier.http_status == 200 else Outcome.DENIED,
            resource_type="Bundle",
            resource_id=(read.bundle_id if read is not None else "")[:64],
            reason_code=RESENT,
            detail={
                "partner": partner.code,
                "event": read.event if read is not None else "",
                "answered": str(answered or ""),
                "done": "acknowledgement_resent",
                "applied": False,
            },
        )
    except (Unavailable, DatabaseError):
        return transient("db.unavailable", DB_UNAVAILABLE_TEXT)
    return answer


def _bundle_id_reused(
    partner: Partner,
    data: dict[str, Any],
    refusal: Callable[[], Answer],
    transient: Callable[[str, str], Answer],
) -> Answer:
    """A message whose Bundle.id another message of the partner already had
    (MedCom 043: "Bundle.id values MUST never be reused") is refused, never
    answered with the other message's acknowledgement nor processed. Not
    remembered (its Bundle.id is the other message's), it is a denied
    attempt on the citizen it names each time it comes (R9)."""
    log.info("message from %s refused: %s", partner.code, BUNDLE_ID_REUSED)
    try:
        read: ParsedMessage | None = parse_message(data)
    except InvalidMessage:
        read = _as_read(data)
    if read is None:
        return refusal()
    return _denied(partner, read, BUNDLE_ID_REUSED, refusal, transient)


def _denied(
    partner: Partner,
    parsed: ParsedMessage,
    code: str,
    refusal: Callable[[], Answer],
    transient: Callable[[str, str], Answer],
) -> Answer:
    """A message refused before it is processed — breaking MedCom's rules, not
    addressed to us by the partner that signed it, or of an event the partner
    may not send — is a
    denied attempt on the citizen it is about, when the platform knows her
    (R9), as a message a rule refuses while it is processed is. Audited
    before the refusal is remembered: without its entry the message is not
    refused but answered transient-error, so that it comes again."""
    actor = Actor.system(PROCESS_TASK, partner=partner.organisation)
    try:
        _refusal_audit(partner, parsed, actor, InvalidMessage(code, code), registered=False)
    except DatabaseError:
        return transient("db.unavailable", DB_UNAVAILABLE_TEXT)
    return refusal()


def _refusal_audit(
    partner: Partner,
    parsed: ParsedMessage,
    actor: Actor,
    exc: InvalidMessage | PlatformError,
    *,
    registered: bool,
) -> None:
    """A message a rule refused is a denied attempt on the citizens it reached
    for (R9): the one its Patient names, when the platform knows her, and any
    other the refusal names (a thread or a hospital stay of another citizen).
    A new citizen the message ``registered`` before it was refused (a
    referral for someone reported dead) rolled back with it: her attempt is
    one entry naming no citizen, as a read of an id that names no one is,
    its detail saying a new citizen was refused (never her CPR number).
    Written after the refused transaction rolled back, so it stays."""
    citizen_ids = list(exc.citizen_ids) if isinstance(exc, InvalidMessage) else []
    # Every Patient the message names, not only the one a valid message has:
    # a message refused for naming two citizens reached for both.
    known = [
        citizen.pk
        for citizen in map(_known_citizen, parsed.of_type("Patient"))
        if citizen is not None
    ]
    citizen_ids[:0] = known
    detail = {"partner": partner.code, "event": parsed.event}
    if registered and not known:
        audit_write(
            actor=actor,
            action=Action.CREATE,
            purpose=Purpose.TREATMENT,
            citizen_id=None,
            outcome=Outcome.DENIED,
            resource_type="Bundle",
            resource_id=parsed.bundle_id[:64],
            reason_code=exc.code,
            detail={**detail, "new_citizen": True},
        )
    if not citizen_ids:
        return
    audit_record_many(
        actor=actor,
        action=Action.CREATE,
        purpose=Purpose.TREATMENT,
        citizen_ids=list(dict.fromkeys(citizen_ids)),
        outcome=Outcome.DENIED,
        resource_type="Bundle",
        resource_id=parsed.bundle_id[:64],
        reason_code=exc.code,
        detail=detail,
    )


def _known_citizen(patient: dict[str, Any]) -> Citizen | None:
    """The citizen a refused message's Patient names, if the platform knows her."""
    try:
        return citizen_find(patient)
    except (InvalidMessage, InvalidInput):
        return None  # an identifier that names no one (malformed)


# --- MedCom messages ---------------------------------------------------------------


def _medcom_receive(partner: Partner, data: dict[str, Any]) -> Answer:
    """A MedCom message, or a local event in MedCom's envelope: checked against
    MedCom's rules (a local event's: those of the envelope) before anything
    else, answered with MedCom's Acknowledgement (never an acknowledgement
    itself)."""
    if medcom.event_of(data) == MedComEvent.ACKNOWLEDGEMENT:
        return _medcom_acknowledgement_received(partner, data)
    bundle_id, header_id = peek_ids(data)
    us, earlier = _us_and_earlier(partner, bundle_id, header_id)
    if us is None:
        return Answer(
            503,
            error_outcome(
                "integrations.unconfigured", "The platform has no sender.", kind="unavailable"
            ),
        )

    def transient(code: str, text: str) -> Answer:
        sentence, precise = partner_sentence(code, text, kind="unavailable")
        issue = Issue(
            "MSG_LOCAL_FAIL",
            f"{sentence} ({code})",
            code="transient",
            diagnostics=f"{precise} ({code})" if precise else "",
        )
        ack = medcom.answer(
            data=data, partner=partner, us=us, code=AckCode.TRANSIENT, issues=[issue]
        )
        return Answer(503, ack)

    if earlier is not None and earlier.header_id == header_id:
        # MedCom: a duplicate gets the first answer again, in a new envelope.
        return _resent(
            partner,
            _as_read(data),
            earlier,
            Answer(earlier.http_status, medcom.resent(earlier.acknowledgement), duplicate=True),
            transient,
        )

    def fatal(issues: list[Issue], reason: str) -> Answer:
        ack = medcom.answer(data=data, partner=partner, us=us, code=AckCode.FATAL, issues=issues)
        again = _refusal_record(partner, bundle_id, header_id, event, ack, reason)
        if again is not None:
            return Answer(again.http_status, medcom.resent(again.acknowledgement), duplicate=True)
        log.info("MedCom message from %s refused: %s", partner.code, issues[0].details)
        return Answer(400, ack)

    if earlier is not None:
        duplicate_id = Issue(
            "MSG_DUPLICATE_ID",
            partner_sentence(BUNDLE_ID_REUSED, BUNDLE_ID_REUSED_TEXT)[0],
            code="duplicate",
        )
        reused = medcom.answer(
            data=data, partner=partner, us=us, code=AckCode.FATAL, issues=[duplicate_id]
        )
        return _bundle_id_reused(partner, data, lambda: Answer(400, reused), transient)
    event = medcom.event_of(data)
    violations = validate_message(data, local=medcom.is_local(data))
    if violations:
        issues = [medcom.issue_of(v) for v in violations[:MAX_ISSUES]]
        try:
            broken: ParsedMessage | None = parse_message(data)
        except InvalidMessage:
            # Not FHIR enough to be parsed (no event, another Bundle type):
            # read as far as it can be, for the citizen its Patient names.
            broken = _as_read(data)
        if broken is None:
            return fatal(issues, RULE_BROKEN)  # no Patient to be read: it reached for no one
        return _denied(partner, broken, RULE_BROKEN, lambda: fatal(issues, RULE_BROKEN), transient)
    try:
        parsed = parse_message(data)
    except InvalidMessage as exc:
        issues = [_format_issue(exc)]
        unreadable = exc.code
        unread = _as_read(data)
        if unread is None:
            return fatal(issues, unreadable)
        # Refused as not FHIR R4 (a time without its offset): still an attempt
        # on the citizen its Patient names, as a message breaking MedCom's
        # rules is.
        return _denied(partner, unread, RULE_BROKEN, lambda: fatal(issues, unreadable), transient)
    addressing = medcom.addressing_issue(partner, us, parsed)
    if addressing is not None:
        return _denied(
            partner,
            parsed,
            ADDRESSING_REFUSED,
            lambda: fatal([addressing], ADDRESSING_REFUSED),
            transient,
        )
    handler = adapter_for(partner.kind).handler(event)
    if handler is None:
        unable = Issue(
            "MSG_RECEIVER_UNABLE_TO_RECEIVE_MSG_TYPE",
            gettext(
                "MessageHeader.eventCoding: the platform does not receive %(event)s"
                " from this partner."
            )
            % {"event": event},
            code="not-supported",
        )
        return _denied(
            partner,
            parsed,
            EVENT_UNSUPPORTED,
            lambda: fatal([unable], EVENT_UNSUPPORTED),
            transient,
        )
    return _process(
        partner,
        parsed,
        handler,
        ok=lambda: medcom.answer(data=data, partner=partner, us=us, code=AckCode.OK),
        fatal=lambda exc: fatal(
            [medcom.refusal_issue(exc.code, exc.message, exc.field, getattr(exc, "params", None))],
            exc.code,
        ),
        transient=transient,
    )


# FHIR R4's types of a moment: one refused by the models is in the wrong form
# (a time without its offset, MedCom 052.2: "SHALL include a timezone") or
# names a day no calendar has (2026-02-30).
_MOMENT_TYPES = frozenset({"date", "dateTime", "instant", "time"})


def _format_issue(exc: InvalidMessage) -> Issue:
    """The issue of a MedCom message that is not valid FHIR R4: an element of
    a date or time type that the models refused is MedCom's
    ``MSG_DATE_FORMAT``, anything else ``MSG_BAD_FORMAT``; both name the
    element. Decided by the element's FHIR type, not by the error's wording."""
    where = exc.field or "Bundle"
    sentence, precise = partner_sentence(exc.code, exc.message, params=exc.params)
    text = f"{where}: {sentence}"
    diagnostics = f"{where}: {precise}" if precise else ""
    if exc.element_type in _MOMENT_TYPES:
        return Issue("MSG_DATE_FORMAT", text, code="value", diagnostics=diagnostics)
    return Issue("MSG_BAD_FORMAT", text, code="structure", diagnostics=diagnostics)


def _as_read(data: Any) -> ParsedMessage | None:
    """The message as far as it can be read without FHIR's models (its ids,
    event and resources), to know whom a refused message reached for; None
    where it has no MessageHeader or no ids. A MessageHeader out of its place
    (MedCom's rule and FHIR's: the first entry) is read where it is: the
    message refused for that still names the citizen it reached for (R9)."""
    header = medcom.header_of(data)
    if header is None:
        return None
    bundle_id = data.get("id") if isinstance(data.get("id"), str) else ""
    header_id = header.get("id") if isinstance(header.get("id"), str) else ""
    if not (bundle_id and header_id):
        return None
    # A Patient is read for whom she names only where her identifiers have
    # FHIR's shape (the models did not check them).
    resources = [
        e["resource"]
        for e in data["entry"]
        if isinstance(e, dict)
        and isinstance(e.get("resource"), dict)
        and e["resource"] is not header
        and (e["resource"].get("resourceType") != "Patient" or _shaped(e["resource"]))
    ]
    return ParsedMessage(
        bundle_id=bundle_id,
        header_id=header_id,
        event=medcom.event_of(data),
        header=header,
        resources=resources,
        entries=BundleEntries.of_bundle(data),
    )


def _shaped(patient: dict[str, Any]) -> bool:
    identifiers = patient.get("identifier")
    return isinstance(identifiers, list) and all(
        isinstance(i, dict)
        and isinstance(i.get("system", ""), str)
        and isinstance(i.get("value", ""), str)
        for i in identifiers
    )


def _medcom_acknowledgement_received(partner: Partner, data: dict[str, Any]) -> Answer:
    """A partner's MedCom Acknowledgement of one of our messages settles it in
    the outbox (ok → acknowledged, transient-error → sent again, fatal-error →
    failed, on the coordinator's board). It is never acknowledged (KR2)."""
    violations = validate_message(data)
    if violations:
        broken = Answer(400, error_outcome(RULE_BROKEN, str(violations[0])[:500]))
        return _acknowledgement_refused(partner, data, broken, RULE_BROKEN)
    try:
        # FHIR R4 before it settles anything, as every other message is read
        # (a timestamp that is no instant broke no rule of MedCom's FSH).
        parsed = parse_message(data)
    except InvalidMessage as exc:
        unread = Answer(
            400, error_outcome(exc.code, exc.message, field=exc.field, params=exc.params)
        )
        return _acknowledgement_refused(partner, data, unread, exc.code)
    header = medcom.header_of(data) or {}
    us = acute_function()
    if us is not None:
        # MedCom: the acknowledgement comes from the receiver of the message
        # it answers and goes to its sender. One naming another sender, or
        # addressed to someone else, settles nothing.
        read = ParsedMessage(
            bundle_id=str(data.get("id") or ""),
            header_id=str(header.get("id") or ""),
            event=MedComEvent.ACKNOWLEDGEMENT,
            header=header,
            resources=[
                entry["resource"]
                for entry in data.get("entry") or []
                if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
            ],
            entries=BundleEntries.of_bundle(data),
        )
        addressing = medcom.addressing_issue(partner, us, read)
        if addressing is not None:
            forbidden = addressing.code == "security"
            misaddressed = Answer(
                403 if forbidden else 400,
                # Its text is already in the answer's language (addressing_issue).
                operation_outcome(
                    kind="forbidden" if forbidden else "invalid",
                    code=ADDRESSING_REFUSED,
                    message=f"{addressing.details}: {addressing.text}",
                ),
            )
            return _acknowledgement_refused(partner, data, misaddressed, ADDRESSING_REFUSED)
    return _acknowledgement_settles(partner, parsed, data)


def _transient(header_id: str, code: str, text: str) -> Answer:
    ack = acknowledgement_bundle(
        answering=header_id or "unknown",
        code=AckCode.TRANSIENT,
        outcome=error_outcome(code, text, kind="unavailable"),
        sender=None,
    )
    return Answer(503, ack)
