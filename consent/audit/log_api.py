"""The transparency log's endpoints under ``/api/audit/log/``.

The checkpoint and consistency proofs are public: witnesses, auditors and
the supervisory authority fetch them without an account, and they hold only
hashes. An inclusion proof names an entry, so it is for auditors, of the
entries in their scope (:mod:`consent.audit.scope`), and their asking is
recorded like any of their reads; a citizen gets the proofs of
their own entries in the insight report (R5).
"""

from __future__ import annotations

import base64
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    OpenApiTypes,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from consent.audit.api import AUDITORS, LOG_ENTRY, whole_number_param
from consent.audit.cosignatures import cosignature_accept, refusal_accept
from consent.audit.errors import ENTRY_NOT_FOUND
from consent.audit.log import (
    SMALLEST_TREE_SIZE,
    checkpoint_latest,
    checkpoint_served,
    consistency_between,
    inclusion_for_entry,
)
from consent.audit.models import Action
from consent.audit.selectors import audit_scope_of
from consent.audit.services import audit_record_auditor_view, audit_record_unknown_entry
from core.api import actor_of
from core.created import Creates
from core.errors import InvalidInput, NotFoundOrNotAllowed
from core.openapi import ErrorEnvelope
from core.permissions import Public

_B64_LIST = serializers.ListField(child=serializers.CharField())

InclusionOut = inline_serializer(
    "AuditInclusionProof",
    {
        "entry_id": serializers.IntegerField(),
        "log": serializers.CharField(),
        "leaf_index": serializers.IntegerField(),
        "tree_size": serializers.IntegerField(),
        "leaf": serializers.CharField(help_text="id, recorded_at (epoch µs), digest; base64"),
        "leaf_hash": serializers.CharField(),
        "proof": _B64_LIST,
        "checkpoint": serializers.CharField(help_text="The signed checkpoint note (C2SP)."),
    },
)
ConsistencyOut = inline_serializer(
    "AuditConsistencyProof",
    {
        "log": serializers.CharField(),
        "from": serializers.IntegerField(),
        "to": serializers.IntegerField(),
        "proof": _B64_LIST,
    },
)


def _log_param(request: Request, *, required: bool) -> str | None:
    """A log's name: printable ASCII without spaces, as origins are."""
    log = request.query_params.get("log", "")
    if not log and not required:
        return None
    if not (0 < len(log) <= 100 and all("!" <= c <= "~" for c in log)):
        raise InvalidInput("audit.param_invalid", "log must name a log.", field="log")
    return log


SIZE_DIGITS = 18


def _size(request: Request, name: str) -> int:
    return whole_number_param(request, name, digits=SIZE_DIGITS, default=None)


# A tree size as ``_size`` reads it and ``consistency_between`` takes it.
TREE_SIZE: dict[str, Any] = {
    "type": "integer",
    "minimum": SMALLEST_TREE_SIZE,
    "maximum": 10**SIZE_DIGITS - 1,
}


class CheckpointView(APIView):
    """``GET /api/audit/log/checkpoint[?log=]`` — the newest signed checkpoint,
    with the witnesses' cosignatures, as a C2SP signed note (text)."""

    permission_classes = [Public]
    authentication_classes: list[type] = []

    @extend_schema(
        operation_id="audit_log_checkpoint",
        parameters=[OpenApiParameter("log", str, required=False, description="The log's name.")],
        responses={(200, "text/plain"): OpenApiTypes.STR},
    )
    def get(self, request: Request) -> HttpResponse:
        checkpoint = checkpoint_latest(_log_param(request, required=False))
        if checkpoint is None:
            raise NotFoundOrNotAllowed("audit.log_unknown", "No checkpoint of this log yet.")
        response = HttpResponse(
            checkpoint_served(checkpoint), content_type="text/plain; charset=utf-8"
        )
        response["Cache-Control"] = "no-store"
        return response


