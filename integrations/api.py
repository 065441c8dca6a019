"""Endpoints: the partners' ``/fhir/$process-message``, the coordinator's
view of undelivered and failed hand-offs, with re-send, and of the messages
from partners the platform refused, and CareCommunication threads: one
thread, a reply in it, and the partners' messages about citizens without
an open referral, marked handled (decision 0031)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from consent.audit.services import Action, Purpose, audit_record, audit_record_many
from core.actors import Actor
from core.api import actor_of, valid
from core.created import Creates
from core.errors import InvalidInput, NotFoundOrNotAllowed
from core.fhir.views import FHIRView
from core.models import Role
from core.permissions import roles
from core.refusals import Concerns
from core.times import api_instant
from integrations.auth import SignedByPartner
from integrations.care_threads.reply import care_thread_reply
from integrations.care_threads.selectors import care_thread_access
from integrations.care_threads.unmatched import (
    Unmatched,
    care_thread_handled,
    care_threads_unmatched,
)
from integrations.inbound import message_receive
from integrations.inbox import inbox_refusal_note
from integrations.models import (
    CareMessage,
    CareThread,
    DeliveryAttempt,
    InboundMessage,
    OutboundMessage,
)
from integrations.outbox import outbox_mark_handled, outbox_resend
from integrations.selectors import (
    inbox_refusal,
    inbox_refusals,
    outbox_attempts,
    outbox_message,
    outbox_problems,
)

BOARD_LIMIT = 200


class ProcessMessageView(FHIRView):
    """POST a message Bundle; the answer is its Acknowledgement."""

    authentication_classes: list[Any] = []
    permission_classes = [SignedByPartner]

    def post(self, request: Request) -> Response:
        answer = message_receive(partner=request.partner, raw=request._request.body)  # type: ignore[attr-defined]
        headers = {"X-Duplicate-Of-Earlier-Message": "true"} if answer.duplicate else None
        return self.fhir_response(answer.body, status=answer.status, headers=headers)


def _message_row(message: OutboundMessage) -> dict[str, Any]:
    return {
        "id": message.pk,
        "message_id": str(message.message_id),
        "partner": message.partner.code,
        "partner_kind": message.partner.kind,
        "event": message.event,
        # What the message is and why it needs a person, in her language.
        "event_text": message.event_display(),
        "citizen_id": message.citizen_id,
        "status": message.status,
        "attempts": message.attempts,
        "resends": message.resends,
        "reason_code": message.last_error_code,
        "reason": message.last_error,
        "reason_text": message.reason_display(),
        "created_at": api_instant(message.created_at),
        "next_attempt_at": api_instant(message.next_attempt_at),
        "failed_at": api_instant(message.failed_at),
        "resent_by": message.resent_by.user.username if message.resent_by else None,
        "handled_at": api_instant(message.handled_at),
        "handled_by": message.handled_by.user.username if message.handled_by else None,
    }


def _attempt_row(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "started_at": api_instant(attempt.started_at),
        "finished_at": api_instant(attempt.finished_at),
        "outcome": attempt.outcome,
        "http_status": attempt.http_status,
        "error_code": attempt.error_code,
        "detail": attempt.detail,
        "retry_in_seconds": attempt.retry_in_seconds,
    }


# --- the shapes for the OpenAPI description (core/openapi.py) -----------------------


class OutboxMessageOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    message_id = serializers.UUIDField()
    partner = serializers.CharField()
    partner_kind = serializers.CharField()
    event = serializers.CharField()
    event_text = serializers.CharField()
    citizen_id = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=OutboundMessage.Status.choices)
    attempts = serializers.IntegerField()
    resends = serializers.IntegerField()
    reason_code = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    reason_text = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    next_attempt_at = serializers.DateTimeField()
    failed_at = serializers.DateTimeField(allow_null=True)
    resent_by = serializers.CharField(allow_null=True)
    handled_at = serializers.DateTimeField(allow_null=True)
    handled_by = serializers.CharField(allow_null=True)


class DeliveryAttemptOut(serializers.Serializer[Any]):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.ChoiceField(choices=DeliveryAttempt.Outcome.choices)
    http_status = serializers.IntegerField(allow_null=True)
    error_code = serializers.CharField(allow_blank=True)
    detail = serializers.CharField(allow_blank=True)
    retry_in_seconds = serializers.FloatField(allow_null=True)


class OutboxMessageWithAttemptsOut(OutboxMessageOut):
    attempts = DeliveryAttemptOut(many=True)  # type: ignore[assignment]


class OutboxBoardView(APIView):
    """``GET /api/integrations/outbox?status=failed``: what needs a person."""

    permission_classes = [roles(Role.COORDINATOR)]
    # Another role refused here is recorded (R9): the board names citizens.
    concerns = Concerns("Bundle", purpose="operations", action="search")

    @extend_schema(
        operation_id="integrations_outbox_board",
        parameters=[
            OpenApiParameter("status", str, required=False, enum=OutboundMessage.Status.values)
        ],
        responses={
            200: inline_serializer(
                "OutboxBoard",
                {"results": OutboxMessageOut(many=True), "limit": serializers.IntegerField()},
            )
        },
    )
    def get(self, request: Request) -> Response:
        status = request.query_params.get("status") or None
        if status is not None and status not in OutboundMessage.Status.values:
            raise InvalidInput(
                "outbox.status_invalid",
                f"status must be one of {', '.join(OutboundMessage.Status.values)}.",
                field="status",
                params={"values": ", ".join(OutboundMessage.Status.values)},
            )
        messages = list(outbox_problems(status=status)[:BOARD_LIMIT])
        # The board names the citizen each hand-off is about: a read of their data (R9).
        audit_record_many(
            actor=actor_of(request),
            action=Action.SEARCH,
            purpose=Purpose.OPERATIONS,
            citizen_ids=[m.citizen_id for m in messages if m.citizen_id],
            resource_type="Bundle",
        )
        rows = [_message_row(m) for m in messages]
        return Response({"results": rows, "limit": BOARD_LIMIT})


def _message_for(request: Request, pk: int) -> tuple[Actor, OutboundMessage]:
    """The coordinator and the message ``pk``; an unknown message is not found."""
    actor = actor_of(request)
    message = outbox_message(pk=pk)
    if message is None:
        raise NotFoundOrNotAllowed()
    return actor, message


def _audit_message(actor: Actor, message: OutboundMessage, action: str, reason: str = "") -> None:
    """A coordinator's look at, or action on, a hand-off about a citizen (R9)."""
    if message.citizen_id:
        audit_record(
            actor=actor,
            action=action,
            purpose=Purpose.OPERATIONS,
            citizen_id=message.citizen_id,
            resource_type="Bundle",
            resource_id=str(message.bundle_id),
            reason_code=reason,
        )


