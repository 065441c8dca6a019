"""The signed HTTP transport: HMAC-SHA256 signatures over timestamp and body.

Every message travels as an HTTP POST of FHIR JSON, with three headers:

- ``X-Tvaerakut-Sender``: the sending partner's code (ours is ``tvaerakut``);
- ``X-Tvaerakut-Timestamp``: seconds since the epoch, UTC;
- ``X-Tvaerakut-Signature``: ``v1=`` + hex HMAC-SHA256 with the partner's
  shared secret over ``<timestamp>.`` followed by the raw body.

A receiver refuses unknown senders, bad signatures and timestamps outside the
allowed skew (replays). Secrets never appear in logs or error messages.
Production endpoints are HTTPS; the tests and the demo use http://127.0.0.1.

:data:`SIGNED_HTTP` is this transport as partner adapters declare it
(:class:`integrations.adapters.Transport`): the answer's acknowledgement, else
its HTTP status, decides how a delivery attempt ended.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import threading
import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from core.validation import is_digits
from integrations.adapters import DeliveryAnswer, ReplyAcknowledgement, Transport
from integrations.messages import AckCode, acknowledgement_detail
from integrations.models import PARTNER_FATAL, DeliveryAttempt, OutboundMessage, Partner

SENDER_HEADER = "X-Tvaerakut-Sender"
TIMESTAMP_HEADER = "X-Tvaerakut-Timestamp"
SIGNATURE_HEADER = "X-Tvaerakut-Signature"
OUR_SENDER_CODE = "tvaerakut"
DEFAULT_SKEW_SECONDS = 300
ACK_CODES = frozenset({AckCode.OK, AckCode.TRANSIENT, AckCode.FATAL})


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + digest.hexdigest()


def signed_headers(
    *, sender: str, secret: str, body: bytes, now: float | None = None
) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    return {
        "Content-Type": "application/fhir+json",
        "Accept": "application/fhir+json",
        SENDER_HEADER: sender,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


class SignatureRefused(Exception):
    """Why a signed request is not trusted; ``code`` is stable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def signature_verify(
    *,
    secret: str,
    timestamp: str | None,
    given: str | None,
    body: bytes,
    now: float | None = None,
    skew_seconds: int = DEFAULT_SKEW_SECONDS,
) -> None:
    if not timestamp or not given:
        raise SignatureRefused("auth.signature_missing", "The request is not signed.")
    if not is_digits(timestamp):
        raise SignatureRefused("auth.timestamp_invalid", "The signature timestamp is not a number.")
    if abs((now if now is not None else time.time()) - int(timestamp)) > skew_seconds:
        raise SignatureRefused(
            "auth.timestamp_stale", "The signature timestamp is too far from the current time."
        )
    if not hmac.compare_digest(signature(secret, timestamp, body), given):
        raise SignatureRefused("auth.signature_invalid", "The signature does not match the body.")


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class TransportError(Exception):
    """The request did not get an HTTP answer (refused, reset, timed out)."""


_local = threading.local()


def _connection(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    """A kept-alive connection per thread and origin: a worker sending many
    messages to one partner does not pay a TCP handshake for each."""
    parts = urlsplit(url)
    key = (parts.scheme, parts.netloc)
    pool: dict[tuple[str, str], http.client.HTTPConnection] = getattr(_local, "pool", None) or {}
    _local.pool = pool
    conn = pool.get(key)
    if conn is None:
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.netloc, timeout=timeout)
        pool[key] = conn
    conn.timeout = timeout
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return conn, path


def _drop(url: str) -> None:
    parts = urlsplit(url)
    pool = getattr(_local, "pool", None) or {}
    conn = pool.pop((parts.scheme, parts.netloc), None)
    if conn is not None:
        conn.close()


def close_connections() -> None:
    """Close this thread's kept-alive connections: the far side then ends the
    work it keeps for them (a test's live server holds a database session per
    connection)."""
    pool = getattr(_local, "pool", None) or {}
    _local.pool = {}
    for conn in pool.values():
        conn.close()


def post_signed(*, url: str, body: bytes, sender: str, secret: str, timeout: float) -> HttpReply:
    """POST ``body`` signed; raises :class:`TransportError` when no answer came."""
    headers = signed_headers(sender=sender, secret=secret, body=body)
    for fresh in (False, True):
        conn, path = _connection(url, timeout)
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            reply = HttpReply(
                status=response.status,
                body=data,
                headers={k.lower(): v for k, v in response.getheaders()},
            )
            if response.will_close:
                _drop(url)
            return reply
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
            _drop(url)
            # A kept-alive connection the server closed meanwhile: try once on a new one.
            # Safe to repeat: the receiver de-duplicates by message id.
            if fresh:
                raise TransportError(type(exc).__name__) from None
        except (OSError, http.client.HTTPException) as exc:
            _drop(url)
            raise TransportError(type(exc).__name__) from None
    raise TransportError("unreachable")


