"""FHIR R4's RESTful rules a partner's client meets on every type, from the
one base: repeated search parameters, conditional create, ``Prefer: return``.

A parameter given twice is read as "and" by FHIR (``date=ge…&date=lt…`` is a
range); one a type reads once is refused, never answered for its last value,
and the paging links repeat every value. A conditional create is not served,
so ``If-None-Exist`` is refused rather than ignored into a second copy.
``If-Match`` names the version a versioned update replaces; on a create there
is none for it to match, so the precondition is false (RFC 9110 13.1.1) and
the POST is refused with 412, where it was ignored and the resource written.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from consent.models import ConsentDirective, RecordResource
from core.fhir.resources import FHIRResource, registered
from core.models import Citizen, Role
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, put, world  # noqa: F401

pytestmark = pytest.mark.django_db


def _searchable() -> list[FHIRResource]:
    seen: dict[str, FHIRResource] = {}
    for resource in registered():
        if resource.searchable:
            seen.setdefault(resource.type, resource)
    return list(seen.values())


def _query(resource: FHIRResource, citizen_id: int) -> str:
    if resource.type == "Patient":
        return "name=x"
    return f"patient={citizen_id}"


@pytest.mark.parametrize("resource", _searchable(), ids=lambda r: r.type)
def test_a_parameter_given_twice_that_the_type_reads_once_is_refused_on_every_type(
    world: World,  # noqa: F811
    resource: FHIRResource,
) -> None:
    """``_count=1&_count=50`` answered with 50 and ``code=A&code=B`` with the
    rows of B: one value silently won, and the answer held more than asked."""
    reader = world.auditor if resource.type == "AuditEvent" else world.nurse
    client = f.client_for(reader)
    base = f"/fhir/{resource.type}?{_query(resource, world.person.pk)}"
    once = [
        p.name
        for p in resource.search_params
        if not (p.repeats or p.names_citizen) and p.name != "identifier"
    ]
    for extra in ["_count=1&_count=50", "_offset=0&_offset=5"] + [
        f"{name}=a&{name}=b" for name in once
    ]:
        response = client.get(f"{base}&{extra}")
        assert response.status_code == 400, (resource.type, extra, response.content[:300])
        OperationOutcome.model_validate(response.json())
        assert issue_code(response) == "search.param_repeated", (resource.type, extra)
        name = extra.partition("=")[0]
        assert response.json()["issue"][0]["expression"] == [name]


def test_a_repeated_parameter_is_refused_in_danish_and_english(world: World) -> None:  # noqa: F811
    client = f.client_for(world.nurse)
    query = f"/fhir/Condition?patient={world.person.pk}&code=I10&code=J18"
    text = client.get(query).json()["issue"][0]["details"]["text"]
    assert text == "code må kun angives én gang i en søgning her."
    english = client.get(query, HTTP_ACCEPT_LANGUAGE="en").json()["issue"][0]["details"]["text"]
    assert english == "code may be given only once in a search here."


def _links(bundle: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    return {link["relation"]: parse_qs(urlsplit(link["url"]).query) for link in bundle["link"]}


def test_a_date_range_keeps_both_bounds_in_every_paging_link(world: World) -> None:  # noqa: F811
    """The self and next links of ``date=ge…&date=lt…`` carried only the last
    bound: the next page was another, wider search."""
    client = f.client_for(world.nurse)
    pid = world.person.pk
    for day in ("2024-05-01", "2024-06-01", "2024-07-01", "2026-01-01"):
        created = post(client, "/fhir/Condition", bodies.diagnosis(pid, onsetDateTime=day))
        assert created.status_code == 201, created.content
    found: list[str] = []
    url = f"/fhir/Condition?patient={pid}&date=ge2024-04-01&date=lt2025-01-01&_count=2"
    while url:
        bundle = client.get(url).json()
        assert bundle["total"] == 3
        links = _links(bundle)
        for relation in links:
            assert links[relation]["date"] == ["ge2024-04-01", "lt2025-01-01"], relation
        found += [e["resource"]["onsetDateTime"][:10] for e in bundle.get("entry", [])]
        next_link = next((x["url"] for x in bundle["link"] if x["relation"] == "next"), "")
        url = next_link.removeprefix("http://testserver")
    assert sorted(found) == ["2024-05-01", "2024-06-01", "2024-07-01"]


def test_a_post_search_keeps_every_value_of_its_form_in_the_links(world: World) -> None:  # noqa: F811
    client = f.client_for(world.nurse)
    response = client.post(
        "/fhir/Patient/_search",
        data="birthdate=ge1900-01-01&birthdate=le2100-01-01&_count=1",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.content[:300]
    for relation, query in _links(response.json()).items():
        assert query["birthdate"] == ["ge1900-01-01", "le2100-01-01"], relation


def _writes() -> tuple[int, int, int]:
    return RecordResource.objects.count(), Citizen.objects.count(), ConsentDirective.objects.count()


def test_if_none_exist_is_refused_on_every_create_and_nothing_is_written(world: World) -> None:  # noqa: F811
    """Ignored, a client's retried conditional create made a second copy."""
    nurse = f.client_for(world.nurse)
    coordinator = f.client_for(f.staff(Role.COORDINATOR, world.acute))
    pid = world.person.pk
    before = _writes()
    for client, path, body in [
        (nurse, "/fhir/Condition", bodies.diagnosis(pid)),
        (nurse, "/fhir/CarePlan", bodies.care_plan(pid)),
        (coordinator, "/fhir/Patient", bodies.patient(f.cpr_number())),
        (nurse, "/fhir/Consent", bodies.refusal(pid, organisations=[world.home.pk])),
    ]:
        response = post(client, path, body, HTTP_IF_NONE_EXIST=f"patient={pid}")
        assert response.status_code == 400, (path, response.content[:300])
        issue = response.json()["issue"][0]
        assert issue["code"] == "not-supported", path
        assert issue["details"]["coding"][0]["code"] == "fhir.conditional_create_unsupported"
        assert issue["expression"] == ["If-None-Exist"]
        assert issue["details"]["text"].startswith("Betinget oprettelse (If-None-Exist)")
    assert _writes() == before


