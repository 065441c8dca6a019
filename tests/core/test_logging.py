"""CPR numbers never reach a log line, not even inside an exception's traceback."""

import logging

import pytest

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


CPR = "0101411234"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _listen(*names: str) -> tuple[_Collect, list[logging.Logger]]:
    collector = _Collect()
    loggers = [logging.getLogger(name) for name in names]
    for logger in loggers:
        logger.addHandler(collector)
    return collector, loggers


def test_every_logger_is_scrubbed_not_only_ours() -> None:
    collector, loggers = _listen("django.request", "django.server", "gunicorn.access", "celery")
    try:
        for logger in loggers:
            logger.warning("Not Found: /fhir/Patient/%s", CPR)
            logger.info('"GET /api/audit/entries?cpr=%s HTTP/1.1" 200', "010141-1234")
            logger.info("GET /fhir/Patient?identifier=urn%%3Aoid%%3A1.2.208.176.1.2%%7C%s", CPR)
    finally:
        for logger in loggers:
            logger.removeHandler(collector)
    assert len(collector.lines) == 12
    assert all("[cpr]" in line for line in collector.lines)
    assert not any(CPR in line or "1234" in line for line in collector.lines)


@pytest.mark.django_db
def test_a_cpr_in_a_url_never_reaches_the_request_log(client) -> None:
    collector, loggers = _listen("django.request")
    try:
        response = client.get(f"/fhir/Patient/{CPR}")
    finally:
        loggers[0].removeHandler(collector)
    # Refused at the door (docs/decisions/0002), and logged without it.
    assert response.status_code == 400
    assert CPR not in "".join(collector.lines)


@pytest.mark.django_db
def test_a_cpr_typed_into_a_choice_field_is_not_echoed_in_the_error(api_client) -> None:
    response = api_client.post(
        "/api/auth/token",
        {"username": "nurse1", "password": "demo", "role": CPR},
        format="json",
    )
    assert response.status_code == 400
    assert CPR not in response.content.decode()
    assert "[cpr]" in response.json()["error"]["message"]


def test_scrub_replaces_replacement_cprs_too() -> None:
    assert scrub("ecpr 0703921VJ4 and 120655-0vk9") == "ecpr [cpr] and [cpr]"


def test_request_ids_the_platform_makes_read_the_same_in_the_log() -> None:
    """About one UUID in sixty has a run of digits shaped like a CPR number;
    the ids the platform makes never do, so the scrubbing leaves them whole."""
    from core.context import current_context, request_id_new

    made = [request_id_new() for _ in range(2000)] + [
        current_context().request_id for _ in range(500)
    ]
    assert all(scrub(request_id) == request_id for request_id in made)
    assert len(set(made)) == len(made)


@pytest.mark.django_db
def test_a_request_id_holding_a_cpr_number_is_replaced_not_echoed(client) -> None:
    """A caller's X-Request-ID is echoed and logged as given, unless it holds
    something shaped like a CPR number: then the platform makes its own."""
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="partner-req-00042")
    assert kept["X-Request-ID"] == "partner-req-00042"
    for carrying in ("req-0101401234", "req-010140-1234-x", "0101401234ab"):
        answered = client.get("/healthz", HTTP_X_REQUEST_ID=carrying)
        assert answered["X-Request-ID"] != carrying
        assert scrub(answered["X-Request-ID"]) == answered["X-Request-ID"]


@pytest.mark.django_db
def test_django_s_line_about_a_refused_request_carries_that_request_s_id(client) -> None:
    """Django writes "Not Found: <path>" for a 4xx after the middleware has
    returned; that line carried a fresh background id, so the operator could
    not find the request it was about."""
    from core.logging import RequestIdFilter

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    keep.addFilter(RequestIdFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(keep)
    try:
        missing = client.get("/no-such-page-here", HTTP_X_REQUEST_ID="operator-req-000123")
        refused = client.get("/fhir/Patient")
    finally:
        logger.removeHandler(keep)
    assert missing.status_code == 404 and refused.status_code == 401
    ids = [getattr(record, "request_id", None) for record in records]
    assert ids == ["operator-req-000123", refused["X-Request-ID"]]