@dataclass(frozen=True)
class _ReplyAck:
    code: str  # "" if the reply gives ``message_id`` no readable acknowledgement
    detail: str  # the partner's diagnostics
    bundle_id: str
    header_id: str


def _acknowledgement(reply: HttpReply, message_id: str) -> _ReplyAck:
    """The acknowledgement the reply gives ``message_id``: its code, the
    partner's diagnostics, and its Bundle.id and MessageHeader.id."""
    ack_code, detail, bundle_id, header_id = "", "", "", ""
    if not reply.body:
        return _ReplyAck(ack_code, detail, bundle_id, header_id)
    try:
        data = reply.json()
        header = data["entry"][0]["resource"]
        response = header.get("response") or {}
        if response.get("identifier") == message_id:
            ack_code = response.get("code", "")
            bundle_id, header_id = data.get("id"), header.get("id")
        detail = acknowledgement_detail(data, limit=300)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        ack_code = ""
    if not isinstance(ack_code, str):
        ack_code = ""
    if not (isinstance(bundle_id, str) and isinstance(header_id, str)):
        bundle_id, header_id = "", ""
    return _ReplyAck(ack_code, detail, bundle_id, header_id)


def _judge(status: int, ack_code: str, detail: str) -> DeliveryAnswer:
    """How an attempt ended, from the answer's status and acknowledgement code."""
    outcome = DeliveryAttempt.Outcome
    if ack_code == AckCode.OK and 200 <= status < 300:
        return DeliveryAnswer(outcome.ACKNOWLEDGED, status, "", "")
    if ack_code == AckCode.FATAL:
        return DeliveryAnswer(outcome.FATAL, status, PARTNER_FATAL, detail or "fatal-error")
    if ack_code == AckCode.TRANSIENT:
        return DeliveryAnswer(
            outcome.TRANSIENT, status, "partner.transient_error", detail or "transient-error"
        )
    if status == 202:
        return DeliveryAnswer(outcome.ACCEPTED, status, "", "")
    if status in (408, 425, 429) or status >= 500:
        return DeliveryAnswer(outcome.TRANSIENT, status, f"http.{status}", detail)
    if 200 <= status < 300:
        # A 2xx without a readable acknowledgement: treat as accepted, wait for the ack.
        return DeliveryAnswer(outcome.ACCEPTED, status, "", "")
    return DeliveryAnswer(outcome.FATAL, status, f"http.{status}", detail)


def _classify(reply: HttpReply, message_id: str) -> DeliveryAnswer:
    """How an attempt ended, from the partner's answer; with the
    acknowledgement it carries, which delivery remembers (and does not heed
    when it repeats one received before)."""
    ack = _acknowledgement(reply, message_id)
    answer = _judge(reply.status, ack.code, ack.detail)
    if ack.code not in ACK_CODES or not (ack.bundle_id and ack.header_id):
        # No acknowledgement, or one with a code outside FHIR's three, which
        # settled nothing (the status decided): nothing to remember.
        return answer
    return replace(
        answer,
        acknowledgement=ReplyAcknowledgement(
            bundle_id=ack.bundle_id,
            header_id=ack.header_id,
            code=ack.code,
            unheeded=_judge(reply.status, "", ack.detail),
        ),
    )


class SignedHttp(Transport):
    """A signed POST of the message Bundle to the partner's endpoint."""

    def addressed(self, partner: Partner) -> bool:
        return bool(partner.endpoint_url)

    def deliver(self, *, partner: Partner, message: OutboundMessage) -> DeliveryAnswer:
        body = json.dumps(message.bundle, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            reply = post_signed(
                url=partner.endpoint_url,
                body=body,
                sender=OUR_SENDER_CODE,
                secret=partner.secret,
                timeout=partner.request_timeout_seconds,
            )
        except TransportError as exc:
            return DeliveryAnswer(
                DeliveryAttempt.Outcome.NETWORK,
                None,
                "network.unreachable",
                f"no answer from the partner ({exc})",
            )
        return _classify(reply, str(message.message_id))


SIGNED_HTTP = SignedHttp()