def test_if_match_on_every_post_is_a_failed_precondition_and_nothing_is_written(
    world: World,  # noqa: F811
) -> None:
    nurse = f.client_for(world.nurse)
    coordinator = f.client_for(f.staff(Role.COORDINATOR, world.acute))
    pid = world.person.pk
    before = _writes()
    for client, path, body in [
        (nurse, "/fhir/Condition", bodies.diagnosis(pid)),
        (nurse, "/fhir/CarePlan", bodies.care_plan(pid)),
        (coordinator, "/fhir/Patient", bodies.patient(f.cpr_number())),
        (nurse, "/fhir/Consent", bodies.refusal(pid, organisations=[world.home.pk])),
        (
            nurse,
            "/fhir/",
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {
                        "resource": bodies.diagnosis(pid),
                        "request": {"method": "POST", "url": "Condition"},
                    }
                ],
            },
        ),
    ]:
        for sent in ('W/"1"', "*"):
            response = post(client, path, body, HTTP_IF_MATCH=sent)
            assert response.status_code == 412, (path, sent, response.content[:300])
            OperationOutcome.model_validate(response.json())
            issue = response.json()["issue"][0]
            assert issue["details"]["coding"][0]["code"] == "fhir.if_match_on_post", path
            assert issue["expression"] == ["If-Match"]
            assert issue["details"]["text"].startswith("If-Match angiver den version"), path
    assert _writes() == before


def test_a_transaction_entry_with_if_match_or_if_none_match_is_refused(
    world: World,  # noqa: F811
) -> None:
    pid = world.person.pk
    before = _writes()
    for element, value, status, code in [
        ("ifMatch", 'W/"1"', 412, "fhir.if_match_on_post"),
        ("ifNoneMatch", "*", 400, "fhir.if_none_match_unsupported"),
    ]:
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": bodies.care_plan(pid),
                    "request": {"method": "POST", "url": "CarePlan"},
                },
                {
                    "resource": bodies.diagnosis(pid),
                    "request": {"method": "POST", "url": "Condition", element: value},
                },
            ],
        }
        response = post(f.client_for(world.nurse), "/fhir/", bundle)
        assert response.status_code == status, (element, response.content[:300])
        issue = response.json()["issue"][0]
        assert issue["details"]["coding"][0]["code"] == code
        assert issue["expression"] == [f"Bundle.entry[1].request.{element}"]
        assert issue["details"]["text"].startswith(f"Bundle.entry[1]: request.{element}")
    assert _writes() == before


def test_the_statement_says_a_create_is_never_conditional(client: Any) -> None:
    statement = client.get("/fhir/metadata").json()
    rest = statement["rest"][0]
    assert "412 fhir.if_match_on_post" in rest["documentation"]
    assert all(r.get("conditionalCreate") is False for r in rest["resource"])


def test_a_transaction_entry_with_if_none_exist_is_refused_and_nothing_is_written(
    world: World,  # noqa: F811
) -> None:
    pid = world.person.pk
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": bodies.diagnosis(pid, code="J18"),
                "request": {"method": "POST", "url": "Condition"},
            },
            {
                "resource": bodies.diagnosis(pid),
                "request": {
                    "method": "POST",
                    "url": "Condition",
                    "ifNoneExist": f"patient={pid}&code=I10",
                },
            },
        ],
    }
    before = _writes()
    response = post(f.client_for(world.nurse), "/fhir/", bundle)
    assert response.status_code == 400, response.content[:300]
    issue = response.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "fhir.conditional_create_unsupported"
    assert issue["expression"] == ["Bundle.entry[1].request.ifNoneExist"]
    assert issue["details"]["text"].startswith("Bundle.entry[1]: Betinget oprettelse")
    assert _writes() == before


