"""What a partner's signed message meets at the door, besides its processing:
the platform's security headers, its request id and its metrics, as on any
other answer, and an answer again for a message sent twice."""

from __future__ import annotations

import json

import pytest
from csp.utils import build_policy
from django.test import Client, override_settings

from core.metrics import HTTP_REQUESTS
from integrations.models import Partner
from integrations.transport import signed_headers
from tests.integrations.medcom.peers import example

pytestmark = pytest.mark.django_db

STIN = "a5e5b880-c087-4055-b9ec-99108695f81d"  # admitted (inpatient)
ROUTE = "fhir/$process-message"


def _send(partner: Partner, body: bytes):
    headers = signed_headers(sender=partner.code, secret=partner.secret, body=body)
    return Client().post(
        "/fhir/$process-message",
        data=body,
        content_type="application/fhir+json",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
    )


def _counted(status: str) -> float:
    return HTTP_REQUESTS.labels(ROUTE, "POST", status)._value.get()


def test_a_partners_message_gets_the_security_headers_and_is_counted(hospital, citizen) -> None:
    body = json.dumps(example("hospitalnotification", STIN)).encode()
    counted = _counted("200")

    first = _send(hospital, body)

    assert first.status_code == 200, first.content[:300]
    assert first["Content-Security-Policy"] == build_policy()
    assert "frame-ancestors 'none'" in first["Content-Security-Policy"]
    assert first["X-Frame-Options"] == "DENY"
    assert first["X-Content-Type-Options"] == "nosniff"
    assert first["Referrer-Policy"] == "same-origin"
    assert first["Cache-Control"] == "no-store, private"
    assert first["X-Request-ID"]
    assert first["Content-Type"].startswith("application/fhir+json")
    assert _counted("200") == counted + 1
    # The same message again is answered as the first time, and counted.
    again = _send(hospital, body)
    assert again.status_code == 200
    assert again["X-Duplicate-Of-Earlier-Message"] == "true"
    assert again["Content-Security-Policy"] == first["Content-Security-Policy"]
    assert _counted("200") == counted + 2


def test_an_unsigned_message_is_refused_with_the_same_headers(hospital) -> None:
    response = Client().post(
        "/fhir/$process-message", data=b"{}", content_type="application/fhir+json"
    )
    assert response.status_code == 401
    assert response["Content-Security-Policy"] == build_policy()
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cache-Control"] == "no-store, private"


def test_the_policy_sent_is_the_one_the_settings_hold_now(hospital, citizen) -> None:
    """The policy is built once, and built again when its setting changes."""
    body = json.dumps(example("hospitalnotification", STIN)).encode()
    policy = {"DIRECTIVES": {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}}
    with override_settings(CONTENT_SECURITY_POLICY=policy):
        changed = _send(hospital, body)
        page = Client().get("/login/")
    assert changed["Content-Security-Policy"] in (
        "default-src 'none'; frame-ancestors 'none'",
        "frame-ancestors 'none'; default-src 'none'",
    )
    assert page["Content-Security-Policy"] == changed["Content-Security-Policy"]
    assert Client().get("/login/")["Content-Security-Policy"] == build_policy()
