"""The health check a load balancer or monitor asks (``/healthz``)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from core.health import health_report
from core.permissions import public_page, serves


@public_page
@never_cache
@serves("GET", plain=True)
def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
