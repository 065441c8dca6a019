"""The nurse's or coordinator's reply in a CareCommunication thread.

The reply is a MedCom CareCommunication to the thread's partner: the
thread's episode identifier (``Communication.identifier``), activity
``reply-message``, and a Provenance pointing to the message it answers (the
thread's latest, as a ``revision`` entity) beside the new segment (``source``).
Written with the outbox row in one transaction; a reply that would break
MedCom's rules is parked for a person like every hand-off, never sent.

The gate is asked in that transaction, after the citizen's row is locked
(``core.locks``, decision 0038): ending her episode, which ends the care
relationship the reply is allowed by (R1), takes the same lock first, so a
reply is checked and written before the episode ends or is refused after it
— never checked just before and sent just after.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.audit.services import Action, Outcome, Purpose, audit_record
from consent.fhir import RecordRefused, judge_free_text
from core.actors import Actor
from core.errors import InvalidInput, NotFoundOrNotAllowed, PlatformError, PreconditionFailed
from core.locks import citizen_lock
from core.validation import required_text
from integrations.care_threads.build import NEVER_REACHED, Reply
from integrations.care_threads.selectors import care_thread_access
from integrations.messages import Event
from integrations.models import CareMessage, CareThread
from integrations.outbound import message_send

MAX_REPLY = 4000


def care_thread_reply(*, thread_id: int, text: str, actor: Actor) -> CareMessage:
    """Answer the latest message of the thread, if the gate lets the actor
    at its citizen (``care_thread_access``, asked under her row's lock: see
    above); the reply is audited as a disclosure to the partner and goes
    through the outbox. A reply refused is audited as refused, with its
    reason (R9): the gate's entry alone would read as a reply written.
    Refusals are recorded in the transaction, which then commits what it
    recorded (the reply's own writes are rolled back to before them), and
    raised after it."""
    refused: PlatformError
    with transaction.atomic():
        citizen_id = (
            CareThread.objects.filter(pk=thread_id).values_list("citizen_id", flat=True).first()
        )
        if citizen_id is not None:
            citizen_lock(citizen_id)
        try:
            thread = care_thread_access(actor=actor, thread_id=thread_id, action=Action.CREATE)
        except NotFoundOrNotAllowed as exc:
            refused = exc  # the gate recorded the denied attempt
        else:
            try:
                return _reply(thread=thread, text=text, actor=actor)
            except RecordRefused as exc:
                refused = exc  # audited with the rule it broke
            except PlatformError as exc:
                _reply_audit(
                    thread, actor, Outcome.DENIED, exc.code, {"partner": thread.partner.code}
                )
                refused = exc
    raise refused


def _reply(*, thread: CareThread, text: str, actor: Actor) -> CareMessage:
    text = required_text(
        text, code="care_thread.reply_empty", field="text", message=_("Write the reply.")
    )
    if len(text) > MAX_REPLY:
        raise InvalidInput(
            "care_thread.reply_too_long",
            _("The reply may be at most 4000 characters."),
            field="text",
        )
    try:
        # R2: the reply is disclosed to the partner word for word.
        judge_free_text(text, element="text")
    except RecordRefused as exc:
        _reply_audit(
            thread,
            actor,
            Outcome.DENIED,
            exc.code,
            {"partner": thread.partner.code, "rule": exc.rule},
        )
        raise
    with transaction.atomic():
        locked = CareThread.objects.select_for_update().get(pk=thread.pk)
        # The latest message the partner has: one of ours that never reached
        # it would be answered as a message it never received.
        latest = locked.messages.exclude(NEVER_REACHED).order_by("-written_at", "-pk").first()
        if latest is None:
            raise PreconditionFailed(
                "care_thread.nothing_to_answer", _("The thread has no message to answer.")
            )
        segment = CareMessage(
            thread=locked,
            identifier=f"urn:uuid:{uuid.uuid4()}",
            header_id="",
            direction=CareMessage.Direction.OUT,
            activity="reply-message",
            text=text,
            author=(actor.user.get_full_name() or actor.user.username) if actor.user else "",
            written_at=timezone.now(),
            written_by=actor.membership,
        )
        segment.save()
        outbound = message_send(
            partner=locked.partner,
            event=Event.CARE_COMMUNICATION_REPLY,
            about=Reply(segment=segment, answers=latest.header_id),
            by=actor,
        )
        if outbound is None:
            raise PreconditionFailed(
                "care_thread.no_sender", _("The platform has no sending organisation.")
            )
        segment.outbound = outbound
        segment.header_id = str(outbound.message_id)
        segment.full_clean(exclude=["thread", "written_by", "outbound"])
        segment.save(update_fields=["outbound", "header_id"])
        _reply_audit(
            locked,
            actor,
            Outcome.PERMITTED,
            Event.CARE_COMMUNICATION_REPLY,
            {"partner": locked.partner.code, "segment": segment.pk},
        )
    return segment


def _reply_audit(
    thread: CareThread, actor: Actor, outcome: str, reason: str, detail: dict[str, object]
) -> None:
    """A reply written (a disclosure to the partner) or refused, on the
    citizen's log."""
    audit_record(
        actor=actor,
        action=Action.CREATE,
        purpose=Purpose.TREATMENT,
        citizen_id=thread.citizen_id,
        outcome=outcome,
        resource_type="Communication",
        resource_id=f"care-thread-{thread.pk}",
        reason_code=reason,
        detail=detail,
    )
