"""Per-request (or per-task) context: the request id, client address and user agent.

The audit log reads these so that no caller has to pass them down by hand.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeGuard

from core.cpr import cpr_in_text

_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

# Where RequestIdMiddleware keeps the request's id on the request itself, for
# the log lines Django writes about it after the middleware has returned.
REQUEST_ID_META = "tvaerakut.request_id"


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    client_address: str | None = None
    user_agent: str = ""


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "tvaerakut_request_context", default=None
)


def request_id_new(prefix: str = "") -> str:
    """A new request id (``prefix`` and a UUID) that holds nothing the logs
    would scrub as a CPR number, so that it reads the same in the log lines,
    the audit entries and the ``X-Request-ID`` a user reports (about one
    UUID in sixty has a run of digits shaped like one)."""
    while True:
        candidate = f"{prefix}{uuid.uuid4()}"
        if not cpr_in_text(candidate):
            return candidate


def current_context() -> RequestContext:
    """The context set for this request or task, or, outside both, a new
    background one (a new request id each time)."""
    ctx = _current.get()
    if ctx is None:
        return RequestContext(request_id=request_id_new("bg-"))
    return ctx


def context_if_set() -> RequestContext | None:
    """The context set for this request or task, if one is."""
    return _current.get()


def request_id_valid(value: object) -> TypeGuard[str]:
    """A request id fit to take from elsewhere (a caller's ``X-Request-ID``, a
    task's message, a response header): 8 to 64 letters, digits, ``.``,
    ``_`` or ``-``, and nothing shaped like a CPR number, which would reach
    the log scrubbed and the audit log whole."""
    return (
        isinstance(value, str)
        and _SAFE_REQUEST_ID.fullmatch(value) is not None
        and not cpr_in_text(value)
    )


def set_context(ctx: RequestContext) -> contextvars.Token[RequestContext | None]:
    return _current.set(ctx)


def reset_context(token: contextvars.Token[RequestContext | None]) -> None:
    _current.reset(token)


@contextmanager
def request_context(ctx: RequestContext) -> Iterator[RequestContext]:
    token = set_context(ctx)
    try:
        yield ctx
    finally:
        reset_context(token)
