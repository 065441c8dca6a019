"""CPR numbers never reach a log line, not even inside an exception's traceback."""

import logging

from core.logging import CprScrubFilter, scrub


def test_scrub_replaces_cpr_shaped_numbers_but_not_longer_ones() -> None:
    assert scrub("citizen 0101401234 and 010140-1234") == "citizen [cpr] and [cpr]"
    assert scrub("order 12345678901") == "order 12345678901"


def test_log_records_and_tracebacks_are_scrubbed() -> None:
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "looked up %s", ("0101401234",), None
    )
    try:
        raise ValueError("bad value 0101401234")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    CprScrubFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "0101401234" not in text
    assert "looked up [cpr]" in text and "bad value [cpr]" in text
