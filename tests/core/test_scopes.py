"""SMART backend-services scopes as a ceiling: what each admits, and that
anything not understood admits nothing."""

import pytest

from core.scopes import parse_scopes, scopes_allow


@pytest.mark.parametrize(
    ("granted", "method", "path", "allowed"),
    [
        ("system/Patient.read", "GET", "/fhir/Patient/7", True),
        ("system/Patient.read", "POST", "/fhir/Patient/_search", True),
        ("system/Patient.read", "POST", "/fhir/Patient", False),
        ("system/Patient.read", "GET", "/fhir/Condition", False),
        ("system/Patient.read", "GET", "/fhir/Patient/7/$everything", False),
        ("system/*.read", "GET", "/fhir/Patient/7/$everything", True),
        ("system/*.read", "GET", "/fhir/Observation", True),
        ("system/*.read", "PUT", "/fhir/Observation/1", False),
        ("system/ServiceRequest.write", "POST", "/fhir/ServiceRequest", True),
        ("system/ServiceRequest.write", "GET", "/fhir/ServiceRequest/1", False),
        ("system/Observation.rs", "GET", "/fhir/Observation", True),
        ("system/Observation.rs", "POST", "/fhir/Observation", False),
        ("system/Observation.cruds", "POST", "/fhir/Observation", True),
        ("system/*.*", "POST", "/fhir/", False),  # a transaction names no one type
        ("system/*.read", "GET", "/api/auth/whoami", False),
        ("", "GET", "/fhir/Patient/7", False),
        ("system/Patient.read launch", "GET", "/fhir/Patient/7", False),
    ],
)
def test_a_scope_admits_only_what_it_names(granted, method, path, allowed) -> None:
    assert scopes_allow(granted, method=method, path=path) is allowed


@pytest.mark.parametrize(
    "text",
    ["user/Patient.read", "patient/*.read", "system/Patient.sr", "system/Patient.rr", "openid"],
)
def test_scopes_the_platform_does_not_know_are_refused(text) -> None:
    assert parse_scopes(text) is None