class OutboxMessageView(APIView):
    """``GET /api/integrations/outbox/<id>``: one message with every attempt."""

    permission_classes = [roles(Role.COORDINATOR)]
    concerns = Concerns("Bundle", OutboundMessage, path="pk")

    @extend_schema(
        operation_id="integrations_outbox_read", responses={200: OutboxMessageWithAttemptsOut}
    )
    def get(self, request: Request, pk: int) -> Response:
        actor, message = _message_for(request, pk)
        _audit_message(actor, message, Action.READ)
        attempts = [_attempt_row(a) for a in outbox_attempts(message=message)]
        return Response({**_message_row(message), "attempts": attempts})


class OutboxResendView(APIView):
    """``POST /api/integrations/outbox/<id>/resend``: a person sends a failed message again."""

    permission_classes = [roles(Role.COORDINATOR)]
    concerns = Concerns("Bundle", OutboundMessage, path="pk")

    @extend_schema(
        operation_id="integrations_outbox_resend",
        request=None,
        responses={
            202: inline_serializer(
                "OutboxResent",
                {
                    "id": serializers.IntegerField(),
                    "status": serializers.ChoiceField(choices=OutboundMessage.Status.choices),
                },
            )
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        actor, message = _message_for(request, pk)
        # The re-send and its audit entry commit together (R9).
        message = outbox_resend(message=message, by=actor)
        return Response({"id": message.pk, "status": message.status}, status=202)


class OutboxHandledView(APIView):
    """``POST /api/integrations/outbox/<id>/handled``: the coordinator has
    dealt with a failed or withheld message another way (she phoned the
    recipient); it leaves the board, kept for the record. A second mark is
    409, the first stands."""

    permission_classes = [roles(Role.COORDINATOR)]
    concerns = Concerns("Bundle", OutboundMessage, path="pk")

    @extend_schema(
        operation_id="integrations_outbox_handled",
        request=None,
        responses={200: OutboxMessageOut},
    )
    def post(self, request: Request, pk: int) -> Response:
        actor, message = _message_for(request, pk)
        message = outbox_mark_handled(message=message, by=actor)
        return Response(_message_row(message))


def _refusal_row(message: InboundMessage) -> dict[str, Any]:
    """A refused message as the board lists it: from whom, what, when and
    why, never the citizen or the message's data."""
    return {
        "id": message.pk,
        "partner": message.partner.code,
        "partner_name": message.partner.organisation.name,
        "event": message.event,
        "event_text": message.event_display(),
        "reason_code": message.reason_code,
        "reason_text": message.reason_display(),
        "received_at": api_instant(message.received_at),
        "noted_at": api_instant(message.noted_at),
    }


class InboxRefusalOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    partner = serializers.CharField()
    partner_name = serializers.CharField()
    event = serializers.CharField()
    event_text = serializers.CharField()
    reason_code = serializers.CharField()
    reason_text = serializers.CharField()
    received_at = serializers.DateTimeField()
    noted_at = serializers.DateTimeField(allow_null=True)


class InboxRefusalsView(APIView):
    """``GET /api/integrations/inbox/refused``: messages from partners the
    platform refused that no coordinator has seen yet, oldest first."""

    permission_classes = [roles(Role.COORDINATOR)]

    @extend_schema(
        operation_id="integrations_inbox_refused",
        responses={
            200: inline_serializer(
                "InboxRefusals",
                {"results": InboxRefusalOut(many=True), "limit": serializers.IntegerField()},
            )
        },
    )
    def get(self, request: Request) -> Response:
        rows = [_refusal_row(m) for m in inbox_refusals()[:BOARD_LIMIT]]
        return Response({"results": rows, "limit": BOARD_LIMIT})


class InboxRefusalNoteView(APIView):
    """``POST /api/integrations/inbox/refused/<id>/noted``: the coordinator has
    seen a refused message (and phoned its sender where it mattered); it
    leaves the board. A second mark is 409, the first stands."""

    permission_classes = [roles(Role.COORDINATOR)]
    concerns = Concerns("Bundle", InboundMessage, path="pk")

    @extend_schema(
        operation_id="integrations_inbox_refused_noted",
        request=None,
        responses={200: InboxRefusalOut},
    )
    def post(self, request: Request, pk: int) -> Response:
        message = inbox_refusal(pk=pk)
        if message is None:
            raise NotFoundOrNotAllowed()
        return Response(_refusal_row(inbox_refusal_note(message=message, actor=actor_of(request))))


# --- CareCommunication threads (decision 0031) ----------------------------------------


def _segment_row(segment: CareMessage) -> dict[str, Any]:
    outbound = segment.outbound
    return {
        "id": segment.pk,
        "direction": segment.direction,
        "activity": segment.activity,
        "text": segment.text,
        "author": segment.author,
        "author_contact": segment.author_contact,
        "written_at": api_instant(segment.written_at),
        "status": outbound.status if outbound is not None else None,
    }


def _thread_head(thread: CareThread) -> dict[str, Any]:
    return {
        "id": thread.pk,
        "partner": thread.partner.code,
        "partner_name": thread.partner.organisation.name,
        "citizen_id": thread.citizen_id,
        "referral_id": thread.referral_id,
        "category": thread.category,
        "topic": thread.topic,
        "started_at": api_instant(thread.started_at),
        "handled_at": api_instant(thread.handled_at),
        "handled_by": thread.handled_by.user.username if thread.handled_by else None,
    }


def _unmatched_row(row: Unmatched) -> dict[str, Any]:
    """A thread on the list: its citizen named, or, refused (R4), from whom and when only."""
    thread = row.thread
    head = {
        "id": thread.pk,
        "partner": thread.partner.code,
        "partner_name": thread.partner.organisation.name,
        "received_at": api_instant(row.received_at),
        "citizen_refused": row.refused,
    }
    if row.refused:
        return {**head, "citizen": None, "topic": None}
    return {
        **head,
        "citizen": {
            "id": thread.citizen_id,
            "name": f"{thread.citizen.given_name} {thread.citizen.family_name}",
        },
        "topic": thread.topic,
    }


class CitizenNameOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class UnmatchedThreadOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    partner = serializers.CharField()
    partner_name = serializers.CharField()
    received_at = serializers.DateTimeField(help_text="When the partner's latest message came.")
    citizen_refused = serializers.BooleanField(
        help_text="The citizen's refusal covers the reader (R4): neither she nor the topic is"
        " named, and the thread is not opened; phone the partner."
    )
    citizen = CitizenNameOut(allow_null=True)
    topic = serializers.CharField(allow_null=True, allow_blank=True)


class CareSegmentOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    direction = serializers.ChoiceField(choices=CareMessage.Direction.choices)
    activity = serializers.CharField(allow_blank=True)
    text = serializers.CharField()
    author = serializers.CharField(allow_blank=True)
    author_contact = serializers.CharField(allow_blank=True)
    written_at = serializers.DateTimeField()
    status = serializers.ChoiceField(
        choices=OutboundMessage.Status.choices,
        allow_null=True,
        help_text="A reply's delivery (withheld: the citizen refused disclosure to the partner).",
    )


class CareThreadOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    partner = serializers.CharField()
    partner_name = serializers.CharField()
    citizen_id = serializers.IntegerField()
    referral_id = serializers.IntegerField(allow_null=True)
    category = serializers.CharField()
    topic = serializers.CharField(allow_blank=True)
    started_at = serializers.DateTimeField()
    handled_at = serializers.DateTimeField(allow_null=True)
    handled_by = serializers.CharField(allow_null=True)


class CareThreadWithSegmentsOut(CareThreadOut):
    segments = CareSegmentOut(many=True)


class CareReplyIn(serializers.Serializer[Any]):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False)


class CareThreadsUnmatchedView(APIView):
    """``GET /api/integrations/care-threads/unmatched``: partners' messages
    about citizens without an open referral that await an answer, oldest
    first, as the board lists them; each citizen named is a read (R9)."""

    permission_classes = [roles(Role.COORDINATOR)]
    # Another role refused here is recorded (R9), as the board's reads are.
    concerns = Concerns("Communication", action="search")

    @extend_schema(
        operation_id="integrations_care_threads_unmatched",
        responses={
            200: inline_serializer(
                "CareThreadsUnmatched",
                {
                    "results": UnmatchedThreadOut(many=True),
                    "limit": serializers.IntegerField(),
                },
            )
        },
    )
    def get(self, request: Request) -> Response:
        rows = care_threads_unmatched(actor=actor_of(request), limit=BOARD_LIMIT)
        return Response({"results": [_unmatched_row(r) for r in rows], "limit": BOARD_LIMIT})


def _thread_out(thread: CareThread) -> dict[str, Any]:
    segments = thread.messages.select_related("outbound").order_by("written_at", "pk")
    return {**_thread_head(thread), "segments": [_segment_row(s) for s in segments]}


class CareThreadView(APIView):
    """``GET /api/integrations/care-threads/<id>``: one thread with its
    messages, to a nurse or coordinator the gate lets at its citizen, or to a
    coordinator when no open referral shows it (decision 0031)."""

    permission_classes = [roles(Role.ACUTE_NURSE, Role.COORDINATOR)]
    concerns = Concerns("Communication", CareThread, path="pk")

    @extend_schema(
        operation_id="integrations_care_threads_read", responses={200: CareThreadWithSegmentsOut}
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(_thread_out(care_thread_access(actor=actor_of(request), thread_id=pk)))


class CareThreadReplyView(APIView):
    """``POST /api/integrations/care-threads/<id>/reply`` with ``{"text"}``:
    the reply in the thread, a MedCom CareCommunication to its partner, as on
    the pages. Withheld on the citizen's refusal (R4), kept and said so."""

    permission_classes = [roles(Role.ACUTE_NURSE, Role.COORDINATOR)]
    concerns = Concerns("Communication", CareThread, path="pk")
    creates = Creates(None)

    @extend_schema(
        operation_id="integrations_care_threads_reply",
        request=CareReplyIn,
        responses={201: CareSegmentOut},
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = actor_of(request)
        text = valid(CareReplyIn, request.data)["text"]
        segment = care_thread_reply(thread_id=pk, text=text, actor=actor)
        return Response(_segment_row(segment), status=201)


class CareThreadHandledView(APIView):
    """``POST /api/integrations/care-threads/<id>/handled``: the coordinator
    has dealt with a partner's message without an open referral another way
    (she phoned); it leaves the list until the partner writes again. A
    second mark is 409, the first stands."""

    permission_classes = [roles(Role.COORDINATOR)]
    concerns = Concerns("Communication", CareThread, path="pk")

    @extend_schema(
        operation_id="integrations_care_threads_handled",
        request=None,
        responses={200: CareThreadOut},
    )
    def post(self, request: Request, pk: int) -> Response:
        return Response(_thread_head(care_thread_handled(actor=actor_of(request), thread_id=pk)))
