"""A row id in an ``/api/`` or page path is read as it was sent.

Django's ``<int:…>`` read ``/api/acute/referrals/007`` as referral 7 and
answered it under another id than the one asked for, and let an id beyond a
bigint reach the database. Every path id is now read as ``/fhir/`` reads one
(``core.validation.row_id_text``): the digits 0-9, the first not 0, at most
2^63-1; any other text names no address, and the door answers its own 404.
Every URL pattern holding an id is walked, on both doors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

from core.models import Role
from core.validation import LARGEST_ROW_ID
from tests import factories as f

pytestmark = pytest.mark.django_db

# A row id in a route: the platform's converter, or Django's it replaced.
_ID = re.compile(r"<(id|int):(\w+)>")


def _routes(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[str]:
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue
            yield from _routes(entry, route)
        elif isinstance(entry, URLPattern) and _ID.search(route) and "^" not in route:
            yield route


def _routes_with_ids() -> list[str]:
    return sorted({route for route in _routes() if "fhir/" not in route})


def _written(route: str, value: str) -> str:
    return "/" + _ID.sub(value, route)


def test_every_path_id_is_read_with_the_platform_converter() -> None:
    routes = _routes_with_ids()
    assert len(routes) > 60
    read_by_int = [route for route in routes if "<int:" in route]
    assert read_by_int == []


REFUSED = ["007", "0", "00"]


@pytest.mark.parametrize("route", _routes_with_ids())
def test_an_id_not_written_as_the_platform_writes_one_names_no_address(route: str) -> None:
    # The id as the platform writes one reaches the route's view, with the id.
    matched = resolve(_written(route, "7"))
    assert matched.route == route
    assert set(matched.kwargs.values()) >= {7}
    largest = resolve(_written(route, str(LARGEST_ROW_ID)))
    assert largest.route == route
    # One past a bigint names no row, but is written as an id: its view
    # answers it as any unknown id, with its own code and audit entry.
    beyond = resolve(_written(route, str(LARGEST_ROW_ID + 1)))
    assert beyond.route == route
    for value in REFUSED:
        try:
            other = resolve(_written(route, value))
        except Resolver404:
            continue
        # /api/ answers an address it has no route for in its own 404.
        assert other.route != route, (route, value)
        assert other.url_name == "api-unknown", (route, value)


def _client() -> Any:
    return f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))


@pytest.mark.parametrize("value", REFUSED)
def test_the_api_answers_a_refused_id_with_its_404_envelope(value: str) -> None:
    client = _client()
    routes = [route for route in _routes_with_ids() if route.startswith("api/")]
    assert len(routes) > 30
    for route in routes:
        response = client.get(_written(route, value))
        assert response.status_code == 404, (route, response.status_code)
        assert response.json()["error"]["code"] == "not_found", route


@pytest.mark.parametrize("value", REFUSED)
def test_a_page_answers_a_refused_id_with_the_danish_404_page(value: str) -> None:
    client = _client()
    routes = [route for route in _routes_with_ids() if not route.startswith("api/")]
    assert len(routes) > 20
    for route in routes:
        response = client.get(_written(route, value), HTTP_ACCEPT_LANGUAGE="da")
        assert response.status_code == 404, (route, response.status_code)
        assert response["Content-Type"].startswith("text/html"), route
        assert "Siden findes ikke" in response.content.decode(), route


def test_a_referral_is_not_answered_under_another_id() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    client = f.client_for(coordinator)
    referral = f.acute_referral(by=coordinator)
    served = client.get(f"/api/acute/referrals/{referral.pk}")
    assert served.status_code == 200
    assert served.json()["id"] == referral.pk
    for written in (f"00{referral.pk}", f"{referral.pk + 2**64}"):
        refused = client.get(f"/api/acute/referrals/{written}")
        assert refused.status_code == 404, written
        assert refused.json()["error"]["code"] == "not_found"
