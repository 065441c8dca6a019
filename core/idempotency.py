"""``Idempotency-Key`` on the writes of ``/api/`` and ``/fhir/``: a request
sent again is told it was received, and nothing is done twice.

A staff system that sends a dose, a note or a referral and loses the answer
(a timeout, a dropped connection) cannot tell whether it was recorded. Sent
with an ``Idempotency-Key`` header (the IETF httpapi draft of that name), it
sends the same request again with the same key and is answered ``409
request.already_received``, with the first answer's status and location and
``Idempotent-Replayed: true``; nothing is recorded again. The tablet's own
queue does the same with its ``client_ref`` (decision 0013).

- The key is the signed-in user's (bearer token), kept for a day
  (``core.idempotency_keys_prune``). The same key with another request
  (method, path, query or body) is ``422 request.idempotency_key_reused``.
- The claim on the key is written in the request's own transaction: a
  request that ends in an error keeps no claim, and of two sent at once the
  second waits for the first and is then told it was received. A page form
  sent twice (the coordinator's phone referral) claims the reference it was
  drawn with the same way (``key_claim``).
- No answer's body is kept. A replay is not served the citizen's data a
  second time, past the gate and outside the audit log.
- ``$process-message`` has MessageHeader ids for this (MedCom's rules);
  requests without the header, or without a bearer token, pass as before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Callable

from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from core.auth import bearer_credential, hash_token, token_with_membership
from core.cpr import cpr_in_text
from core.errors import Conflict, InvalidInput
from core.exception_handler import is_fhir_path, refusal_answer
from core.models import IDEMPOTENCY_KEY_KEPT, IdempotencyKey

HEADER = "Idempotency-Key"
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
_NOT_KEYED = ("/fhir/$process-message", "/api/auth/")


def _user_id(request: HttpRequest) -> int | None:
    raw = bearer_credential(request.headers.get("Authorization", ""))
    if not raw:
        return None
    token = token_with_membership(hash_token(raw))
    if token is None or not token.is_usable(timezone.now()):
        return None  # the view refuses it (401)
    return int(token.membership.user_id)


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path(), request.content_type or ""):
        digest.update(part.encode() + b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def key_claim(user_id: int, key: str, fingerprint: str) -> tuple[IdempotencyKey, bool]:
    """Claim ``key`` for the user inside the caller's transaction: the row,
    and whether the claim is this request's. A request holding the same key
    in another transaction is waited for; a key older than a day is free."""
    claim = secrets.token_hex(16)
    IdempotencyKey.objects.filter(
        user_id=user_id, key=key, created_at__lt=timezone.now() - IDEMPOTENCY_KEY_KEPT
    ).delete()
    IdempotencyKey.objects.bulk_create(
        [IdempotencyKey(user_id=user_id, key=key, fingerprint=fingerprint, claim=claim)],
        ignore_conflicts=True,
    )
    held = IdempotencyKey.objects.get(user_id=user_id, key=key)
    return held, held.claim == claim


def key_answered(held: IdempotencyKey, status: int, location: str = "") -> None:
    """How the claiming request was answered: a success is kept against the
    key; anything else frees it, so the corrected request may use it again."""
    if 200 <= status < 400:
        held.status = status
        held.location = location[:500]
        held.save(update_fields=["status", "location"])
    else:
        held.delete()


class IdempotencyKeyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if (
            key is None
            or request.method not in _WRITES
            or not (request.path.startswith("/api/") or is_fhir_path(request.path))
            or request.path.startswith(_NOT_KEYED)
        ):
            return self.get_response(request)
        if not _KEY.fullmatch(key) or cpr_in_text(key):
            return refusal_answer(
                request,
                400,
                InvalidInput(
                    "request.idempotency_key_invalid",
                    "Idempotency-Key is 1 to 255 visible ASCII characters and holds no CPR number.",
                    field=HEADER,
                ),
            )
        user_id = _user_id(request)
        if user_id is None:
            return self.get_response(request)
        return self._once(request, user_id, key)

    def _once(self, request: HttpRequest, user_id: int, key: str) -> HttpResponse:
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            held, ours = key_claim(user_id, key, fingerprint)
            if not ours:
                return self._replayed(request, held, fingerprint)
            view = transaction.savepoint()
            response = self.get_response(request)
            try:
                transaction.savepoint_commit(view)
            except DatabaseError:
                # A statement failed outside any atomic block of the view's
                # (answered by the exception handler): what it left is undone,
                # as its own statement would have been, and the key is freed.
                transaction.savepoint_rollback(view)
            key_answered(held, response.status_code, str(response.get("Location", "")))
        return response

    @staticmethod
    def _replayed(request: HttpRequest, held: IdempotencyKey, fingerprint: str) -> HttpResponse:
        if held.fingerprint != fingerprint:
            return refusal_answer(
                request,
                422,
                InvalidInput(
                    "request.idempotency_key_reused",
                    "This Idempotency-Key came with another request;"
                    " a new request takes a new key.",
                    field=HEADER,
                ),
            )
        answered = held.created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        response = refusal_answer(
            request,
            409,
            Conflict(
                "request.already_received",
                f"This request was received at {answered} and answered {held.status}; "
                "nothing was done again.",
                field=HEADER,
                params={"received": answered, "status": held.status},
            ),
        )
        response["Idempotent-Replayed"] = "true"
        if held.location:
            response["Location"] = held.location
        return response
