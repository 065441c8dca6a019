"""Input refused at the door, whatever the route: too deep, NUL, broken
Unicode, numbers that no field can hold. Always a 4xx with a stable code (an
OperationOutcome on /fhir/), never a 500, never a write."""

from __future__ import annotations

import pytest

from core.models import Role
from tests import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 3_000 + b"1" + b"}" * 3_000


def _fhir_client():
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function())
    return f.client_for(nurse)


def _code(response) -> str:
    body = response.json()
    if body.get("resourceType") == "OperationOutcome":
        return body["issue"][0]["details"]["coding"][0]["code"]
    return body["error"]["code"]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (DEEP_ARRAY, "request.too_deep"),
        (DEEP_OBJECT, "request.too_deep"),
        (b'{"username": "a\\ud800", "password": "x"}', "request.invalid_text"),
        (b'{"username": "a\\u0000b", "password": "x"}', "request.nul_character"),
        (
            b'{"username": "a", "password": "x", "organisation": 1e400}',
            "request.number_out_of_range",
        ),
        (b'{"username": ', "request.malformed"),
    ],
)
def test_api_json_body_refused_at_the_door(api_client, raw, code) -> None:
    response = api_client.post("/api/auth/token", raw, content_type="application/json")
    assert response.status_code == 400, response.content[:200]
    assert _code(response) == code


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (DEEP_ARRAY, "request.too_deep"),
        (DEEP_OBJECT, "request.too_deep"),
        (b'{"resourceType": "Condition", "note": [{"text": "\\ud83d"}]}', "request.invalid_text"),
        (b'{"resourceType": "Condition", "note": [{"text": "a\\u0000"}]}', "request.nul_character"),
    ],
)
def test_fhir_body_refused_with_an_operation_outcome(raw, code) -> None:
    response = _fhir_client().post("/fhir/Condition", raw, content_type="application/fhir+json")
    assert response.status_code == 400, response.content[:200]
    assert response.json()["resourceType"] == "OperationOutcome"
    assert _code(response) == code


def test_a_body_over_the_limit_is_refused(api_client, settings) -> None:
    settings.REQUEST_MAX_JSON_BYTES = 2048
    raw = b'{"username": "' + b"a" * 4096 + b'", "password": "x"}'
    response = api_client.post("/api/auth/token", raw, content_type="application/json")
    assert response.status_code == 413
    assert _code(response) == "request.too_large"


def test_nul_in_a_form_post_is_a_400_page_not_a_database_error(client) -> None:
    response = client.post("/login/", {"username": "nurse\x00", "password": "demo"})
    assert response.status_code == 400
    assert b"NUL" in response.content


def test_nul_in_a_query_string_is_refused_on_fhir(client) -> None:
    response = client.get("/fhir/metadata", {"_format": "json\x00"})
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_ordinary_input_still_passes(api_client) -> None:
    response = api_client.post(
        "/api/auth/token", {"username": "nobody", "password": "x"}, format="json"
    )
    # Refused as a wrong login, not as malformed input.
    assert response.status_code in (400, 401)
    assert _code(response) not in {"request.malformed", "request.too_deep"}


def test_responses_with_citizen_data_are_not_stored_by_browsers_or_proxies(client) -> None:
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function())
    api = f.client_for(nurse)
    for response in (
        api.get("/api/auth/whoami"),
        api.get("/fhir/metadata"),
        api.get("/fhir/Condition/999999"),
        client.get("/login/"),
    ):
        assert "no-store" in response["Cache-Control"], response.request["PATH_INFO"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"citizen": "{cpr}"}, "citizen"),
        ({"purpose": "care {dashed}"}, "purpose"),
        ({"{cpr}": "1"}, None),
    ],
)
def test_a_cpr_number_in_an_api_query_string_is_refused_and_never_echoed_or_logged(
    params, field, caplog
) -> None:
    """Decision 0002: the auditor who types a CPR number into the id filter
    gets a 400 saying where it goes, not an empty (and logged) search."""
    cpr = f.cpr_number()
    dashed = f"{cpr[:6]}-{cpr[6:]}"
    query = {k.format(cpr=cpr): v.format(cpr=cpr, dashed=dashed) for k, v in params.items()}
    auditor = f.client_for(f.staff(Role.AUDITOR, f.municipality()))
    response = auditor.get("/api/audit/entries", query)
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "request.cpr_in_url"
    assert error.get("field") == field
    for text in (response.content.decode(), caplog.text):
        assert cpr not in text and dashed not in text


def test_a_cpr_number_in_a_referral_board_query_is_refused() -> None:
    coordinator = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    response = coordinator.get("/api/acute/referrals", {"cpr": f.cpr_number()})
    assert response.status_code == 400
    assert _code(response) == "request.cpr_in_url"


