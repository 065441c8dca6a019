"""A page answers only the methods it serves.

A page that only shows (``/healthz``, the coordinator's board and every other
page read with GET) answered a POST as if it were a GET: a form sent to the
wrong address looked accepted. Every page view declares the methods it serves
(``core.permissions.serves``; none declared: GET and HEAD) and the page gate
(``core.middleware.PageAccessMiddleware``) answers any other with 405 and an
``Allow`` naming what is served: the platform's Danish page, or plain text on
the addresses a monitor reads. Every page route is walked, by someone the
page admits. To a role refused the page, an unserved method is the same "not
allowed" page as any other request: a 405 would tell her the page is there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from core.middleware import _is_api_view
from core.models import Role
from core.permissions import page_methods, session_membership_set
from medicine_cabinet.models import StockCount
from medicine_cabinet.services import cabinet_create
from tests import factories as f

pytestmark = pytest.mark.django_db

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# Read by programs, not people: refused in plain text.
PLAIN = {"/healthz", "/metrics"}
DANISH_405 = "Siden kan ikke bruges på den måde."


def _pages(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin" or route.startswith(("api/", "fhir")):
                continue
            yield from _pages(entry, route)
        elif isinstance(entry, URLPattern) and not _is_api_view(entry.callback):
            if route.startswith(("api/", "fhir")):
                continue
            yield "/" + re.sub(r"<(?:\w+:)?\w+>", "1", route), entry.callback


PAGES = sorted(_pages(), key=lambda page: page[0])


def _signed_in(role: str = Role.COORDINATOR) -> Client:
    organisation = (
        f.acute_function()
        if role in (Role.ACUTE_NURSE, Role.COORDINATOR, Role.MEDICINE_OFFICER, Role.AUDITOR)
        else f.gp_practice()
        if role == Role.PHYSICIAN
        else f.municipality("159")
    )
    membership = f.staff(role, organisation)
    client = Client()
    client.force_login(membership.user)
    session = client.session
    session_membership_set(session, membership)
    session.save()
    return client


def _allowed(response: Any) -> set[str]:
    return {m.strip() for m in response.get("Allow", "").split(",") if m.strip()}


def test_the_walk_holds_every_page() -> None:
    paths = {path for path, _ in PAGES}
    assert len(paths) > 60
    assert {"/healthz", "/coordinator/", "/nurse/visits/1/", "/cabinet/counts/1/"} <= paths


@pytest.mark.parametrize(("path", "view"), PAGES, ids=[path for path, _ in PAGES])
def test_a_method_a_page_does_not_serve_is_405_naming_what_it_serves(path: str, view: Any) -> None:
    served = set(page_methods(view))
    assert served and served <= {"GET", "HEAD", "POST"}
    assert ("GET" in served) == ("HEAD" in served)
    for client in _admitted(view):
        for method in METHODS:
            response = client.generic(method, path, HTTP_ACCEPT_LANGUAGE="da")
            if method in served:
                assert response.status_code != 405, (path, method)
                continue
            assert response.status_code == 405, (path, method, response.status_code)
            assert _allowed(response) == served, (path, method)
            if path in PLAIN:
                assert response["Content-Type"].startswith("text/plain"), path
            elif method != "HEAD":
                assert response["Content-Type"].startswith("text/html"), path
                assert DANISH_405 in response.content.decode(), (path, method)


def _admitted(view: Any) -> list[Client]:
    """Clients the page gate lets through to ``view``: anyone on a public
    page, else one signed in with a role the page admits."""
    access = getattr(view, "page_access", None)
    if access == "public" or access is None:
        return [Client()]
    if access == "staff":
        return [_signed_in()]
    return [_signed_in(sorted(access)[0])]


def test_a_role_refused_a_page_is_not_told_which_methods_it_serves() -> None:
    """The coordinator may not open the auditor's review of an entry: a GET
    to it (which it does not serve) is the "not allowed" page, as a POST."""
    client = _signed_in()
    for method in ("GET", "POST", "PUT"):
        response = client.generic(method, "/audit/entries/1/review", HTTP_ACCEPT_LANGUAGE="da")
        assert response.status_code == 403, (method, response.status_code)
        assert not response.has_header("Allow")
        assert DANISH_405 not in response.content.decode()


def test_the_board_and_the_health_check_refuse_a_post() -> None:
    client = _signed_in()
    board = client.post("/coordinator/", HTTP_ACCEPT_LANGUAGE="da")
    assert board.status_code == 405
    assert _allowed(board) == {"GET", "HEAD"}
    assert DANISH_405 in board.content.decode()
    # As a monitor sends it: no CSRF token, nothing signed in.
    health = Client(enforce_csrf_checks=True).post("/healthz")
    assert health.status_code == 405
    assert _allowed(health) == {"GET", "HEAD"}
    assert health["Content-Type"].startswith("text/plain")
    assert Client().get("/healthz").status_code in (200, 503)


CSRF_REFUSED_DA = "Siden havde været åben for længe"


def _with_csrf_checks(client: Client) -> Client:
    """``client``'s session in a client that sends no CSRF token and is held
    to the check, as a form from another site would be."""
    checked = Client(enforce_csrf_checks=True)
    checked.cookies = client.cookies
    return checked


@pytest.mark.parametrize(("path", "view"), PAGES, ids=[path for path, _ in PAGES])
def test_a_post_without_a_token_is_answered_by_the_gate_before_the_csrf_check(
    path: str, view: Any
) -> None:
    """A page that serves no POST answers one 405 naming what it serves, with
    or without a token; a page that serves POST still refuses one without."""
    served = set(page_methods(view))
    for client in _admitted(view):
        response = _with_csrf_checks(client).post(path, HTTP_ACCEPT_LANGUAGE="da")
        if "POST" in served:
            assert response.status_code == 403, (path, response.status_code)
            assert CSRF_REFUSED_DA in response.content.decode(), path
            continue
        assert response.status_code == 405, (path, response.status_code)
        assert _allowed(response) == served, path
        if path not in PLAIN:
            assert DANISH_405 in response.content.decode(), path


def test_a_role_refused_a_page_gets_not_allowed_for_a_post_without_a_token() -> None:
    """The coordinator may not open the auditor's pages: a POST without a
    token to one that serves none is the one "not allowed" page, neither
    the CSRF page nor a 405 telling her the page is there."""
    refused = [
        path
        for path, view in PAGES
        if isinstance(getattr(view, "page_access", None), frozenset | set | tuple | list)
        and Role.COORDINATOR not in view.page_access
        and "POST" not in page_methods(view)
    ]
    assert refused
    client = _with_csrf_checks(_signed_in())
    for path in refused[:5]:
        response = client.post(path, HTTP_ACCEPT_LANGUAGE="da")
        assert response.status_code == 403, (path, response.status_code)
        assert not response.has_header("Allow"), path
        body = response.content.decode()
        assert DANISH_405 not in body, path
        assert CSRF_REFUSED_DA not in body, path
        assert "request.csrf_failed" not in body, path


def test_a_form_without_a_token_is_refused_and_writes_nothing() -> None:
    """A page that serves POST is held to the CSRF check for one it admits:
    the platform's CSRF page, and the view never runs."""
    client = _with_csrf_checks(_signed_in(Role.MEDICINE_OFFICER))
    cabinet = cabinet_create(organisation=f.acute_function(), name="Skab 1")
    response = client.post(
        "/cabinet/counts/start/", {"location": str(cabinet.pk)}, HTTP_ACCEPT_LANGUAGE="da"
    )
    assert response.status_code == 403
    assert CSRF_REFUSED_DA in response.content.decode()
    assert not StockCount.objects.exists()