def test_prefer_return_is_honoured_on_create_and_update(world: World) -> None:  # noqa: F811
    """``return=minimal`` got the whole resource and ``return=OperationOutcome``
    a Condition where the client reads an OperationOutcome."""
    client = f.client_for(world.nurse)
    pid = world.person.pk
    minimal = post(client, "/fhir/Condition", bodies.diagnosis(pid), HTTP_PREFER="return=minimal")
    assert minimal.status_code == 201
    assert minimal.content == b""
    rid = minimal["Location"].split("/fhir/Condition/")[1].split("/")[0]
    assert minimal["Location"].endswith(f"/fhir/Condition/{rid}/_history/1")
    assert minimal["ETag"] == 'W/"1"'

    outcome = post(
        client, "/fhir/Condition", bodies.diagnosis(pid), HTTP_PREFER='return="OperationOutcome"'
    )
    assert outcome.status_code == 201 and outcome.has_header("Location")
    issue = OperationOutcome.model_validate(outcome.json()).issue[0]
    assert (issue.severity, issue.code) == ("information", "informational")
    assert outcome.json()["issue"][0]["details"]["text"] == "Oprettet."

    full = post(
        client, "/fhir/Condition", bodies.diagnosis(pid), HTTP_PREFER="return=representation"
    )
    assert full.status_code == 201 and full.json()["resourceType"] == "Condition"

    current = client.get(f"/fhir/Condition/{rid}").json()
    updated = put(
        client, f"/fhir/Condition/{rid}", current, HTTP_PREFER="handling=strict, return=minimal"
    )
    assert updated.status_code == 200, updated.content[:300]
    assert updated.content == b"" and updated["ETag"] == 'W/"2"'
    again = client.get(f"/fhir/Condition/{rid}").json()
    said = put(client, f"/fhir/Condition/{rid}", again, HTTP_PREFER="return=OperationOutcome")
    assert said.status_code == 200
    assert said.json()["resourceType"] == "OperationOutcome"
    assert said.json()["issue"][0]["details"]["text"] == "Opdateret."


def test_prefer_return_minimal_leaves_a_refusal_and_a_search_whole(world: World) -> None:  # noqa: F811
    client = f.client_for(world.nurse)
    refused = post(
        client, "/fhir/Condition", {"resourceType": "Condition"}, HTTP_PREFER="return=minimal"
    )
    assert refused.status_code == 400 and refused.json()["resourceType"] == "OperationOutcome"
    search = client.post(
        "/fhir/Patient/_search",
        data="name=x",
        content_type="application/x-www-form-urlencoded",
        HTTP_PREFER="return=minimal",
    )
    assert search.status_code == 200 and search.json()["resourceType"] == "Bundle"


@pytest.mark.parametrize(
    ("accept", "served"),
    [
        ("application/fhir+json; fhirVersion=3.0", False),
        ("application/fhir+json; fhirVersion=5.0", False),
        ("application/fhir+json; fhirVersion=4.0", True),
        ("application/fhir+json; fhirVersion=4.0, application/fhir+json; fhirVersion=3.0", True),
        ("application/fhir+json; fhirVersion=3.0, application/xml", False),
        ("application/fhir+json", True),
        ("*/*", True),
    ],
)
def test_an_answer_in_another_fhir_version_is_not_served(
    world: World,  # noqa: F811
    accept: str,
    served: bool,
) -> None:
    """The platform speaks R4; a client asking only for STU3 was answered in
    R4 as if it had asked for it."""
    response = f.client_for(world.nurse).get(
        f"/fhir/Condition?patient={world.person.pk}", HTTP_ACCEPT=accept
    )
    if served:
        assert response.status_code == 200, response.content[:300]
    else:
        assert response.status_code == 406
        assert OperationOutcome.model_validate_json(response.content)
        assert issue_code(response) == "request.not_acceptable"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/fhir+json; charset=iso-8859-1",
        "application/fhir+json; fhirVersion=3.0",
        "application/json; charset=latin1",
    ],
)
def test_a_body_in_another_charset_or_fhir_version_is_refused_as_such(
    world: World,  # noqa: F811
    content_type: str,
) -> None:
    """A Latin-1 body was misread as UTF-8 and refused as "a lone surrogate";
    an STU3 body was judged as R4."""
    before = _writes()
    body = bodies.diagnosis(world.person.pk)
    response = f.client_for(world.nurse).post(
        "/fhir/Condition",
        data=json.dumps(body, ensure_ascii=False).encode("latin-1", "replace"),
        content_type=content_type,
    )
    assert response.status_code == 415, response.content[:300]
    assert issue_code(response) == "request.unsupported_media_type"
    assert "UTF-8" in response.json()["issue"][0]["details"]["text"]
    assert _writes() == before


def test_a_utf8_body_that_says_so_is_taken(world: World) -> None:  # noqa: F811
    response = f.client_for(world.nurse).post(
        "/fhir/Condition",
        data=json.dumps(bodies.diagnosis(world.person.pk)),
        content_type="application/fhir+json; charset=UTF-8; fhirVersion=4.0",
    )
    assert response.status_code == 201, response.content[:300]
