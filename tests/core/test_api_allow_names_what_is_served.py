"""The ``Allow`` header of ``/api/`` names only the methods served.

OPTIONS is no operation of the API (its description is ``/api/schema/``) and
is answered 405; yet REST framework listed it in ``Allow`` on every answer,
that 405 included, so a client doing what RFC 9110 says a 405's ``Allow`` is
for tried a method it was then refused. ``/fhir/`` already named only what
it serves; every ``/api/`` route is walked so that no view is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from core.models import Role
from tests import factories as f

pytestmark = pytest.mark.django_db


def _api_paths(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[str]:
    for entry in (resolver or get_resolver()).url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _api_paths(entry, pattern)
        elif isinstance(entry, URLPattern) and pattern.startswith("api/"):
            path = re.sub(r"<(?:\w+:)?\w+>", "1", pattern)
            path = re.sub(r"\(\?P<\w+>[^)]*\)", "x", path).replace("^", "").replace("$", "")
            yield "/" + path


def _methods(response: object) -> set[str]:
    return {m.strip() for m in response.get("Allow", "").split(",") if m.strip()}  # type: ignore[attr-defined]


def test_a_refused_options_is_not_named_in_allow() -> None:
    coordinator = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    refused = coordinator.options("/api/acute/referrals")
    assert refused.status_code == 405
    assert refused.json()["error"]["code"] == "request.method_not_allowed"
    assert _methods(refused) == {"GET", "HEAD", "POST"}
    # Every method Allow names is served: none of them is a 405.
    for method in _methods(refused) - {"POST"}:
        assert coordinator.generic(method, "/api/acute/referrals").status_code == 200
    assert _methods(coordinator.get("/api/acute/referrals")) == {"GET", "HEAD", "POST"}
    assert _methods(coordinator.put("/api/auth/whoami")) == {"GET", "HEAD"}


def test_no_api_route_names_options_in_allow() -> None:
    acute = f.acute_function()
    clients = [f.client_for(f.staff(role, acute)) for role in Role.values] + [f.client_for(None)]
    named = []
    paths = sorted(set(_api_paths()))
    assert len(paths) > 50
    for path in paths:
        for client in clients:
            response = client.options(path)
            if "OPTIONS" in _methods(response):
                named.append((path, response.status_code))
    assert named == []
