"""``Location`` on every ``201 Created`` of ``/api/``: where the new resource is read.

A view whose operation answers 201 says what it creates, once, beside its
permissions::

    creates = Creates("acute-referral")  # read at GET /api/acute/referrals/<id>
    creates = Creates(None)  # a resource with no URL of its own: no Location

:class:`CreatedLocationMiddleware` writes the header from that declaration
(an absolute URL, as ``/fhir/`` writes its own), ``core.openapi`` documents
it on the operation's 201, and ``tests/core/test_created_location.py`` holds
every view that answers 201 to declaring it. The Idempotency-Key's replay
gives the same ``Location`` again (``core.idempotency``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse


@dataclass(frozen=True)
class Creates:
    """What a view's ``201`` creates: the URL name of the created resource's
    own ``GET`` under ``/api/`` (None when it has none), the name of that
    URL's id argument, and the field of the answer that holds the id."""

    url_name: str | None
    kwarg: str = "pk"
    field: str = "id"

    def location(self, request: HttpRequest, answer: Any) -> str | None:
        """The absolute URL of the resource described by ``answer``, or None."""
        if self.url_name is None or not isinstance(answer, Mapping):
            return None
        ident = answer.get(self.field)
        if ident is None:
            return None
        return request.build_absolute_uri(reverse(self.url_name, kwargs={self.kwarg: ident}))


def creates_of(view: Any) -> Creates | None:
    """The declaration of a view (class or instance), None when it has made none."""
    declared = getattr(view, "creates", None)
    return declared if isinstance(declared, Creates) else None


class CreatedLocationMiddleware:
    """Adds ``Location`` to a ``201`` of ``/api/`` whose view declares where
    the created resource is read. Inside ``IdempotencyKeyMiddleware``, which
    keeps the header for a replay."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code != 201
            or response.has_header("Location")
            or not request.path.startswith("/api/")
            or request.resolver_match is None
        ):
            return response
        creates = creates_of(getattr(request.resolver_match.func, "cls", None))
        location = creates.location(request, getattr(response, "data", None)) if creates else None
        if location:
            response["Location"] = location
        return response
