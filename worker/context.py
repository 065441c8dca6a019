"""Each task runs in a request context of its own.

A task sent while a request is being served carries that request's id in
its message, and runs under it: the audit entries and log lines of the work
a nurse's request set going (a hand-off delivered, a deadline re-planned)
are found by the id her request was answered with. A task sent from
elsewhere (the beat scheduler, a command) runs under one new background id
(``bg-…``), the same for all it records. A task run eagerly inside a request
keeps that request's context.
"""

from __future__ import annotations

import contextvars
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun

from core.context import (
    RequestContext,
    context_if_set,
    request_id_new,
    request_id_valid,
    reset_context,
    set_context,
)

# The message header that carries the sending request's id.
REQUEST_ID_HEADER = "tvaerakut_request_id"

_entered: dict[str, contextvars.Token[RequestContext | None]] = {}


@before_task_publish.connect(dispatch_uid="tvaerakut-context-publish")
def _carry_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    ctx = context_if_set()
    if headers is not None and ctx is not None:
        headers[REQUEST_ID_HEADER] = ctx.request_id


@task_prerun.connect(dispatch_uid="tvaerakut-context-prerun")
def _enter(task_id: str = "", task: Any = None, **_: Any) -> None:
    if context_if_set() is not None:
        return  # run eagerly, inside the request that sent it
    sent_by = task.request.get(REQUEST_ID_HEADER) if task is not None else None
    request_id = sent_by if request_id_valid(sent_by) else request_id_new("bg-")
    _entered[task_id] = set_context(RequestContext(request_id=request_id))


@task_postrun.connect(dispatch_uid="tvaerakut-context-postrun")
def _leave(task_id: str = "", **_: Any) -> None:
    token = _entered.pop(task_id, None)
    if token is not None:
        reset_context(token)
