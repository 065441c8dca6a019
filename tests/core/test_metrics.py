"""/metrics: what an operator scrapes, and who may scrape it."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import socket
import urllib.request
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import timezone

from acute.models import DeadlineWarning, Referral
from core import metrics
from integrations.models import OutboundMessage
from tests import factories as f
from tests.conftest import start_worker, stop_worker, wait_for
from worker.celery import app

TOKEN = "m" * 40


def _value(text: str, name: str, **labels: str) -> float | None:
    """The sample ``name{labels}`` in an exposition, or None."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()) and (
            line.startswith(name + " ") or "{" in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.mark.django_db
def test_requests_are_counted_by_route_never_by_path(client) -> None:
    cpr = "0101411234"
    client.get("/healthz")
    client.get(f"/fhir/Patient/{cpr}")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert _value(text, "tvaerakut_http_requests_total", route="healthz", method="GET") >= 1
    assert _value(text, "tvaerakut_http_request_duration_seconds_count", route="healthz") >= 1
    assert cpr not in text
    labels = " ".join(re.findall(r'\w+="([^"]*)"', text))
    assert "0101411234" not in labels and "Patient/0" not in labels


@pytest.mark.django_db
def test_the_start_page_is_counted_as_its_route_not_as_unmatched(client) -> None:
    """The start page's pattern is empty; it was counted with the paths that
    matched nothing, so its traffic looked like 404s to the operator."""
    client.get("/")
    client.get("/no-such-page-at-all")
    text = client.get("/metrics").content.decode()
    assert _value(text, "tvaerakut_http_requests_total", route="/", method="GET") >= 1
    assert _value(text, "tvaerakut_http_requests_total", route="unmatched", status="302") is None
    assert _value(text, "tvaerakut_http_requests_total", route="unmatched", status="404") >= 1


@pytest.mark.django_db
def test_outbox_deadline_and_audit_figures_are_read_from_the_tables(client) -> None:
    coordinator = f.staff("coordinator", f.acute_function())
    referral = f.acute_referral(by=coordinator)
    DeadlineWarning.objects.create(referral=referral, kind=DeadlineWarning.Kind.AT_RISK)
    DeadlineWarning.objects.create(
        referral=referral,
        kind=DeadlineWarning.Kind.OVERDUE,
        acknowledged_at=timezone.now(),
        acknowledged_by=coordinator.user,
    )
    partner = f.integration_partner("gp", f.gp_practice())
    OutboundMessage.objects.create(
        partner=partner,
        event="home-care-observation",
        bundle={},
        created_at=timezone.now() - dt.timedelta(minutes=10),
    )
    OutboundMessage.objects.create(
        partner=partner, event="home-care-observation", bundle={}, status="failed"
    )
    text = client.get("/metrics").content.decode()
    assert _value(text, "tvaerakut_deadline_warnings_total", kind="at_risk") == 1
    assert _value(text, "tvaerakut_deadline_warnings_total", kind="overdue") == 1
    assert _value(text, "tvaerakut_deadline_warnings_unacknowledged", kind="overdue") == 0
    assert _value(text, "tvaerakut_deadline_warnings_unacknowledged", kind="at_risk") == 1
    assert _value(text, "tvaerakut_outbox_messages", state="pending") == 1
    assert _value(text, "tvaerakut_outbox_messages", state="failed") == 1
    age = _value(text, "tvaerakut_outbox_oldest_unacknowledged_age_seconds")
    assert age is not None and 590 < age < 900
    # Creating the referral wrote audit entries: the counter is the chain's length.
    assert _value(text, "tvaerakut_audit_entries_appended_total") >= 1
    assert _value(text, "tvaerakut_metrics_source_up", source="outbox") == 1


@pytest.mark.django_db
def test_a_source_that_fails_is_reported_and_the_others_still_served(client, monkeypatch) -> None:
    def broken():
        raise RuntimeError("source down")

    monkeypatch.setitem(metrics._collectors, "broken", broken)
    text = client.get("/metrics").content.decode()
    assert _value(text, "tvaerakut_metrics_source_up", source="broken") == 0
    assert _value(text, "tvaerakut_metrics_source_up", source="deadlines") == 1


