"""Logging: anything shaped like a CPR number is scrubbed from every record of
every logger, in one place; each line carries the request id.

Django's own loggers (``django.request``'s "Not Found: <path>", the
development server's access log), Celery's and gunicorn's keep handlers of
their own, so a filter on our handler alone would miss them. ``configure``
(Django's ``LOGGING_CONFIG``) therefore installs a record factory that scrubs
every record as it is made, whichever logger made it and whichever handler
writes it, and a formatter that scrubs tracebacks as they are formatted.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.config
from collections.abc import Mapping
from typing import Any

from core.context import REQUEST_ID_META, context_if_set, current_context, request_id_valid
from core.cpr import CPR_IN_TEXT


def scrub(text: str) -> str:
    return CPR_IN_TEXT.sub("[cpr]", text)


class CprScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatted tracebacks carry exception messages: scrub the text once here.
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


# gunicorn's access line is written after the response has left the
# platform's middleware; its arguments hold the response's headers, the
# request id among them.
_ACCESS_LOGGER = "gunicorn.access"
_ACCESS_REQUEST_ID = "{x-request-id}o"


class RequestIdFilter(logging.Filter):
    """The request id of the request or task the line is written in; on
    gunicorn's access line, the one the response carried."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id_of(record)
        return True


def _request_id_of(record: logging.LogRecord) -> str:
    ctx = context_if_set()
    if ctx is not None:
        return ctx.request_id
    if record.name == _ACCESS_LOGGER and isinstance(record.args, Mapping):
        answered = record.args.get(_ACCESS_REQUEST_ID)
        if request_id_valid(answered):
            return answered
    # django.request's "Not Found: <path>" of a 4xx is written after the
    # middleware chain returned, with the request in the record.
    meta = getattr(getattr(record, "request", None), "META", None)
    if isinstance(meta, Mapping):
        kept = meta.get(REQUEST_ID_META)
        if request_id_valid(kept):
            return kept
    return current_context().request_id


class ScrubbingFormatter(logging.Formatter):
    """Formats as usual, then scrubs the whole line, traceback included."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: UTC time, level, logger, message, request id
    and, where there is one, the traceback; the whole line scrubbed."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or "",
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return scrub(json.dumps(line, ensure_ascii=False, default=str))


def _scrubbed(value: object) -> object:
    return scrub(value) if isinstance(value, str) else value


def _install_record_factory() -> None:
    base = logging.getLogRecordFactory()
    if getattr(base, "scrubs_cpr", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A malformed format string: keep the raw parts, scrubbed.
            record.msg = scrub(str(record.msg))
            record.args = tuple(_scrubbed(a) for a in record.args or ())
            return record
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return record

    factory.scrubs_cpr = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def configure(config: dict[str, Any]) -> None:
    """Django's ``LOGGING_CONFIG``: scrub every record, then apply ``LOGGING``."""
    _install_record_factory()
    logging.config.dictConfig(config)
