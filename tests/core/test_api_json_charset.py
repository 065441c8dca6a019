"""A JSON body on ``/api/`` is UTF-8, whatever its label says otherwise.

``application/json; charset=latin-1`` was read as UTF-8 against its label:
a client's ISO-8859-1 text whose bytes happen to be UTF-8 too was stored as
other letters than it sent. ``/fhir/`` refuses a body in another charset
(415); ``/api/`` now does the same, before the body is read, so nothing is
written. A body labelled UTF-8 (any spelling) or not labelled is read.
"""

from __future__ import annotations

import json

import pytest

from acute.models import Referral
from core.models import Role
from tests import factories as f

pytestmark = pytest.mark.django_db

TOKEN_BODY = json.dumps({"username": "nobody", "password": "x" * 12, "otp": "123456"}).encode()


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=latin-1",
        "application/json; charset=ISO-8859-1",
        "application/json;charset=utf-16",
        'application/json; charset="windows-1252"',
    ],
)
def test_a_body_in_another_charset_is_refused_unread(content_type: str) -> None:
    response = f.client_for(None).generic("POST", "/api/auth/token", TOKEN_BODY, content_type)
    assert response.status_code == 415, response.content[:300]
    assert response.json()["error"]["code"] == "request.unsupported_media_type"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=UTF-8",
        'application/json; charset="utf8"',
    ],
)
def test_a_body_in_utf8_is_read(content_type: str) -> None:
    response = f.client_for(None).generic("POST", "/api/auth/token", TOKEN_BODY, content_type)
    # Read, and refused for what it says (no such user), not for its label.
    assert response.status_code in (400, 401), response.content[:300]
    assert response.json()["error"]["code"] != "request.unsupported_media_type"


def test_nothing_is_written_and_the_refusal_is_in_danish() -> None:
    coordinator = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    person = f.citizen()
    body = json.dumps(
        {"citizen": person.pk, "reason": "\u00c3\u00b8dem, feber"}, ensure_ascii=False
    )
    before = Referral.objects.count()
    response = coordinator.generic(
        "POST",
        "/api/acute/referrals",
        body.encode("utf-8"),
        "application/json; charset=latin-1",
        HTTP_ACCEPT_LANGUAGE="da",
    )
    assert response.status_code == 415, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "request.unsupported_media_type"
    assert error["message"] == "Indholdet læses som JSON i UTF-8 (charset=utf-8)."
    assert Referral.objects.count() == before
