"""OAuth 2.0 client credentials for systems, with SMART backend-services
scopes: a scope is a ceiling over the system's role, never a widening, and
the same gate decides as for a person (R1, R9)."""

from __future__ import annotations

import base64
import time
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.test.client import BOUNDARY, encode_multipart
from rest_framework.test import APIClient

from consent.audit.models import AuditEntry, Outcome
from core.models import ApiToken, Membership, Role, SystemClient, User
from portal.signin.services import system_client_register
from tests import factories as f

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"


def _system(scopes: str, *, role: str = Role.ACUTE_NURSE) -> tuple[SystemClient, str]:
    user = User.objects.create(username=f"system-{time.monotonic_ns()}")
    user.set_unusable_password()
    user.save()
    membership = Membership.objects.create(
        user=user, organisation=f.acute_function(), role=role, is_default=True
    )
    return system_client_register(
        client_id=user.username, name="Test system", membership=membership, scopes=scopes
    )


def _ask(client_id: str, secret: str, *, content_type: str = FORM, **form: str):
    """The token request as RFC 6749 (4.4.2) has a system send it: a form,
    URL-encoded."""
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    fields = {"grant_type": "client_credentials", **form}
    body = urlencode(fields) if content_type == FORM else encode_multipart(BOUNDARY, fields)
    return APIClient().generic(
        "POST",
        "/api/auth/oauth/token",
        body,
        content_type if content_type == FORM else f"{content_type}; boundary={BOUNDARY}",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_a_registered_system_gets_a_short_token_with_the_scope_it_asked_for() -> None:
    system, secret = _system("system/Patient.read system/Observation.read")
    response = _ask(system.client_id, secret, scope="system/Patient.read")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "system/Patient.read"
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(system_client=system)
    assert token.scopes == "system/Patient.read"
    assert not ApiToken.objects.filter(key_hash=body["access_token"]).exists()
    entry = AuditEntry.objects.get(reason_code="oauth.client_credentials")
    assert entry.outcome == Outcome.PERMITTED and entry.task == "system-client-credentials"


def test_a_wrong_secret_is_refused_and_recorded() -> None:
    system, _ = _system("system/Patient.read")
    response = _ask(system.client_id, "not the secret")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.json()["code"] == "oauth.invalid_client"
    assert not ApiToken.objects.exists()
    assert AuditEntry.objects.get(reason_code="oauth.invalid_client").outcome == Outcome.DENIED


def test_a_scope_beyond_the_registration_is_refused_and_recorded() -> None:
    system, secret = _system("system/Patient.read")
    for scope in ("system/*.read", "system/Patient.write", "user/Patient.read", "launch"):
        response = _ask(system.client_id, secret, scope=scope)
        assert response.status_code == 400, scope
        assert response.json()["error"] == "invalid_scope"
    assert not ApiToken.objects.exists()
    assert AuditEntry.objects.filter(reason_code="oauth.invalid_scope").count() == 4


def test_only_client_credentials_is_offered() -> None:
    system, secret = _system("system/Patient.read")
    response = _ask(system.client_id, secret, grant_type="password")
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_the_scope_admits_the_type_it_names_and_nothing_else() -> None:
    system, secret = _system("system/Patient.read")
    person = f.citizen()
    f.open_visit(system.membership, person)
    client = _bearer(_ask(system.client_id, secret).json()["access_token"])
    assert client.get(f"/fhir/Patient/{person.pk}").status_code == 200
    # Another type, the whole record, a write, and the plain API: all beyond the scope.
    assert client.get(f"/fhir/Condition?patient={person.pk}").status_code == 403
    assert client.get(f"/fhir/Patient/{person.pk}/$everything").status_code == 403
    assert client.post("/fhir/Consent", {}, format="json").status_code == 403
    assert client.get("/api/auth/whoami").status_code == 403


def test_a_scope_never_widens_the_gate() -> None:
    """``system/*.read`` reaches no citizen the system's role may not see (R1)."""
    system, secret = _system("system/*.read")
    stranger = f.citizen()
    client = _bearer(_ask(system.client_id, secret).json()["access_token"])
    assert client.get(f"/fhir/Patient/{stranger.pk}").status_code == 404
    refused = AuditEntry.objects.filter(citizen_id=stranger.pk, outcome=Outcome.DENIED)
    assert refused.exists()


def test_the_token_expires(settings) -> None:
    settings.SYSTEM_TOKEN_TTL_SECONDS = 1
    system, secret = _system("system/Patient.read")
    person = f.citizen()
    f.open_visit(system.membership, person)
    body = _ask(system.client_id, secret).json()
    assert body["expires_in"] == 1
    client = _bearer(body["access_token"])
    assert client.get(f"/fhir/Patient/{person.pk}").status_code == 200
    time.sleep(1.2)
    assert client.get(f"/fhir/Patient/{person.pk}").status_code == 401


def test_a_system_is_registered_by_command_with_its_secret_shown_once(capsys) -> None:
    organisation = f.acute_function()
    call_command(
        "system_client_register",
        "--client-id=hospital-feed",
        "--name=Hospital feed",
        f"--organisation={organisation.pk}",
        "--role=coordinator",
        "--scopes=system/ServiceRequest.read",
    )
    secret = capsys.readouterr().out.split("client_secret=")[1].strip()
    client = SystemClient.objects.get(client_id="hospital-feed")
    assert secret not in client.secret_hash
    assert not client.membership.user.has_usable_password()
    assert _ask("hospital-feed", secret).status_code == 200


def test_a_token_request_in_another_media_type_is_refused_and_gives_no_token() -> None:
    """RFC 6749 has the request URL-encoded; a multipart body is refused
    with 415, never read as an empty request."""
    system, secret = _system("system/Patient.read")
    response = _ask(
        system.client_id, secret, content_type="multipart/form-data", scope="system/Patient.read"
    )
    assert response.status_code == 415
    assert response.json()["error"] == "invalid_request"
    assert response.json()["code"] == "request.unsupported_media_type"
    assert not ApiToken.objects.filter(system_client=system).exists()


def test_a_system_switched_off_loses_the_tokens_it_holds() -> None:
    """A client switched off could ask for no new token, but the tokens it
    already held kept reading the shared record until they expired: the
    first thing to do with a leaked secret did not stop its use."""
    system, secret = _system("system/Patient.read")
    person = f.citizen()
    f.open_visit(system.membership, person)
    client = _bearer(_ask(system.client_id, secret).json()["access_token"])
    assert client.get(f"/fhir/Patient/{person.pk}").status_code == 200
    system.is_active = False
    system.save(update_fields=["is_active"])
    response = client.get(f"/fhir/Patient/{person.pk}")
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"
    assert client.get("/api/auth/whoami").status_code == 401
    # A person's token in the same membership is not touched.
    person_client = _bearer(f.token_for(system.membership))
    assert person_client.get("/api/auth/whoami").status_code == 200


def test_a_request_beyond_the_scope_is_recorded_on_the_citizen_it_names() -> None:
    """R9: a system's attempt its scopes refuse (another type of the citizen's
    record, the whole record, a write) was answered 403 and recorded nowhere;
    a person's refused attempt is in the log. Now both are, on the citizen."""
    system, secret = _system("system/Patient.read")
    person = f.citizen()
    f.open_visit(system.membership, person)
    client = _bearer(_ask(system.client_id, secret).json()["access_token"])
    seen = set(AuditEntry.objects.values_list("pk", flat=True))
    assert client.get(f"/fhir/Condition?patient={person.pk}").status_code == 403
    assert client.get(f"/fhir/Patient/{person.pk}/$everything").status_code == 403
    refused = AuditEntry.objects.exclude(pk__in=seen)
    assert sorted((e.reason_code, e.resource_type, e.citizen_id) for e in refused) == [
        ("scope_not_granted", "Condition", person.pk),
        ("scope_not_granted", "Patient", person.pk),
    ]
    assert {(e.outcome, e.actor_user_id) for e in refused} == {
        (Outcome.DENIED, system.membership.user_id)
    }


def test_a_scope_repeated_or_oddly_spaced_is_granted_once() -> None:
    system, secret = _system("system/Patient.read system/Observation.read")
    response = _ask(
        system.client_id,
        secret,
        scope="  system/Patient.read   system/Patient.read\tsystem/Observation.read ",
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "system/Patient.read system/Observation.read"
    assert ApiToken.objects.get(system_client=system).scopes == response.json()["scope"]


@pytest.mark.parametrize("field", ["scope", "grant_type"])
def test_a_character_refused_at_the_door_is_answered_in_the_token_endpoints_shape(field) -> None:
    """A control character in the form is refused before the view reads it,
    and the system reads the refusal as RFC 6749 (5.2) has every token error
    written: ``error`` and ``error_description``, beside the platform's code."""
    system, secret = _system("system/Patient.read")
    form = {"grant_type": "client_credentials", "scope": "system/Patient.read"}
    form[field] += "\x06"

    refused = _ask(system.client_id, secret, **form)

    assert refused.status_code == 400
    assert refused.json() == {
        "error": "invalid_request",
        "error_description": refused.json()["error_description"],
        "code": "request.control_character",
    }
    assert "U+0006" in refused.json()["error_description"]
    assert not ApiToken.objects.filter(system_client=system).exists()
