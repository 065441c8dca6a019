"""A write that loses a race to a database rule (a unique key saved first by
someone else) answers 409 ``request.conflict`` — never a 500, and never the
database's text, which names the constraint and quotes the value (here a CPR
number). This module is also the URLconf of its tests: the platform's routes
plus an endpoint that inserts what is already there, as a race would."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config import urls as platform_urls
from core.models import Citizen
from core.permissions import Public
from tests import factories as f


class LateInsert(APIView):
    """Inserts a copy of an existing citizen: the database refuses it."""

    permission_classes = [Public]
    authentication_classes: list[type] = []

    def post(self, request: Request) -> Response:
        existing = Citizen.objects.get(pk=request.data["citizen"])
        existing.pk = None
        existing.save(force_insert=True)
        return Response(status=201)


urlpatterns = [
    path("api/late-insert", LateInsert.as_view()),
    path("fhir/late-insert", LateInsert.as_view()),
    *platform_urls.urlpatterns,
]

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls(__name__),
]


@pytest.mark.parametrize("prefix", ["api", "fhir"])
def test_a_unique_key_saved_meanwhile_is_a_conflict_that_names_nothing(prefix) -> None:
    citizen = f.citizen()
    answer = Client(raise_request_exception=False).post(
        f"/{prefix}/late-insert", {"citizen": citizen.pk}, content_type="application/json"
    )
    assert answer.status_code == 409
    assert citizen.cpr.encode() not in answer.content
    assert b"core_citizen" not in answer.content
    assert b"cpr" not in answer.content.lower()
    if prefix == "api":
        assert answer.json()["error"]["code"] == "request.conflict"
    else:
        assert answer.json()["resourceType"] == "OperationOutcome"
    assert Citizen.objects.filter(cpr=citizen.cpr).count() == 1
