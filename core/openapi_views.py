"""The OpenAPI schema of ``/api/`` and its documentation page (``core/openapi.py``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.request import Request
from rest_framework.response import Response

from core.permissions import Public
from core.renderers import ApiJSONRenderer


class RefusedInJSON:
    """A refusal of the schema or of its page (a parameter it does not take,
    an ``Accept`` it cannot answer) is the ``/api/`` JSON envelope, as on
    every other ``/api/`` route: not the YAML the schema is written in by
    default, nor the page's template renderer, which has no words for it and
    answered a bare "400 Bad Request"."""

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        if getattr(response, "exception", False):
            renderer = ApiJSONRenderer()
            request.accepted_renderer = renderer
            request.accepted_media_type = renderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]


# The schema names no citizen and holds no data, like the FHIR
# CapabilityStatement: anyone may read it (docs/decisions/0007-openapi-is-public.md).
class SchemaView(RefusedInJSON, SpectacularAPIView):
    permission_classes = [Public]
    authentication_classes: list[Any] = []
    # Not an operation of the schema it serves: what it takes is named here
    # (core/query_gate.py), REST framework's ``format`` besides.
    query_parameters = ("lang", "version")


class DocsView(RefusedInJSON, SpectacularSwaggerSplitView):
    """Swagger UI from the platform's own static files; its start-up script is a
    second request (``?script``), so the page runs under the strict CSP."""

    permission_classes = [Public]
    authentication_classes: list[Any] = []
    template_name = "core/api_docs.html"
    query_parameters = ("script", "lang", "version")
    # ``?script=`` asks for the start-up script: present, with no value.
    query_flags = ("script",)
    url_name = "api-schema"

    @extend_schema(exclude=True)
    def get(self, request: Request | HttpRequest, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
