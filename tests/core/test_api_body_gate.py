"""An ``/api/`` write takes the body fields its OpenAPI request schema declares
and no other (``core/body_gate.py``, decision 0033), and its number fields
take the digits 0-9 only.

A field it did not take was dropped as if it had not been sent: a misspelt
``requested_strat`` wrote the default in place of what was asked, and the
caller's system was told the referral was made as sent. Each is refused (400)
before the view reads anything, at the top of the body and inside the objects
and lists the schema declares; a walk over every write route of the URL conf
holds a new endpoint to the same.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import get_resolver
from rest_framework.views import APIView

from acute.models import Referral
from consent.audit.models import AuditEntry
from core.models import Membership, Role
from core.query_gate import operation_body
from tests import factories as f
from tests.acute.test_api import REFERRAL
from tests.core.test_api_query_gate import _url, _walk

pytestmark = pytest.mark.django_db

FULLWIDTH_ONE = "\uff11"
WRITES = ("post", "put", "patch", "delete")


@pytest.fixture
def staff() -> dict[str, Membership]:
    org = f.acute_function()
    return {role: f.staff(role, org) for role in Role.values}


def _error(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    return dict(response.json()["error"])


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.mark.parametrize(
    ("sent", "field"),
    [
        ({"requested_strat": "2026-12-07T10:00:00+01:00"}, "requested_strat"),
        ({"foo": 1}, "foo"),
        # The answer's fields are no fields of the write.
        ({"id": 1}, "id"),
        ({"status": "accepted"}, "status"),
    ],
)
def test_a_referral_with_a_field_it_does_not_take_is_refused_and_not_made(
    staff: dict[str, Membership], sent: dict[str, Any], field: str
) -> None:
    person = f.citizen()
    before = _last_id()
    response = f.client_for(staff["coordinator"]).post(
        "/api/acute/referrals",
        {**REFERRAL, "citizen_id": person.pk, "source": "gp", **sent},
        format="json",
    )
    error = _error(response)
    assert (error["code"], error["field"]) == ("write.field_unknown", field)
    assert not Referral.objects.exists()
    # R9: the attempt is on the log of the citizen the body names.
    refused = AuditEntry.objects.filter(id__gt=before, outcome="denied")
    assert [(e.reason_code, e.citizen_id) for e in refused] == [("write.field_unknown", person.pk)]


def test_the_refusal_names_the_field_and_what_is_taken_in_danish(
    staff: dict[str, Membership],
) -> None:
    response = f.client_for(staff["acute_nurse"]).post(
        "/api/acute/visits/999999999/complete",
        {"outcome": "treated_at_home", "outcom": "x"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="da",
    )
    error = _error(response)
    assert error["field"] == "outcom"
    assert error["message"].startswith("Forespørgslen tager ikke feltet outcom; den tager ")
    assert "outcome" in error["message"]


def test_the_refusal_names_every_field_the_write_takes_not_a_shortened_list(
    staff: dict[str, Membership],
) -> None:
    """A long list of what the referral takes is the platform's own words:
    quoted whole, where a client's value is shortened in the middle."""
    response = f.client_for(staff["coordinator"]).post(
        "/api/acute/referrals", {"requested_strat": "x"}, format="json"
    )
    message = _error(response)["message"]
    assert "…" not in message
    for field in ("referrer_phone", "requested_actions", "responsible_physician_name", "urgency"):
        assert field in message


def test_a_write_that_declares_no_body_takes_no_field(staff: dict[str, Membership]) -> None:
    """A referral's ``accept`` takes no body. A visit's ``accept`` takes the
    time she took it alone, its ``complete`` (the same view) an outcome:
    neither takes the other's."""
    coordinator = f.client_for(staff["coordinator"])
    accept = "/api/acute/referrals/999999999/accept"
    error = _error(coordinator.post(accept, {"outcome": "x"}, format="json"))
    assert (error["code"], error["field"]) == ("write.field_unknown", "outcome")
    assert error["message"] == "Forespørgslen tager ikke feltet outcome; den tager ingen felter."
    # An empty body, or none, is still taken (404: no such referral).
    assert coordinator.post(accept, {}, format="json").status_code == 404
    assert coordinator.post(accept).status_code == 404
    nurse = f.client_for(staff["acute_nurse"])
    error = _error(
        nurse.post("/api/acute/visits/999999999/accept", {"outcome": "x"}, format="json")
    )
    assert (error["code"], error["field"]) == ("write.field_unknown", "outcome")
    assert error["message"] == "Forespørgslen tager ikke feltet outcome; den tager at."
    assert nurse.post("/api/acute/visits/999999999/accept", {}, format="json").status_code == 404
    assert nurse.post("/api/acute/visits/999999999/accept").status_code == 404


