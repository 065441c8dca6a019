"""A system revokes a token it holds (RFC 7009), and a token outlives no
change of the secret it was issued for."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from consent.audit.models import AuditEntry, Outcome
from core.models import ApiToken, SystemClient, hash_token
from tests import factories as f
from tests.portal.test_system_tokens import FORM, _ask, _bearer, _system

pytestmark = pytest.mark.django_db


def _revoke(client: str, secret: str | None, **form: str):
    """The revocation request (RFC 7009 §2.1), the client in HTTP Basic
    unless ``secret`` is None."""
    headers = {}
    if secret is not None:
        basic = base64.b64encode(f"{client}:{secret}".encode()).decode()
        headers["HTTP_AUTHORIZATION"] = f"Basic {basic}"
    return APIClient().generic("POST", "/api/auth/oauth/revoke", urlencode(form), FORM, **headers)


def _reads(token: str, citizen_id: int) -> int:
    return _bearer(token).get(f"/fhir/Patient/{citizen_id}").status_code


def test_a_system_revokes_its_own_token_and_the_revocation_is_recorded() -> None:
    """A system done with its token, or fearing it leaked, had no way to end
    it short of waiting for it to expire."""
    system, secret = _system("system/Patient.read")
    person = f.citizen()
    f.open_visit(system.membership, person)
    token = _ask(system.client_id, secret).json()["access_token"]
    other = _ask(system.client_id, secret).json()["access_token"]
    assert _reads(token, person.pk) == 200
    response = _revoke(system.client_id, secret, token=token, token_type_hint="access_token")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert _reads(token, person.pk) == 401
    # Only the token named.
    assert _reads(other, person.pk) == 200
    entry = AuditEntry.objects.get(reason_code="oauth.token_revoked")
    assert entry.outcome == Outcome.PERMITTED
    assert entry.detail["client_id"] == system.client_id
    # Revoking it again, or a token never issued, is answered alike (RFC 7009 §2.2).
    assert _revoke(system.client_id, secret, token=token).status_code == 200
    assert _revoke(system.client_id, secret, token="no-such-token").status_code == 200
    assert AuditEntry.objects.filter(reason_code="oauth.token_revoked").count() == 1
    # Client authentication in the form, as on the token endpoint.
    form = {"client_id": system.client_id, "client_secret": secret, "token": other}
    assert _revoke(system.client_id, None, **form).status_code == 200
    assert _reads(other, person.pk) == 401


def test_a_system_cannot_revoke_another_clients_or_a_persons_token() -> None:
    system, secret = _system("system/Patient.read")
    rival, rival_secret = _system("system/Patient.read")
    theirs = _ask(rival.client_id, rival_secret).json()["access_token"]
    persons = f.token_for(f.staff("coordinator", f.acute_function()))
    for token in (theirs, persons):
        response = _revoke(system.client_id, secret, token=token)
        assert response.status_code == 200  # nothing said about whose it is
        assert ApiToken.objects.get(key_hash=hash_token(token)).revoked_at is None
    assert not AuditEntry.objects.filter(reason_code="oauth.token_revoked").exists()


def test_a_revocation_needs_the_client_and_the_token() -> None:
    system, secret = _system("system/Patient.read")
    token = _ask(system.client_id, secret).json()["access_token"]
    wrong = _revoke(system.client_id, "wrong", token=token)
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert wrong.json()["code"] == "oauth.invalid_client"
    missing = _revoke(system.client_id, None, token=token)
    assert missing.status_code == 401
    assert missing.json()["code"] == "oauth.invalid_client"
    for form in ({}, {"token": ""}):
        refused = _revoke(system.client_id, secret, **form)
        assert refused.status_code == 400
        assert refused.json() == {
            "error": "invalid_request",
            "error_description": "Name the token to revoke as token.",
            "code": "oauth.token_missing",
        }
    huge = _revoke(system.client_id, secret, token="x" * 100_000)
    assert huge.status_code == 200
    assert ApiToken.objects.get(key_hash=hash_token(token)).revoked_at is None


def test_a_new_secret_ends_the_tokens_issued_under_the_old_one() -> None:
    """A leaked secret replaced (by any door, here a bulk update) left the
    tokens fetched with it working until they expired."""
    system, secret = _system("system/Patient.read")
    person = f.citizen()
    f.open_visit(system.membership, person)
    token = _ask(system.client_id, secret).json()["access_token"]
    assert _reads(token, person.pk) == 200
    SystemClient.objects.filter(pk=system.pk).update(secret_hash=hash_token("a new secret"))
    assert _reads(token, person.pk) == 401
    assert _reads(_ask(system.client_id, "a new secret").json()["access_token"], person.pk) == 200
