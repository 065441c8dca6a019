"""OperationOutcome: how every error leaves ``/fhir/``."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.operationoutcome import OperationOutcome

ERROR_CODE_SYSTEM = "urn:tvaerakut:error-code"
# The product rule (R1 to R12) that refused, beside the error code.
RULE_SYSTEM = "urn:tvaerakut:rule"

# Platform error kind -> FHIR issue type (http://hl7.org/fhir/issue-type).
ISSUE_TYPE_BY_KIND = {
    "invalid": "invalid",
    "unprocessable": "processing",
    "unauthenticated": "login",
    "forbidden": "forbidden",
    "not_found": "not-found",
    "conflict": "conflict",
    "duplicate": "duplicate",
    "precondition_failed": "conflict",
    "too_large": "too-long",
    "uri_too_long": "too-long",
    "throttled": "throttled",
    "unavailable": "transient",
    "not_supported": "not-supported",
    "exception": "exception",
    "informational": "informational",
}


def operation_outcome(
    *,
    kind: str,
    code: str,
    message: str,
    field: str | None = None,
    rule: str | None = None,
    severity: str = "error",
    extra_issues: list[dict[str, Any]] | None = None,
    diagnostics: str | None = None,
) -> dict[str, Any]:
    """One issue (and any ``extra_issues``); ``diagnostics`` is the technical
    detail where it says more than ``message``, else ``message`` again."""
    codings = [{"system": ERROR_CODE_SYSTEM, "code": code}]
    if rule:
        codings.append({"system": RULE_SYSTEM, "code": rule})
    issue: dict[str, Any] = {
        "severity": severity,
        "code": ISSUE_TYPE_BY_KIND.get(kind, "processing"),
        "details": {"coding": codings, "text": message},
        "diagnostics": diagnostics or message,
    }
    if field:
        issue["expression"] = [field]
    issues = [issue, *(extra_issues or [])]
    outcome = OperationOutcome.model_validate({"resourceType": "OperationOutcome", "issue": issues})
    return outcome.model_dump(mode="json", exclude_none=True)


def informational_outcome(message: str) -> dict[str, Any]:
    return operation_outcome(kind="invalid", code="ok", message=message, severity="information")