class ConsistencyView(APIView):
    """``GET /api/audit/log/consistency?log=&from=&to=`` — the RFC 6962
    consistency proof between two sizes of a log."""

    permission_classes = [Public]
    authentication_classes: list[type] = []

    @extend_schema(
        operation_id="audit_log_consistency",
        parameters=[
            OpenApiParameter("log", str, required=True, description="The log's name."),
            OpenApiParameter(
                "from",
                TREE_SIZE,
                required=True,
                description="The older tree size: at least 1, and at most `to`.",
            ),
            OpenApiParameter(
                "to",
                TREE_SIZE,
                required=True,
                description="The newer tree size: at least `from`, and at most the log's size.",
            ),
        ],
        responses={200: ConsistencyOut},
    )
    def get(self, request: Request) -> Response:
        log = _log_param(request, required=True)
        assert log is not None
        old, new = _size(request, "from"), _size(request, "to")
        proof = consistency_between(log, old, new)
        return Response(
            {
                "log": log,
                "from": old,
                "to": new,
                "proof": [base64.b64encode(p).decode() for p in proof],
            }
        )


class InclusionView(APIView):
    """``GET /api/audit/log/entries/<id>/inclusion`` — the entry's inclusion
    proof against its log's newest checkpoint."""

    permission_classes = AUDITORS
    # Another role's asking is recorded as denied on the entry's citizen (R9),
    # as on the entry's other doors.
    concerns = LOG_ENTRY

    @extend_schema(
        operation_id="audit_log_inclusion",
        responses={
            200: InclusionOut,
            409: OpenApiResponse(
                ErrorEnvelope,
                description="Not yet placed in the log (`audit.entry_not_yet_sequenced`).",
            ),
        },
    )
    def get(self, request: Request, entry_id: int) -> Response:
        actor = actor_of(request)
        query = {"inclusion": str(entry_id)}
        # An entry outside her scope is one she cannot ask about, as on its other doors.
        if not audit_scope_of(actor=actor, action=Action.READ).holds(entry_id):
            raise audit_record_unknown_entry(actor=actor, entry_id=str(entry_id), query=query)
        try:
            proof = inclusion_for_entry(entry_id)
        except NotFoundOrNotAllowed as exc:
            if exc.code != ENTRY_NOT_FOUND:
                raise
            raise audit_record_unknown_entry(
                actor=actor, entry_id=str(entry_id), query=query
            ) from None
        audit_record_auditor_view(
            actor=actor,
            action=Action.READ,
            citizen_ids=[proof.citizen_id],
            query=query,
        )
        return Response(proof.as_dict())


CosignatureIn = inline_serializer(
    "AuditCosignatureIn",
    {
        "witness": serializers.CharField(),
        "checkpoint": serializers.CharField(help_text="The checkpoint's body (three lines)."),
        "cosignature": serializers.CharField(required=False),
        "refusal": serializers.CharField(required=False),
        "signature": serializers.CharField(required=False),
    },
)


class CosignatureView(APIView):
    """``POST /api/audit/log/cosignatures`` — a witness delivers its
    cosignature of a checkpoint, or its signed refusal of one. Open to any
    caller: what is posted is kept only when it verifies against a
    configured witness's key."""

    permission_classes = [Public]
    creates = Creates(None)
    authentication_classes: list[type] = []

    @extend_schema(
        operation_id="audit_log_cosignature_deliver",
        request=CosignatureIn,
        responses={
            201: inline_serializer("AuditCosignatureOut", {"id": serializers.IntegerField()})
        },
    )
    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        fields = {
            k: data.get(k) for k in ("witness", "checkpoint", "cosignature", "refusal", "signature")
        }
        if not isinstance(fields["witness"], str) or not isinstance(fields["checkpoint"], str):
            raise InvalidInput("audit.param_invalid", "witness and checkpoint are required.")
        if isinstance(fields["cosignature"], str):
            kept = cosignature_accept(
                witness=fields["witness"], body=fields["checkpoint"], line=fields["cosignature"]
            )
        elif isinstance(fields["refusal"], str) and isinstance(fields["signature"], str):
            kept = refusal_accept(
                witness=fields["witness"],
                body=fields["checkpoint"],
                problem=fields["refusal"],
                signature=fields["signature"],
            )
        else:
            raise InvalidInput(
                "audit.param_invalid", "Send a cosignature, or a refusal with its signature."
            )
        return Response({"id": kept.id}, status=201)
