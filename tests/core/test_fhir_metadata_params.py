"""``/fhir/metadata`` takes what a read takes (``_format``, ``_pretty``,
``_summary=false``) and ``mode=full`` (http.html#capabilities). A partner's
test harness asking ``mode=terminology`` expects a TerminologyCapabilities,
and ``_summary=true`` or ``_elements`` a part of the statement: each was
answered with the whole CapabilityStatement as if it were what was asked,
and a misspelt parameter passed unseen. They are refused, as a read refuses
what it does not serve (ADR 0021), in an OperationOutcome naming what is
taken."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from tests.consent.conftest import issue_code

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("query", "code", "named"),
    [
        ("mode=terminology", "search.param_invalid", "mode"),
        ("mode=normative", "search.param_invalid", "mode"),
        ("mode=full&mode=terminology", "search.param_invalid", "mode"),
        ("_summary=true", "read.param_unknown", "_summary"),
        ("_elements=rest", "read.param_unknown", "_elements"),
        ("foo=bar", "read.param_unknown", "foo"),
    ],
)
def test_metadata_refuses_what_it_does_not_serve(
    client: Any, query: str, code: str, named: str
) -> None:
    response = client.get(f"/fhir/metadata?{query}")
    assert response.status_code == 400, (query, response.content[:200])
    OperationOutcome.model_validate(response.json())
    assert issue_code(response) == code
    assert response.json()["issue"][0]["expression"] == [named]


def test_metadata_refusal_names_what_it_takes_in_danish_and_english(client: Any) -> None:
    danish = client.get("/fhir/metadata?_summary=true").json()["issue"][0]["details"]["text"]
    assert "_format, _pretty, _summary=false, mode=full" in danish
    assert danish.startswith("Et opslag svarer med hele ressourcen")
    english = client.get("/fhir/metadata?foo=1", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["issue"][0]["details"]["text"] == (
        "A read answers the whole resource and takes no foo;"
        " it takes _format, _pretty, _summary=false, mode=full."
    )


@pytest.mark.parametrize(
    "query", ["", "mode=full", "_summary=false", "_format=json", "_pretty=true&mode=full"]
)
def test_metadata_serves_the_whole_statement(client: Any, query: str) -> None:
    response = client.get(f"/fhir/metadata?{query}")
    assert response.status_code == 200, (query, response.content[:200])
    assert response.json()["resourceType"] == "CapabilityStatement"
