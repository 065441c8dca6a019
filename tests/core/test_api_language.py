"""One language per answer, by one rule, whoever refuses (docs/api.md): Danish
unless the request asks for English, and the code never changes.

Refusals come from many places: REST framework before the view (a missing or
unknown token, a role not admitted, a method not allowed), the platform's
middleware before any view (a CPR number in the URL, an Idempotency-Key used
twice), the parser (malformed JSON), the services (a shift that overlaps, too
many failed logins) and the catch-all of unknown routes. A partner without
``Accept-Language`` got some of them in Danish and others in English, and a
"not found" was English even to a client that asked for Danish."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import Role
from tests import factories as f
from tests.acute.test_api import REFERRAL, _shift_body

pytestmark = pytest.mark.django_db

ASKS = {
    "nothing": {},
    "da": {"HTTP_ACCEPT_LANGUAGE": "da"},
    "en": {"HTTP_ACCEPT_LANGUAGE": "en"},
}
EXPECTED_LANGUAGE = {"nothing": "da", "da": "da", "en": "en"}


def _no_token(asks: dict[str, str]) -> Any:
    return APIClient().get("/api/auth/whoami", **asks)


def _unknown_token(asks: dict[str, str]) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer no-such-token")
    return client.get("/api/auth/whoami", **asks)


def _role_not_admitted(asks: dict[str, str]) -> Any:
    nurse = f.client_for(f.staff(Role.ACUTE_NURSE, f.acute_function()))
    return nurse.get("/api/consent/analyses", **asks)


def _unknown_route(asks: dict[str, str]) -> Any:
    return f.client_for(f.staff(Role.COORDINATOR, f.acute_function())).get(
        "/api/acute/no-such-thing", **asks
    )


def _not_found_by_the_gate(asks: dict[str, str]) -> Any:
    return f.client_for(f.staff(Role.COORDINATOR, f.acute_function())).get(
        "/api/acute/referrals/999999", **asks
    )


def _method_not_allowed(asks: dict[str, str]) -> Any:
    return f.client_for(f.staff(Role.COORDINATOR, f.acute_function())).put(
        "/api/auth/whoami", {}, format="json", **asks
    )


def _malformed_json(asks: dict[str, str]) -> Any:
    return f.client_for(f.staff(Role.COORDINATOR, f.acute_function())).post(
        "/api/acute/referrals", "{", content_type="application/json", **asks
    )


def _cpr_in_the_url(asks: dict[str, str]) -> Any:
    # Refused by middleware before Django has chosen the request's language.
    return f.client_for(f.staff(Role.COORDINATOR, f.acute_function())).get(
        "/api/acute/referrals", {"cpr": f.cpr_number()}, **asks
    )


def _conflict_from_a_service(asks: dict[str, str]) -> Any:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    nurse = f.staff(Role.ACUTE_NURSE, coordinator.organisation)
    starts_at = timezone.now() + dt.timedelta(days=1)
    body = _shift_body(nurse, starts_at, starts_at + dt.timedelta(hours=8))
    client = f.client_for(coordinator)
    assert client.post("/api/acute/shifts", body, format="json").status_code == 201
    return client.post("/api/acute/shifts", body, format="json", **asks)


def _idempotency_key_reused(asks: dict[str, str]) -> Any:
    client = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    body = {**REFERRAL, "citizen_id": f.citizen().pk, "source": "gp"}
    key = {"HTTP_IDEMPOTENCY_KEY": "gp-system-1"}
    assert client.post("/api/acute/referrals", body, format="json", **key).status_code == 201
    changed = {**body, "reason": "Faldet i hjemmet"}
    return client.post("/api/acute/referrals", changed, format="json", **key, **asks)


def _too_many_failed_logins(asks: dict[str, str]) -> Any:
    client = APIClient()
    wrong = {"username": "nobody", "password": "wrong"}
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert client.post("/api/auth/token", wrong, format="json").status_code == 401
    return client.post("/api/auth/token", wrong, format="json", **asks)


def _fhir_no_token(asks: dict[str, str]) -> Any:
    return APIClient().get("/fhir/Patient/1", **asks)


def _fhir_malformed(asks: dict[str, str]) -> Any:
    physician = f.client_for(f.staff(Role.PHYSICIAN, f.gp_practice()))
    return physician.post("/fhir/ServiceRequest", "{", content_type="application/fhir+json", **asks)


# (refusal, status, code, Danish, English)
REFUSALS: list[tuple[Callable[[dict[str, str]], Any], int, str, str, str]] = [
    (_no_token, 401, "auth.required", "Log ind først.", "Log in first."),
    (
        _unknown_token,
        401,
        "auth.required",
        "Tokenet er ukendt, udløbet eller tilbagekaldt.",
        "The token is unknown, expired or revoked.",
    ),
    (
        _role_not_admitted,
        403,
        "auth.forbidden",
        "Din rolle må ikke bruge dette endepunkt.",
        "Your role may not use this endpoint.",
    ),
    (_unknown_route, 404, "not_found", "Ressourcen findes ikke.", "No such resource."),
    (_not_found_by_the_gate, 404, "not_found", "Ressourcen findes ikke.", "No such resource."),
    (
        _method_not_allowed,
        405,
        "request.method_not_allowed",
        'Metoden "PUT" er ikke tilladt.',
        'Method "PUT" not allowed.',
    ),
    (
        _malformed_json,
        400,
        "request.malformed",
        "Indholdet er ikke gyldig JSON (linje 1, kolonne 2).",
        "The request body is not valid JSON (line 1, column 2).",
    ),
    (
        _cpr_in_the_url,
        400,
        "request.cpr_in_url",
        "Et CPR-nummer må aldrig stå i en URL; send det i forespørgslens indhold.",
        "A CPR number never goes in a URL; send it in the request body.",
    ),
    (
        _conflict_from_a_service,
        409,
        "shift.overlaps",
        "Sygeplejersken har allerede en vagt i den periode.",
        "The nurse already has a shift in that period.",
    ),
    (
        _idempotency_key_reused,
        422,
        "request.idempotency_key_reused",
        "Denne Idempotency-Key fulgte med en anden forespørgsel; en ny forespørgsel skal "
        "have en ny nøgle.",
        "This Idempotency-Key came with another request; a new request takes a new key.",
    ),
    (
        _too_many_failed_logins,
        429,
        "auth.throttled",
        "For mange mislykkede forsøg på at logge ind. Vent lidt, før du prøver igen.",
        "Too many failed logins. Wait a while before trying again.",
    ),
    (_fhir_no_token, 401, "auth.required", "Log ind først.", "Log in first."),
    (
        _fhir_malformed,
        400,
        "request.malformed",
        "Indholdet er ikke gyldig JSON (linje 1, kolonne 2).",
        "The request body is not valid JSON (line 1, column 2).",
    ),
]


def _code_and_message(response: Any) -> tuple[str, str]:
    body = response.json()
    if "issue" in body:  # an OperationOutcome on /fhir/
        issue = body["issue"][0]
        assert issue["details"]["text"] == issue["diagnostics"]
        return issue["details"]["coding"][0]["code"], issue["diagnostics"]
    return body["error"]["code"], body["error"]["message"]


@pytest.mark.parametrize("asks", list(ASKS))
@pytest.mark.parametrize(
    ("refusal", "status", "code", "danish", "english"),
    REFUSALS,
    ids=[refusal.__name__.strip("_") for refusal, *_ in REFUSALS],
)
def test_every_refusal_is_danish_unless_english_is_asked_for(
    asks: str,
    refusal: Callable[[dict[str, str]], Any],
    status: int,
    code: str,
    danish: str,
    english: str,
) -> None:
    response = refusal(ASKS[asks])
    assert response.status_code == status, response.content
    language = EXPECTED_LANGUAGE[asks]
    assert _code_and_message(response) == (code, danish if language == "da" else english)
    assert response["Content-Language"] == language
    assert "Accept-Language" in response["Vary"]


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("de", "da"),  # neither of the two: Danish
        ("*", "da"),
        ("da-DK, en;q=0.8", "da"),
        ("en-GB", "en"),
        ("de, en;q=0.5", "en"),  # the first the platform speaks
        ("da;q=0.4, en;q=0.9", "en"),  # by preference, not by place
    ],
)
def test_the_language_is_the_first_of_danish_and_english_the_client_prefers(
    header: str, language: str
) -> None:
    response = APIClient().get("/api/auth/whoami", HTTP_ACCEPT_LANGUAGE=header)
    message = {"da": "Log ind først.", "en": "Log in first."}[language]
    assert response.json()["error"] == {"code": "auth.required", "message": message}
    assert response["Content-Language"] == language


@pytest.mark.parametrize(
    ("asks", "sentence"),
    [
        ("nothing", "Formularen indeholdt tegn, der ikke kan gemmes"),
        ("da", "Formularen indeholdt tegn, der ikke kan gemmes"),
        ("en", "The form contained characters that cannot be saved"),
    ],
)
def test_a_page_refused_before_the_language_is_chosen_follows_the_same_rule(
    client: Any, asks: str, sentence: str
) -> None:
    """The boundary refuses a form with a NUL character before Django's
    LocaleMiddleware runs: its page is written in the request's language all
    the same, not in whatever language the worker's thread spoke last."""
    response = client.post("/login/", {"username": "nurse\x00", "password": "x"}, **ASKS[asks])
    assert response.status_code == 400
    assert sentence in response.content.decode()
    assert response["Content-Language"] == EXPECTED_LANGUAGE[asks]