@pytest.mark.django_db
def test_a_request_relayed_by_a_proxy_is_not_the_operators_network(client) -> None:
    """A TLS proxy on the same machine connects from loopback: everyone on the
    internet it relayed for was let in as the operator's network."""
    assert client.get("/metrics").status_code == 200
    for header in ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP"):
        refused = client.get("/metrics", **{header: "203.0.113.7"})
        assert refused.status_code == 403, header
        assert refused.json()["error"]["code"] == "metrics.forbidden"
    with override_settings(METRICS_TOKEN=TOKEN):
        relayed = client.get(
            "/metrics", HTTP_X_FORWARDED_FOR="203.0.113.7", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
        )
        assert relayed.status_code == 200


@pytest.mark.django_db
def test_only_the_operators_network_or_the_metrics_token_may_scrape(client) -> None:
    outside = {"REMOTE_ADDR": "203.0.113.7"}
    refused = client.get("/metrics", **outside)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "metrics.forbidden"
    with override_settings(METRICS_TOKEN=TOKEN):
        assert (
            client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **outside).status_code
            == 200
        )
        wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer " + "x" * 40, **outside)
        assert wrong.status_code == 403
        # A wrong token is refused even from the operator's own network.
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 403
    assert client.post("/metrics").status_code == 405
    # A logged-in member of staff is no operator.
    nurse = f.staff("acute_nurse", f.acute_function())
    client.force_login(nurse.user)
    assert client.get("/metrics", **outside).status_code == 403


def test_log_lines_are_json_with_the_request_id_and_no_cpr(capsys) -> None:
    from django.conf import settings

    assert settings.LOG_FORMAT == "json"
    handler = logging.getLogger().handlers[0]
    record = logging.LogRecord(
        "tvaerakut.test", logging.WARNING, __file__, 1, "looked up %s", ("010141-1234",), None
    )
    record.request_id = "req-42"
    line = json.loads(handler.format(record))
    assert line["message"] == "looked up [cpr]"
    assert (line["level"], line["logger"], line["request_id"]) == (
        "WARNING",
        "tvaerakut.test",
        "req-42",
    )
    assert line["time"].endswith("+00:00")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_task_latency_per_queue_is_counted_by_a_real_worker(tmp_path: Path, monkeypatch) -> None:
    """The worker observes each task's wait and run time; under ``make run``
    the web server's /metrics reads the same directory."""
    shared = tmp_path / "metrics"
    shared.mkdir()
    port = _free_port()
    worker = start_worker(
        tmp_path,
        "metrics",
        queues="probe-metrics",
        PROMETHEUS_MULTIPROC_DIR=str(shared),
        WORKER_METRICS_PORT=str(port),
    )
    try:
        marker = tmp_path / "ran"
        marker.mkdir()
        app.send_task("tests.probe_sleep", args=[str(marker), 0.2], queue="probe-metrics")
        assert wait_for(lambda: (marker / "finished").exists(), timeout=20)

        def scraped() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                return r.read().decode()

        assert wait_for(
            lambda: _value(scraped(), "tvaerakut_tasks_total", queue="probe-metrics") == 1,
            timeout=10,
        )
        text = scraped()
        assert _value(text, "tvaerakut_task_queue_wait_seconds_count", queue="probe-metrics") == 1
        run = _value(text, "tvaerakut_task_duration_seconds_sum", queue="probe-metrics")
        assert run is not None and run >= 0.2
    finally:
        stop_worker(worker)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
    web = metrics.exposition().decode()
    assert _value(web, "tvaerakut_tasks_total", queue="probe-metrics", state="SUCCESS") == 1


@pytest.mark.django_db
def test_r10_a_warning_whose_referral_is_settled_is_no_longer_counted_as_waiting(client) -> None:
    """The gauge counts what the boards show: an at-risk warning left
    unacknowledged once a nurse is at the door is not waiting for anyone."""
    coordinator = f.staff("coordinator", f.acute_function())
    referral = f.acute_referral(by=coordinator)
    DeadlineWarning.objects.create(referral=referral, kind=DeadlineWarning.Kind.AT_RISK)
    text = client.get("/metrics").content.decode()
    assert _value(text, "tvaerakut_deadline_warnings_unacknowledged", kind="at_risk") == 1
    Referral.objects.filter(pk=referral.pk).update(reached_at=timezone.now())
    text = client.get("/metrics").content.decode()
    assert _value(text, "tvaerakut_deadline_warnings_unacknowledged", kind="at_risk") == 0
    assert _value(text, "tvaerakut_deadline_warnings_total", kind="at_risk") == 1
