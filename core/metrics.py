"""Operational metrics in Prometheus' text format at ``/metrics``.

Two kinds of figures:

- *Counted as they happen*: requests by route, method and status, with a
  latency histogram (``MetricsMiddleware``), and Celery task latency per queue
  (``worker``'s signal handlers). Under ``make run`` the web server's and the
  worker's processes share ``PROMETHEUS_MULTIPROC_DIR``, so one scrape sees
  them all; without it (tests, a single process) they live in this process.
- *Read at scrape time*: each app registers a collector for what its tables
  or the broker already know (queue depth, outbox by state and the age of the
  oldest unacknowledged message, deadline warnings raised, audit appends), the
  way health checks are registered: core never imports the apps above it.

Routes are labelled by their URL pattern, never by the path, so no id or
search term becomes a label. The figures hold no citizen data; even so the
endpoint is for operators only (``metrics_allowed``): deny by default.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from core.permissions import public_page, serves

logger = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "tvaerakut_http_requests",
    "HTTP requests answered, by URL pattern, method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "tvaerakut_http_request_duration_seconds",
    "Time to answer an HTTP request, by URL pattern and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)

Collect = Callable[[], Iterable[Metric]]
_collectors: dict[str, Collect] = {}


def register_metrics(name: str, collect: Collect) -> None:
    """Figures read at scrape time: ``collect`` yields metric families. A
    collector that fails is reported as ``tvaerakut_metrics_source_up 0``,
    and the others are still served."""
    _collectors[name] = collect


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _Registered:
    """The registered collectors as one prometheus_client collector."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "tvaerakut_metrics_source_up",
            "1 if the source of a group of figures answered this scrape.",
            labels=["source"],
        )
        for name, collect in sorted(_collectors.items()):
            try:
                families = list(collect())
            except Exception:
                logger.warning("metrics source %s failed", name, exc_info=True)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


def exposition() -> bytes:
    """Everything ``/metrics`` serves, in Prometheus' text format."""
    registry = CollectorRegistry()
    directory = multiprocess_dir()
    if directory:
        multiprocess.MultiProcessCollector(registry, path=directory)
        counted = b""
    else:
        counted = generate_latest(REGISTRY)
    registry.register(_Registered())
    return counted + generate_latest(registry)


# Headers a reverse proxy adds to what it relays (RFC 7239 and the usual others).
_FORWARDED = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def metrics_allowed(request: HttpRequest) -> bool:
    """The operator's network (``METRICS_ALLOWED_NETWORKS``, by the address
    the connection comes from) or the bearer token ``METRICS_TOKEN``."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").encode(), token.encode())
    if any(name in request.headers for name in _FORWARDED):
        # Relayed by a proxy: the connection's address is the proxy's (often
        # loopback, on the same machine), not the caller's. Only the token admits it.
        return False
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(peer in network for network in settings.METRICS_ALLOWED_NETWORKS)


@public_page  # no login: the operator's network or token is checked below
@never_cache
@serves("GET", plain=True)
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return JsonResponse(
            {
                "error": {
                    "code": "metrics.forbidden",
                    "message": "Metrics are for the operator's network or a metrics token.",
                }
            },
            status=403,
        )
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Counts every answered request by its URL pattern, method and status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # The start page's pattern is the empty string: it is "/", not a path
        # that matched nothing (a 404 has no resolver match at all).
        route = "unmatched" if match is None else (match.route or "/")
        method = request.method if request.method in METHODS else "other"
        HTTP_LATENCY.labels(route, method).observe(time.perf_counter() - started)
        HTTP_REQUESTS.labels(route, method, str(response.status_code)).inc()
        return response


def gauge(name: str, documentation: str, labels: list[str], values: dict[Any, float]) -> Metric:
    """A gauge family from ``{label values: value}`` (a tuple key, or one value)."""
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key) if isinstance(key, tuple) else [str(key)], value)
    return family