def test_the_boundarys_refusals_are_in_danish_for_a_client_reading_danish() -> None:
    coordinator = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    in_url = coordinator.get(
        "/api/acute/referrals", {"cpr": f.cpr_number()}, HTTP_ACCEPT_LANGUAGE="da"
    ).json()["error"]
    assert in_url["code"] == "request.cpr_in_url"
    assert in_url["message"].startswith("Et CPR-nummer må aldrig stå i en URL")
    nul = coordinator.get(
        "/api/acute/referrals", {"status": "ny\x00"}, HTTP_ACCEPT_LANGUAGE="da"
    ).json()["error"]
    assert nul["code"] == "request.nul_character"
    # Which field held it, as in English.
    assert nul["message"] == "Teksten må ikke indeholde et NUL-tegn (status)."


def test_the_public_logs_tree_sizes_may_run_to_ten_digits(api_client) -> None:
    # The transparency log's tree sizes are plain counters.
    response = api_client.get("/api/audit/log/consistency", {"from": "1", "to": "1234567890"})
    assert _code(response) != "request.cpr_in_url"


def test_a_multipart_body_to_a_json_route_is_refused_not_read_as_empty() -> None:
    """A form body the boundary has parsed is still there for the view: a route
    that reads JSON only refuses its media type (415) instead of acting on an
    empty body (a decline without the reason the client sent)."""
    from acute.models import Referral

    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(accepted=False, by=coordinator)
    response = f.client_for(coordinator).post(
        f"/api/acute/referrals/{referral.pk}/decline",
        {"reason": "Borgeren er indlagt"},
        format="multipart",
    )
    assert response.status_code == 415, response.content[:300]
    assert _code(response) == "request.unsupported_media_type"
    referral.refresh_from_db()
    assert referral.status == Referral.Status.RECEIVED


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code"),
    [
        (b'{"reason": ', "application/json", 400, "request.malformed"),
        (b"[1, 2", "application/json", 400, "request.malformed"),
        (b"accept please", "text/plain", 415, "request.unsupported_media_type"),
        (b"<accept/>", "application/xml", 415, "request.unsupported_media_type"),
        (b"reason=x", "application/x-www-form-urlencoded", 415, "request.unsupported_media_type"),
    ],
)
def test_a_body_to_a_route_that_takes_none_is_still_checked(
    raw, content_type, status, code
) -> None:
    """A write whose view reads no body (accepting a referral) refused
    nothing it was sent: broken JSON or a text body was answered 200 and the
    referral accepted, as if the client had said what it meant."""
    from acute.models import Referral

    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(accepted=False, by=coordinator)
    response = f.client_for(coordinator).post(
        f"/api/acute/referrals/{referral.pk}/accept", raw, content_type=content_type
    )
    assert response.status_code == status, response.content[:300]
    assert _code(response) == code
    referral.refresh_from_db()
    assert referral.status == Referral.Status.RECEIVED


def test_a_refused_role_is_told_so_before_its_body_is_read() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(accepted=False, by=coordinator)
    nurse = f.staff(Role.ACUTE_NURSE, coordinator.organisation)
    response = f.client_for(nurse).post(
        f"/api/acute/referrals/{referral.pk}/accept", b"{", content_type="application/json"
    )
    assert response.status_code == 403
    assert _code(response) == "auth.forbidden"


def test_a_write_without_a_body_or_with_an_empty_object_still_passes() -> None:
    from acute.models import Referral

    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    client = f.client_for(coordinator)
    for body in (None, {}):
        referral = f.acute_referral(accepted=False, by=coordinator)
        if body is None:
            response = client.post(f"/api/acute/referrals/{referral.pk}/accept")
        else:
            response = client.post(
                f"/api/acute/referrals/{referral.pk}/accept", body, format="json"
            )
        assert response.status_code == 200, response.content[:300]
        referral.refresh_from_db()
        assert referral.status != Referral.Status.RECEIVED


@pytest.mark.parametrize("raw", [b"[]", b'["Borgeren er indlagt"]', b'"ja"', b"1", b"null"])
@pytest.mark.parametrize("route", ["accept", "decline"])
def test_json_that_is_no_object_is_refused_by_every_write(raw, route) -> None:
    """A body that is JSON but not an object was ignored by a route that
    takes no body (the referral accepted on ``[]``) and, as ``null``, refused
    by one that does with REST framework's English "No data provided"."""
    from acute.models import Referral

    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(accepted=False, by=coordinator)
    response = f.client_for(coordinator).post(
        f"/api/acute/referrals/{referral.pk}/{route}", raw, content_type="application/json"
    )
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"] == {
        "code": "request.not_an_object",
        "message": "Indholdet skal være et JSON-objekt.",
    }
    referral.refresh_from_db()
    assert referral.status == Referral.Status.RECEIVED