def test_a_fhir_partner_keeps_the_precise_reason_where_danish_has_only_the_general_one() -> None:
    """A FHIR resource's validation errors are written from what was sent and
    have no Danish wording: in Danish the issue's text is the code's general
    sentence, and its diagnostics still say exactly what is wrong."""
    physician = f.client_for(f.staff(Role.PHYSICIAN, f.gp_practice()))
    body = {"resourceType": "ServiceRequest", "status": "no-such-status"}
    answers = {
        language: physician.post(
            "/fhir/ServiceRequest",
            body,
            format="json",
            HTTP_ACCEPT_LANGUAGE=language,
        ).json()["issue"][0]
        for language in ("da", "en")
    }
    danish, english = answers["da"], answers["en"]
    assert danish["details"]["coding"] == english["details"]["coding"]
    assert danish["details"]["text"] != english["details"]["text"]
    assert danish["diagnostics"] == english["diagnostics"] == english["details"]["text"]
    assert "subject: Field required" in danish["diagnostics"]


@pytest.mark.parametrize(
    ("value", "danish", "english"),
    [
        ({"text": "Borgeren er indlagt"}, "Angiv en tekst.", "Not a valid string."),
        (["Borgeren er indlagt"], "Angiv en tekst.", "Not a valid string."),
        (True, "Angiv en tekst.", "Not a valid string."),
    ],
    ids=["object", "array", "boolean"],
)
@pytest.mark.parametrize("asks", list(ASKS))
def test_a_field_of_the_wrong_type_is_refused_in_the_answers_language(
    asks: str, value: Any, danish: str, english: str
) -> None:
    """REST framework's own catalogue has no Danish for some of its type
    checks: a partner who sent an object where the reason is text read
    "Not a valid string." in a Danish answer."""
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(accepted=False, by=coordinator)
    response = f.client_for(coordinator).post(
        f"/api/acute/referrals/{referral.pk}/decline",
        {"reason": value},
        format="json",
        **ASKS[asks],
    )
    assert response.status_code == 400, response.content
    sentence = danish if EXPECTED_LANGUAGE[asks] == "da" else english
    assert response.json()["error"] == {
        "code": "request.invalid",
        "message": f"reason: {sentence}",
        "fields": {"reason": sentence},
    }
    assert response["Content-Language"] == EXPECTED_LANGUAGE[asks]
