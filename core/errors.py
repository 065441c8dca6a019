"""The platform's own errors, raised by services and turned into HTTP by one handler.

Each error has a stable, machine-readable ``code`` (``cpr.invalid``,
``consent.refused`` …) and a message written for the person at the screen.
Messages never carry a CPR number or a secret. Nothing here imports
``rest_framework``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

# The envelope's own keys; an error's ``extra`` may not replace them.
ENVELOPE_KEYS = frozenset({"kind", "code", "message", "field", "rule", "errors"})

# How much of a value a client sent a refusal quotes back, and how long a
# refusal's whole sentence may grow with what it quotes.
SHOWN_VALUE_CHARS = 100
SHOWN_MESSAGE_CHARS = 1000

# Control characters (C0, DEL, C1) and the bidirectional overrides, which
# could make a quoted value rewrite the sentence around it on a screen.
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def shown(value: str, limit: int = SHOWN_VALUE_CHARS) -> str:
    """A value a client sent, as a refusal may quote it: control characters
    written out (``\\u0007``), and at most ``limit`` characters, the middle
    left out (``…``) so that both ends still show. HTML is escaped where a
    page shows it (the templates' autoescape); JSON carries it as text."""
    text = _UNSHOWABLE.sub(_visible, value)
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head - 1
    return f"{text[:head]}…{text[-tail:] if tail > 0 else ''}"


class OwnText(str):
    """A value the platform wrote itself (the names of what an operation
    takes): quoted whole in a refusal, not shortened as a client's value is.
    The sentence around it stays bounded (:func:`shown_message`)."""

    __slots__ = ()


def shown_message(message: str) -> str:
    """A refusal's sentence, bounded as :func:`shown` bounds a value: whatever
    it quotes, it stays readable and short."""
    return shown(message, SHOWN_MESSAGE_CHARS)


class PlatformError(Exception):
    """Base of every domain error. ``kind`` decides the HTTP status at the edge.

    ``extra`` carries machine-readable facts a client acts on (the order and
    the amount that remains, say); they travel in the envelope beside ``code``.
    """

    kind = "invalid"

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        rule: str | None = None,
        extra: Mapping[str, object] | None = None,
        params: Mapping[str, object] | None = None,
    ):
        # What a client sent may be quoted in the message, the field's path or
        # the values it is filled from: each is bounded here, once for every door.
        message = shown_message(message)
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = shown(field, SHOWN_MESSAGE_CHARS // 4) if field else field
        self.rule = rule
        clash = ENVELOPE_KEYS.intersection(extra or {})
        if clash:
            raise ValueError(f"extra may not carry the envelope's own keys: {sorted(clash)}")
        self.extra = dict(extra or {})
        # Values the message was built from, for its translation (core.messages).
        self.params = {
            k: shown(v) if isinstance(v, str) and not isinstance(v, OwnText) else v
            for k, v in (params or {}).items()
        }
        # Every field refused in the same request, this one first.
        self.related: list[PlatformError] = [self]

    @classmethod
    def all_of(cls, errors: Sequence[PlatformError]) -> PlatformError:
        """The first of several refusals, carrying all of them (one per field)."""
        first = errors[0]
        first.related = list(errors)
        return first

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message, **self.extra}
        if self.field:
            body["field"] = self.field
        if self.rule:
            body["rule"] = self.rule
        if len(self.related) > 1:
            body["errors"] = [
                {"code": e.code, "message": e.message, **({"field": e.field} if e.field else {})}
                for e in self.related
            ]
        return body


class InvalidInput(PlatformError):
    kind = "invalid"


class TooLarge(PlatformError):
    """A request body larger than its door takes: refused before it is read."""

    kind = "too_large"


class UriTooLong(PlatformError):
    """A URL longer than the platform reads: refused before any view."""

    kind = "uri_too_long"


class NotFoundOrNotAllowed(PlatformError):
    """ "Not found" and "not allowed" look the same to the caller."""

    kind = "not_found"

    def __init__(
        self,
        code: str = "not_found",
        message: str = "No such resource.",
        *,
        field: str | None = None,
        rule: str | None = None,
    ):
        super().__init__(code, message, field=field, rule=rule)


class Forbidden(PlatformError):
    """The caller may know the thing exists but may not do this (a role check)."""

    kind = "forbidden"


class Conflict(PlatformError):
    kind = "conflict"


class Duplicate(Conflict):
    """What the request would create is already there (a citizen with the
    CPR number, a cabinet with the name): a conflict with an existing
    record, answered 409 on every door, ``duplicate`` on ``/fhir/``."""

    kind = "duplicate"


class PreconditionFailed(PlatformError):
    kind = "precondition_failed"


class Unauthenticated(PlatformError):
    kind = "unauthenticated"


class Throttled(PlatformError):
    kind = "throttled"

    def __init__(self, code: str, message: str, *, retry_after: int):
        super().__init__(code, message)
        self.retry_after = retry_after


class Unavailable(PlatformError):
    kind = "unavailable"


class NotSupported(PlatformError):
    """A request in a form the platform recognises and does not serve (a
    conditional create): refused, never answered as if the condition were
    unsaid."""

    kind = "not_supported"


STATUS_BY_KIND = {
    "invalid": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "duplicate": 409,
    "precondition_failed": 412,
    "too_large": 413,
    "uri_too_long": 414,
    "unprocessable": 422,
    "throttled": 429,
    "unavailable": 503,
    "not_supported": 400,
}
