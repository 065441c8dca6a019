"""Log filters: scrub anything shaped like a CPR number, tag the request id."""

from __future__ import annotations

import logging
import re

from core.context import current_context

# Ten digits, optionally DDMMYY-SSSS, not part of a longer number.
_CPR_LIKE = re.compile(r"(?<!\d)(\d{6})-?(\d{4})(?!\d)")


def scrub(text: str) -> str:
    return _CPR_LIKE.sub("[cpr]", text)


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


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_context().request_id
        return True
