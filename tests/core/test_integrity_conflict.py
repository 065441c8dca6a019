"""A write that loses a race to a database rule (a unique key saved first by
someone else) answers 409 — never a 500, and never the database's text, which
names the constraint and quotes the value (here a CPR number): a unique rule a
person or partner breaks by what she sends with its own code
(``citizen.exists``, decision 0043), any other ``request.conflict``. This
module is also the URLconf of its tests: the platform's routes plus endpoints
that insert what is already there, as a race would."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config import urls as platform_urls
from core.models import Citizen, ExternalIdentity, Role
from core.permissions import Public
from tests import factories as f


class LateInsert(APIView):
    """Inserts a copy of an existing citizen: the database refuses it."""

    permission_classes = [Public]
    authentication_classes: list[type] = []

    def post(self, request: Request, pk: int) -> Response:
        existing = Citizen.objects.get(pk=pk)
        existing.pk = None
        existing.save(force_insert=True)
        return Response(status=201)


class LateIdentityInsert(APIView):
    """Links an identity provider's subject already linked: a unique rule no
    person types, so the database's refusal has no code of its own."""

    permission_classes = [Public]
    authentication_classes: list[type] = []

    def post(self, request: Request, pk: int) -> Response:
        existing = ExternalIdentity.objects.get(pk=pk)
        existing.pk = None
        existing.save(force_insert=True)
        return Response(status=201)


urlpatterns = [
    path("api/late-insert/<int:pk>", LateInsert.as_view()),
    path("fhir/late-insert/<int:pk>", LateInsert.as_view()),
    path("api/late-identity/<int:pk>", LateIdentityInsert.as_view()),
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
        f"/{prefix}/late-insert/{citizen.pk}", content_type="application/json"
    )
    assert answer.status_code == 409, answer.content
    cpr = str(citizen.cpr)
    assert cpr.encode() not in answer.content
    assert cpr[:6].encode() not in answer.content
    assert b"core_citizen" not in answer.content
    assert b"Key (" not in answer.content
    if prefix == "api":
        error = answer.json()["error"]
        assert (error["code"], error["field"]) == ("citizen.exists", "cpr")
    else:
        [issue] = answer.json()["issue"]
        assert issue["code"] == "duplicate"
        assert issue["details"]["coding"][0]["code"] == "citizen.exists"
    assert Citizen.objects.filter(cpr=citizen.cpr).count() == 1


def test_a_unique_key_no_person_types_is_the_general_conflict() -> None:
    membership = f.staff(Role.ACUTE_NURSE, f.acute_function())
    identity = ExternalIdentity.objects.create(
        issuer="https://idp.example", subject="abc-123", user=membership.user
    )
    answer = Client(raise_request_exception=False).post(
        f"/api/late-identity/{identity.pk}", content_type="application/json"
    )
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "request.conflict"
    assert b"abc-123" not in answer.content
    assert b"external_identity" not in answer.content
