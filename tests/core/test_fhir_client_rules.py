"""What a FHIR client meets at the edges of the RESTful API, on every door.

- A ``modifierExtension`` changes the meaning of the element it sits on (an
  extension that says "not", "ruled out", "planned only"), and
  ``implicitRules`` says the resource was written under rules beside FHIR's:
  a server that does not understand either SHALL refuse the resource
  (extensibility.html#modifierExtension). Stored as sent, a diagnosis said to
  be ruled out was shown and shared as a diagnosis.
- A transaction entry's ``request.url`` says where it is written; one naming
  another type than the resource it carries is refused, not written as the
  resource's own type.
- ``[base]`` is ``/fhir``: a transaction posted there without the closing
  slash was redirected (301, an HTML body), and the client's POST was lost.
- ``If-None-Match`` on an update ("only if it does not exist") was ignored,
  and the resource overwritten.
- ``Allow`` named OPTIONS on every endpoint, where OPTIONS is a 405.
- A resource read or written carries ``Last-Modified``, the instant of its
  ``meta.lastUpdated``, as its ETag carries its ``meta.versionId``.
"""

from __future__ import annotations

import email.utils
import json
from datetime import datetime
from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from consent.audit.models import AuditEntry
from consent.models import ConsentDirective, RecordResource
from core.models import Citizen
from tests import factories as f
from tests.acute.test_api import service_request
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, put, world  # noqa: F401

pytestmark = pytest.mark.django_db

NOT = [{"url": "http://example.org/fhir/StructureDefinition/ruled-out", "valueBoolean": True}]


def _writes() -> tuple[int, int, int]:
    return RecordResource.objects.count(), Citizen.objects.count(), ConsentDirective.objects.count()


