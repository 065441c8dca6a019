"""A bug answers with the platform's own 500 — a Danish page, the JSON envelope
on /api/, an OperationOutcome on /fhir/ — never Django's technical page with a
traceback, and never the CPR number the error carried (R9's log and the
response alike). This module is also the URLconf of its tests: the platform's
routes plus three that fail as a bug would."""

from __future__ import annotations

import logging

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config import urls as platform_urls
from core.permissions import Public, public_page

CPR_IN_ERROR = "0101901234"


@public_page
def broken_page(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(f"unexpected state for {CPR_IN_ERROR}")


class BrokenEndpoint(APIView):
    permission_classes = [Public]
    authentication_classes: list[type] = []

    def get(self, request: Request) -> Response:
        raise RuntimeError(f"unexpected state for {CPR_IN_ERROR}")


urlpatterns = [
    path("broken/", broken_page),
    path("api/broken", BrokenEndpoint.as_view()),
    path("fhir/broken", BrokenEndpoint.as_view()),
    *platform_urls.urlpatterns,
]
handler400 = platform_urls.handler400
handler403 = platform_urls.handler403
handler404 = platform_urls.handler404
handler500 = platform_urls.handler500

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

TECHNICAL_PAGE_MARKS = ("Traceback", "RuntimeError", "DEBUG = True", "Using the URLconf")


def _client() -> Client:
    return Client(raise_request_exception=False)


@override_settings(DEBUG=False)
def test_a_bug_on_a_page_shows_the_platforms_own_danish_page(caplog) -> None:
    caplog.set_level(logging.ERROR, logger="django.request")
    response = _client().get("/broken/")
    html = response.content.decode()
    assert response.status_code == 500
    assert "Noget gik galt" in html
    assert "Der gik noget galt hos os. Fejlen er registreret" in html
    for mark in (*TECHNICAL_PAGE_MARKS, CPR_IN_ERROR):
        assert mark not in html, mark
    # The bug is logged for the operators, with the CPR number scrubbed.
    assert "RuntimeError" in caplog.text
    assert CPR_IN_ERROR not in caplog.text


@override_settings(DEBUG=False)
def test_a_bug_on_the_api_answers_the_error_envelope() -> None:
    response = _client().get("/api/broken")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": {
            "code": "server.error",
            "message": "Der gik noget galt hos os. Fejlen er registreret, og du kan prøve igen om "
            "lidt.",
        }
    }
    english = _client().get("/api/broken", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["error"]["message"] == (
        "Something went wrong on our side; it has been logged."
    )


@override_settings(DEBUG=False)
def test_a_bug_on_fhir_answers_an_operation_outcome() -> None:
    response = _client().get("/fhir/broken")
    body = response.json()
    assert response.status_code == 500
    assert response["Content-Type"] == "application/fhir+json"
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "error"
    assert CPR_IN_ERROR not in response.content.decode()
    for mark in TECHNICAL_PAGE_MARKS:
        assert mark not in response.content.decode(), mark


@override_settings(DEBUG=False)
def test_an_unknown_address_is_the_platforms_page_not_djangos_technical_404() -> None:
    response = _client().get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Ikke tilgængelig" in html
    for mark in (*TECHNICAL_PAGE_MARKS, "Page not found"):
        assert mark not in html, mark


@pytest.mark.django_db
def test_the_favicon_is_served_and_every_page_links_it() -> None:
    client = Client()
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    body = b"".join(icon.streaming_content)  # type: ignore[attr-defined]
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert '<link rel="icon" href="/favicon.ico"' in client.get("/login/").content.decode()
