"""A body or form a parser cannot read (REST framework's ``ParseError``) is
refused with ``request.malformed``; raised past the door's own checks (by a
parser, or by a view reading its body), it went unrecorded, while every other
refusal of a request's input is an attempt on the citizen it names (R9,
decision 0036). It is recorded there now, on ``/fhir/`` and ``/api/`` alike."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import pytest
from rest_framework.exceptions import ParseError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from consent.audit.models import AuditEntry
from core.fhir.views import FHIRView
from core.refusals import Concerns
from tests import factories as f
from tests.consent.conftest import World, world  # noqa: F401

pytestmark = pytest.mark.django_db


class _FHIRReadsNothing(FHIRView):
    permission_classes = [IsAuthenticated]

    def post(self, request: Request, **kwargs: Any) -> NoReturn:
        raise ParseError("The body could not be read.")


class _APIReadsNothing(APIView):
    permission_classes = [IsAuthenticated]
    concerns = Concerns("Patient", path="citizen_id")

    def post(self, request: Request, **kwargs: Any) -> NoReturn:
        raise ParseError("The body could not be read.")


def _refused_since(before: int) -> list[tuple[Any, ...]]:
    return [
        (e.citizen_id, e.outcome, e.reason_code)
        for e in AuditEntry.objects.filter(id__gt=before).order_by("id")
    ]


def _newest() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _refusal_code(door: str, response: Any) -> str:
    """The code a refusal on ``door`` carries: FHIR's in an OperationOutcome."""
    if door == "fhir":
        assert response.data["resourceType"] == "OperationOutcome"
        return str(response.data["issue"][0]["details"]["coding"][0]["code"])
    return str(json.loads(response.content)["error"]["code"])


@pytest.mark.parametrize("door", ["fhir", "api"])
def test_r9_a_body_no_parser_reads_is_recorded_on_the_citizen(
    world: World,  # noqa: F811
    door: str,
) -> None:
    token = f.token_for(world.other_nurse)
    if door == "fhir":
        request = APIRequestFactory().post(
            f"/fhir/Patient/{world.person.pk}/$probe",
            json.dumps({"resourceType": "Parameters"}),
            content_type="application/fhir+json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        view, kwargs = _FHIRReadsNothing.as_view(), {}
    else:
        request = APIRequestFactory().post(
            f"/api/citizens/{world.person.pk}/probe",
            json.dumps({"note": "x"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        view, kwargs = _APIReadsNothing.as_view(), {"citizen_id": str(world.person.pk)}
    before = _newest()
    response = view(request, **kwargs)
    assert response.status_code == 400
    response.render()
    assert _refusal_code(door, response) == "request.malformed"
    assert _refused_since(before) == [(world.person.pk, "denied", "request.malformed")]


def test_r9_a_caller_nobody_can_name_is_refused_alike_and_leaves_no_entry(
    world: World,  # noqa: F811
) -> None:
    request = APIRequestFactory().post(
        f"/fhir/Patient/{world.person.pk}/$probe",
        json.dumps({"resourceType": "Parameters"}),
        content_type="application/fhir+json",
    )
    before = _newest()
    response = _FHIRReadsNothing.as_view()(request)
    assert response.status_code in (401, 403)
    assert _refused_since(before) == []