def _last_audit_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _transaction(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def _entry(resource: dict[str, Any], url: str | None = None) -> dict[str, Any]:
    return {
        "resource": resource,
        "request": {"method": "POST", "url": url or resource["resourceType"]},
    }


def _modified_writes(world: World) -> list[tuple[str, str, str, dict[str, Any], str]]:  # noqa: F811
    """(who, method, path, body, the element refused) for every FHIR write door."""
    pid = world.person.pk
    diagnosis = bodies.diagnosis(pid)
    return [
        (
            "nurse",
            "POST",
            "/fhir/Condition",
            {**diagnosis, "modifierExtension": NOT},
            "Condition.modifierExtension[0]",
        ),
        (
            "nurse",
            "POST",
            "/fhir/Condition",
            {**diagnosis, "stage": [{"summary": {"text": "II"}, "modifierExtension": NOT}]},
            "Condition.stage[0].modifierExtension[0]",
        ),
        (
            "nurse",
            "POST",
            "/fhir/EpisodeOfCare",
            {**bodies.municipal_help(pid, org_id=world.home.pk), "modifierExtension": NOT},
            "EpisodeOfCare.modifierExtension[0]",
        ),
        (
            "nurse",
            "POST",
            "/fhir/CarePlan",
            {**bodies.care_plan(pid), "modifierExtension": NOT},
            "CarePlan.modifierExtension[0]",
        ),
        (
            "nurse",
            "PUT",
            f"/fhir/Condition/{world.diagnosis.pk}",
            {**diagnosis, "id": str(world.diagnosis.pk), "modifierExtension": NOT},
            "Condition.modifierExtension[0]",
        ),
        (
            "nurse",
            "POST",
            "/fhir/Consent",
            {**bodies.refusal(pid, organisations=[world.home.pk]), "modifierExtension": NOT},
            "Consent.modifierExtension[0]",
        ),
        (
            "coordinator",
            "POST",
            "/fhir/Patient",
            {
                **bodies.patient(f.cpr_number()),
                "contact": [{"name": {"family": "Hansen"}, "modifierExtension": NOT}],
            },
            "Patient.contact[0].modifierExtension[0]",
        ),
        (
            "physician",
            "POST",
            "/fhir/ServiceRequest",
            {**service_request(world.person.cpr), "modifierExtension": NOT},
            "ServiceRequest.modifierExtension[0]",
        ),
        (
            "nurse",
            "POST",
            "/fhir/",
            _transaction(
                _entry(bodies.care_plan(pid)), _entry({**diagnosis, "modifierExtension": NOT})
            ),
            "Bundle.entry[1].resource.modifierExtension[0]",
        ),
        (
            "nurse",
            "POST",
            "/fhir/",
            _transaction({**_entry(diagnosis), "modifierExtension": NOT}),
            "Bundle.entry[0].modifierExtension[0]",
        ),
    ]


def _client(world: World, who: str) -> Any:  # noqa: F811
    return f.client_for(
        {"nurse": world.nurse, "coordinator": world.coordinator, "physician": world.physician}[who]
    )


def _send(client: Any, method: str, path: str, body: dict[str, Any], **headers: str) -> Any:
    if method == "PUT":
        return put(client, path, body, **headers)
    return post(client, path, body, **headers)


def test_a_modifier_extension_is_refused_on_every_fhir_write_and_nothing_is_written(
    world: World,  # noqa: F811
) -> None:
    version = world.diagnosis.version_id
    before = _writes()
    referrals = _referral_count()
    for who, method, path, body, element in _modified_writes(world):
        response = _send(_client(world, who), method, path, body)
        assert response.status_code == 400, (path, element, response.content[:300])
        OperationOutcome.model_validate(response.json())
        issue = response.json()["issue"][0]
        assert issue["code"] == "not-supported", (path, element)
        assert issue_code(response) == "fhir.modifier_unknown", (path, element)
        assert issue["expression"] == [element], path
        assert "ændrer elementets betydning" in issue["details"]["text"], path
    assert _writes() == before
    assert _referral_count() == referrals
    world.diagnosis.refresh_from_db()
    assert world.diagnosis.version_id == version


def _referral_count() -> int:
    from acute.models import Referral

    return Referral.objects.count()


def test_implicit_rules_are_refused_on_a_resource_and_on_a_transaction(world: World) -> None:  # noqa: F811
    nurse = f.client_for(world.nurse)
    pid = world.person.pk
    before = _writes()
    for path, body, element in [
        (
            "/fhir/Condition",
            {**bodies.diagnosis(pid), "implicitRules": "http://example.org/rules"},
            "Condition.implicitRules",
        ),
        (
            "/fhir/",
            {
                **_transaction(_entry(bodies.diagnosis(pid))),
                "implicitRules": "http://example.org/rules",
            },
            "Bundle.implicitRules",
        ),
    ]:
        response = post(nurse, path, body)
        assert response.status_code == 400, response.content[:300]
        assert issue_code(response) == "fhir.implicit_rules_unknown"
        assert response.json()["issue"][0]["expression"] == [element]
    assert _writes() == before


def test_r9_a_write_refused_for_its_modifier_is_on_the_citizens_log(world: World) -> None:  # noqa: F811
    """As a write refused by R2 is: an attempt on her record all the same."""
    nurse = f.client_for(world.nurse)
    pid = world.person.pk
    before = _last_audit_id()
    post(nurse, "/fhir/Condition", {**bodies.diagnosis(pid), "modifierExtension": NOT})
    post(
        nurse,
        "/fhir/Consent",
        {**bodies.refusal(pid, organisations=[world.home.pk]), "modifierExtension": NOT},
    )
    added = [
        (e.outcome, e.reason_code, e.citizen_id, e.resource_type)
        for e in AuditEntry.objects.filter(id__gt=before).order_by("id")
    ]
    assert added == [
        ("denied", "fhir.modifier_unknown", pid, "Condition"),
        ("denied", "fhir.modifier_unknown", pid, "Consent"),
    ]


def test_an_ordinary_extension_is_still_taken(world: World) -> None:  # noqa: F811
    """Only a modifier is refused: an extension that adds, not changes, is kept."""
    extra = [
        {
            "url": "http://example.org/fhir/StructureDefinition/note",
            "valueString": "set i akutbesøg",
        }
    ]
    response = post(
        f.client_for(world.nurse),
        "/fhir/Condition",
        {**bodies.diagnosis(world.person.pk), "extension": extra},
    )
    assert response.status_code == 201, response.content[:300]
    assert extra[0] in response.json()["extension"]


@pytest.mark.parametrize("url", ["CarePlan", "Condition/7", "Condition?code=I10", "", 7])
def test_a_transaction_entry_whose_url_is_not_its_resources_type_is_refused(
    world: World,  # noqa: F811
    url: Any,
) -> None:
    pid = world.person.pk
    wrong = {"resource": bodies.diagnosis(pid), "request": {"method": "POST", "url": url}}
    before = _writes()
    response = post(
        f.client_for(world.nurse), "/fhir/", _transaction(_entry(bodies.care_plan(pid)), wrong)
    )
    assert response.status_code == 400, response.content[:300]
    assert issue_code(response) == "bundle.entry_url_mismatch"
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[1].request.url"]
    assert response.json()["issue"][0]["details"]["text"].startswith("Bundle.entry[1]: request.url")
    assert _writes() == before


def test_a_transaction_posted_to_the_base_without_its_slash_is_served(world: World) -> None:  # noqa: F811
    nurse = f.client_for(world.nurse)
    pid = world.person.pk
    before = RecordResource.objects.count()
    response = post(nurse, "/fhir", _transaction(_entry(bodies.care_plan(pid))))
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/fhir+json")
    assert response.json()["type"] == "transaction-response"
    assert RecordResource.objects.count() == before + 1
    refused = nurse.get("/fhir")
    assert refused.status_code == 405
    assert issue_code(refused) == "request.method_not_allowed"
    # Refused as at /fhir/, by the same rules: a batch is no transaction.
    batch = post(nurse, "/fhir", {**_transaction(_entry(bodies.care_plan(pid))), "type": "batch"})
    assert batch.status_code == 400
    assert issue_code(batch) == "bundle.not_transaction"


def test_if_none_match_on_an_update_or_a_create_is_refused_and_nothing_is_written(
    world: World,  # noqa: F811
) -> None:
    nurse = f.client_for(world.nurse)
    coordinator = f.client_for(world.coordinator)
    path = f"/fhir/Condition/{world.diagnosis.pk}"
    current = nurse.get(path).json()
    before = _writes()
    for client, method, url, body in [
        (nurse, "PUT", path, current),
        (nurse, "POST", "/fhir/Condition", bodies.diagnosis(world.person.pk)),
        (coordinator, "POST", "/fhir/Patient", bodies.patient(f.cpr_number())),
    ]:
        response = _send(client, method, url, body, HTTP_IF_NONE_MATCH="*")
        assert response.status_code == 400, (url, response.content[:300])
        issue = response.json()["issue"][0]
        assert issue["code"] == "not-supported"
        assert issue_code(response) == "fhir.if_none_match_unsupported"
        assert issue["expression"] == ["If-None-Match"]
        assert issue["details"]["text"].startswith("If-None-Match understøttes ikke")
    assert _writes() == before
    assert nurse.get(path).json()["meta"]["versionId"] == current["meta"]["versionId"]


def test_allow_names_only_what_is_served(world: World) -> None:  # noqa: F811
    nurse = f.client_for(world.nurse)
    for path in [
        "/fhir/metadata",
        f"/fhir/Condition/{world.diagnosis.pk}",
        f"/fhir/Condition?patient={world.person.pk}",
        f"/fhir/Patient/{world.person.pk}",
        "/fhir/",
    ]:
        response = nurse.options(path)
        assert response.status_code == 405, path
        allowed = {m.strip() for m in response["Allow"].split(",")}
        assert "OPTIONS" not in allowed, path
        assert allowed, path
    assert nurse.options("/fhir/Condition/1")["Allow"] == "GET, PUT, HEAD"
    # Nothing is served at an unknown path: no method is named as allowed there.
    assert not nurse.get("/fhir/Condition/1/").has_header("Allow")


def _last_modified(response: Any) -> datetime:
    parsed = email.utils.parsedate_to_datetime(response["Last-Modified"])
    assert parsed.tzinfo is not None
    return parsed


def _same_second(response: Any) -> None:
    body = response.json()
    updated = datetime.fromisoformat(body["meta"]["lastUpdated"])
    assert _last_modified(response) == updated.replace(microsecond=0)
    assert response["ETag"] == f'W/"{body["meta"]["versionId"]}"'


def test_last_modified_and_etag_are_the_resources_meta(world: World) -> None:  # noqa: F811
    nurse = f.client_for(world.nurse)
    created = post(nurse, "/fhir/Condition", bodies.diagnosis(world.person.pk))
    assert created.status_code == 201
    _same_second(created)
    path = f"/fhir/Condition/{created.json()['id']}"
    _same_second(nurse.get(path))
    updated = put(
        nurse, path, {**created.json(), "recordedDate": "2025-03-02"}, HTTP_IF_MATCH='W/"1"'
    )
    assert updated.status_code == 200
    _same_second(updated)
    _same_second(nurse.get(f"{path}/_history/1"))
    _same_second(nurse.get(f"/fhir/Patient/{world.person.pk}"))
    # A search and a refusal are no resource read: no Last-Modified.
    assert not nurse.get(f"/fhir/Condition?patient={world.person.pk}").has_header("Last-Modified")
    assert not nurse.get("/fhir/Condition/999999").has_header("Last-Modified")


def test_prefer_minimal_keeps_last_modified(world: World) -> None:  # noqa: F811
    response = post(
        f.client_for(world.nurse),
        "/fhir/Condition",
        bodies.diagnosis(world.person.pk),
        HTTP_PREFER="return=minimal",
    )
    assert response.status_code == 201
    assert response.content == b""
    assert response.has_header("Last-Modified") and response.has_header("ETag")


def test_a_bundle_with_a_modifier_is_answered_as_json_not_html(world: World) -> None:  # noqa: F811
    """The refusal is an OperationOutcome in FHIR JSON whatever the door."""
    response = f.client_for(world.nurse).post(
        "/fhir",
        data=json.dumps(
            _transaction({**_entry(bodies.diagnosis(world.person.pk)), "modifierExtension": NOT})
        ),
        content_type="application/fhir+json; charset=utf-8; fhirVersion=4.0",
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/fhir+json")
    assert issue_code(response) == "fhir.modifier_unknown"


@pytest.mark.parametrize(
    ("request_", "missing"),
    [
        ({"method": "POST"}, "request.url"),
        ({"url": "Condition"}, "request.method"),
        ({}, "request.method"),
        ({"method": None, "url": "Condition"}, "request.method"),
    ],
)
def test_a_transaction_entry_without_its_request_url_or_method_is_refused(
    world: World,  # noqa: F811
    request_: dict[str, Any],
    missing: str,
) -> None:
    """FHIR requires both (Bundle.entry.request.method and .url, 1..1); an
    entry without its url was written where its resource's type goes, as if
    it had said so. Refused, naming the entry and the element; nothing written."""
    pid = world.person.pk
    incomplete = {"resource": bodies.diagnosis(pid), "request": request_}
    before = _writes()
    response = post(
        f.client_for(world.nurse),
        "/fhir/",
        _transaction(_entry(bodies.care_plan(pid)), incomplete),
    )
    assert response.status_code == 400, response.content[:300]
    assert issue_code(response) == "bundle.entry_request_incomplete"
    issue = response.json()["issue"][0]
    assert issue["expression"] == [f"Bundle.entry[1].{missing}"]
    assert missing in issue["details"]["text"] and "Bundle.entry[1]" in issue["details"]["text"]
    assert _writes() == before


def _moments_as_numbers(world: World) -> list[tuple[str, str, str, dict[str, Any], str]]:  # noqa: F811
    """(who, method, path, body, the element refused): a date, dateTime or
    instant sent as a JSON number, on every FHIR write door."""
    pid = world.person.pk
    diagnosis = bodies.diagnosis(pid)
    return [
        ("nurse", "POST", "/fhir/Condition", {**diagnosis, "recordedDate": 2025}, "recordedDate"),
        (
            "nurse",
            "POST",
            "/fhir/CarePlan",
            {**bodies.care_plan(pid), "period": {"start": 1735689600}},
            "period.start",
        ),
        (
            "nurse",
            "PUT",
            f"/fhir/Condition/{world.diagnosis.pk}",
            {**diagnosis, "id": str(world.diagnosis.pk), "onsetDateTime": 1700000000},
            "onsetDateTime",
        ),
        (
            "coordinator",
            "POST",
            "/fhir/Patient",
            {**bodies.patient(f.cpr_number()), "birthDate": 0},
            "birthDate",
        ),
        (
            "physician",
            "POST",
            "/fhir/ServiceRequest",
            {**service_request(world.person.cpr), "authoredOn": 1700000000},
            "authoredOn",
        ),
        (
            "nurse",
            "POST",
            "/fhir/",
            _transaction(
                _entry(bodies.care_plan(pid)), _entry({**diagnosis, "recordedDate": 2025})
            ),
            "recordedDate",
        ),
    ]


def test_a_date_sent_as_a_number_is_refused_on_every_fhir_write_and_nothing_is_written(
    world: World,  # noqa: F811
) -> None:
    """The models read a number for a date as seconds since 1970: a
    partner's ``"recordedDate": 2025`` was stored as 1970-01-01T00:33:45Z and
    shown and shared as the day of the diagnosis. FHIR's JSON writes every
    date, dateTime and instant as a string; a number is refused, naming the
    element, and nothing is written."""
    version = world.diagnosis.version_id
    before = _writes()
    referrals = _referral_count()
    for who, method, path, body, element in _moments_as_numbers(world):
        response = _send(_client(world, who), method, path, body)
        assert response.status_code == 400, (path, element, response.content[:300])
        OperationOutcome.model_validate(response.json())
        issue = response.json()["issue"][0]
        assert issue_code(response) == "fhir.invalid", (path, element, issue)
        assert element in str(issue.get("expression")), (path, element, issue)
    assert _writes() == before
    assert _referral_count() == referrals
    world.diagnosis.refresh_from_db()
    assert world.diagnosis.version_id == version
    taken = post(
        f.client_for(world.nurse), "/fhir/Condition", bodies.diagnosis(world.person.pk, "J18")
    )
    assert taken.status_code == 201, taken.content[:300]