def test_a_field_inside_a_list_of_objects_is_named_by_its_path(
    staff: dict[str, Membership],
) -> None:
    response = f.client_for(staff["acute_nurse"]).post(
        "/api/acute/visits/999999999/vital-signs",
        {"measurements": [{"code": "8867-4", "value": "96"}, {"code": "8310-5", "valeu": "38"}]},
        format="json",
    )
    error = _error(response)
    assert (error["code"], error["field"]) == ("write.field_unknown", "measurements.1.valeu")
    assert error["message"].endswith("den tager code, value.")


def test_a_field_inside_a_nested_object_is_named_by_its_path(
    staff: dict[str, Membership],
) -> None:
    response = f.client_for(staff["medicine_officer"]).post(
        "/api/cabinet/waste",
        {"location": 1, "lot": 1, "quantity": "1", "witness": {"usernam": "x"}},
        format="json",
    )
    error = _error(response)
    assert (error["code"], error["field"]) == ("write.field_unknown", "witness.usernam")


def test_what_a_write_declares_is_still_taken(staff: dict[str, Membership]) -> None:
    person = f.citizen()
    response = f.client_for(staff["coordinator"]).post(
        "/api/acute/referrals",
        {**REFERRAL, "citizen_id": person.pk, "source": "gp"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Referral.objects.get().citizen_id == person.pk


# --- digits 0-9 only -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "url", "body", "field"),
    [
        ("coordinator", "/api/acute/referrals", {"citizen_id": FULLWIDTH_ONE}, "citizen_id"),
        ("coordinator", "/api/acute/referrals/999999999/assign", {"shift": "\u0661"}, "shift"),
        (
            "acute_nurse",
            "/api/acute/shifts/999999999/position",
            {"latitude": "5\uff15", "longitude": "12"},
            "latitude",
        ),
        (
            "acute_nurse",
            "/api/cabinet/transfers",
            {"lot": FULLWIDTH_ONE, "from_location": 1, "to_location": 2, "quantity": "1"},
            "lot",
        ),
    ],
)
def test_a_number_in_the_digits_of_another_script_is_no_number(
    staff: dict[str, Membership], role: str, url: str, body: dict[str, Any], field: str
) -> None:
    """REST framework read a full-width one as 1 (``int`` and ``Decimal`` read any
    script's digits): refused as any text that is no number is."""
    if url == "/api/acute/referrals":
        body = {**REFERRAL, "source": "gp", **body}
    error = _error(f.client_for(staff[role]).post(url, body, format="json"))
    assert error["code"] == "request.invalid"
    assert field in error["fields"], error
    assert not Referral.objects.exists()


def test_a_number_in_digits_0_to_9_is_still_taken_as_text(
    staff: dict[str, Membership],
) -> None:
    person = f.citizen()
    response = f.client_for(staff["coordinator"]).post(
        "/api/acute/referrals",
        {**REFERRAL, "citizen_id": str(person.pk), "source": "gp"},
        format="json",
    )
    assert response.status_code == 201, response.content


# --- every write route under /api/ ---------------------------------------------------


# OAuth 2.0's token endpoints take a form and ignore a parameter they do not
# know (RFC 6749 3.2, 7009 2.1): their standard's rule, not the JSON API's.
FORM_ENCODED = {"api/auth/oauth/token", "api/auth/oauth/revoke"}


def api_write_routes() -> list[tuple[str, type[APIView], str]]:
    routes: list[tuple[str, type[APIView], str]] = []
    for route, callback in _walk(get_resolver().url_patterns):
        view = getattr(callback, "cls", None)
        if not (isinstance(view, type) and issubclass(view, APIView)):
            continue
        # The 404 of /api/ (``^.*$``) is no operation.
        if not route.startswith("api/") or route == "api/^.*$" or route in FORM_ENCODED:
            continue
        for method in WRITES:
            if hasattr(view, method):
                routes.append((route, view, method))
                # Declared in the schema: a write outside it would be held to nothing.
                assert operation_body(callback, method)[0], (route, method)
    return routes


def test_the_walk_finds_the_write_routes() -> None:
    views = {view.__name__ for _route, view, _method in api_write_routes()}
    assert {"ReferralListView", "VisitStepView", "TokenRevokeView", "BreakGlassView"} <= views
    assert len(api_write_routes()) >= 50


def test_every_write_route_refuses_a_field_it_does_not_take(
    staff: dict[str, Membership],
) -> None:
    clients = [f.client_for(None), *(f.client_for(m) for m in staff.values())]
    unreached = []
    for route, _view, method in api_write_routes():
        url = _url(route)
        answers = [
            getattr(client, method)(url, {"zz_not_taken": 1}, format="json") for client in clients
        ]
        assert all(a.status_code >= 400 for a in answers), (method, url, answers)
        refused = [a for a in answers if a.status_code == 400]
        if not refused:
            unreached.append(f"{method} {url}")
            continue
        codes = {a.json()["error"]["code"] for a in refused}
        assert codes == {"write.field_unknown"}, (method, url, codes)
    assert unreached == [], "\n".join(unreached)
