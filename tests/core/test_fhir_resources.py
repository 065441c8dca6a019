"""The gated FHIR base, walked over every resource type registered on it.

Each type is taken from the registry (``core.fhir.resources.registered``), so
a type added later is walked too — and fails here until it has an example
below. For each: an unknown id is refused exactly as a forbidden one is and
recorded as a denied attempt (R9); a role that must be refused is refused and
recorded; ``_count`` is bounded and the paging links lead on; its
CapabilityStatement entry lists its interactions and search parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.utils import timezone

from consent.audit.models import AuditEntry
from consent.gate.hook import ConsentGate
from core.fhir.gate import register_gate, unregister_gate
from core.fhir.resources import FHIRResource, registered
from core.models import Membership, Role
from tests import factories as f
from tests.consent.audit.test_every_endpoint_audits import Seeded

pytestmark = pytest.mark.django_db

UNKNOWN = "987654321"

# One existing instance of each type, from the seeded citizen's data.
EXAMPLES: dict[tuple[str, str], Callable[[Seeded], str]] = {
    ("ServiceRequest", "referral-"): lambda s: f"referral-{s.ids['referral'][0]}",
    ("Task", "visit-"): lambda s: f"visit-{s.ids['visit'][0]}",
    ("Encounter", "visit-"): lambda s: f"visit-{s.ids['visit'][0]}",
    ("Observation", "vital-"): lambda s: f"vital-{s.ids['vital'][0]}",
    ("Observation", "lab-"): lambda s: f"lab-{s.ids['lab'][0]}",
    ("Procedure", ""): lambda s: s.ids["procedure"][0],
    ("MedicationRequest", ""): lambda s: s.ids["order"][0],
    ("MedicationAdministration", ""): lambda s: s.ids["administration"][0],
    ("Patient", ""): lambda s: s.ids["citizen"][0],
    ("Consent", ""): lambda s: s.ids["consent"][0],
    ("AuditEvent", ""): lambda s: s.ids["entry"][0],
}


def _record_example(kind: str) -> Callable[[Seeded], str]:
    return lambda s: next(i for t, i in s.records if t == kind)


for _kind in ("Condition", "EpisodeOfCare", "CarePlan", "Encounter"):
    EXAMPLES[(_kind, "")] = _record_example(_kind)

RESOURCES = registered()


def _name(resource: FHIRResource) -> str:
    return f"{resource.type}:{resource.id_prefix or 'id'}"


def _last_entry() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _denials(since: int, member: Membership) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(pk__gt=since, actor_user_id=member.user_id, outcome="denied")
    )


def _reader(seeded: Seeded, resource: FHIRResource) -> Membership:
    """Someone the type lets in: the nurse on the citizen's visit, or the auditor."""
    return seeded.nurse if Role.ACUTE_NURSE in resource.readers else seeded.auditor


def _example(seeded: Seeded, resource: FHIRResource) -> str:
    example = EXAMPLES.get((resource.type, resource.id_prefix))
    assert example is not None, f"{_name(resource)} has no example in this walk: add one"
    return example(seeded)


def test_every_fhir_type_with_read_or_search_is_on_the_base(client) -> None:
    statement = client.get("/fhir/metadata").json()
    served = {
        r["type"]
        for r in statement["rest"][0]["resource"]
        if {"read", "search-type"} & {i["code"] for i in r.get("interaction", [])}
    }
    assert served == {r.type for r in RESOURCES}


@pytest.mark.parametrize("resource", RESOURCES, ids=_name)
def test_capability_statement_entry_comes_from_the_declaration(
    client, resource: FHIRResource
) -> None:
    statement = client.get("/fhir/metadata").json()
    [entry] = [r for r in statement["rest"][0]["resource"] if r["type"] == resource.type]
    interactions = {i["code"] for i in entry["interaction"]}
    assert ("read" in interactions) == any(r.readable for r in RESOURCES if r.type == entry["type"])
    if resource.searchable:
        assert "search-type" in interactions
        listed = {p["name"] for p in entry["searchParam"]}
        assert {p.name for p in resource.search_params} | {"_count"} <= listed


@pytest.mark.parametrize("resource", RESOURCES, ids=_name)
def test_an_unknown_id_is_refused_as_a_forbidden_one_and_recorded(
    resource: FHIRResource, seeded_once: Seeded
) -> None:
    seeded = seeded_once
    reader = _reader(seeded, resource)
    example = _example(seeded, resource)
    url = f"/fhir/{resource.type}/"
    assert f.client_for(reader).get(url + example).status_code == 200

    before = _last_entry()
    unknown = f.client_for(reader).get(f"{url}{resource.id_prefix}{UNKNOWN}")
    assert unknown.status_code == 404
    assert unknown.json()["resourceType"] == "OperationOutcome"
    assert unknown.json()["issue"][0]["code"] == "not-found"
    recorded = _denials(before, reader)
    assert [e.resource_type for e in recorded] == [resource.type], _name(resource)

    if Role.ACUTE_NURSE in resource.readers:
        # An acute nurse of the same function, with no visit for the citizen (R1).
        outsider = seeded.refused[0]
        before = _last_entry()
        forbidden = f.client_for(outsider).get(url + example)
        assert (forbidden.status_code, forbidden.json()) == (unknown.status_code, unknown.json())
        assert _denials(before, outsider)


@pytest.mark.parametrize("resource", RESOURCES, ids=_name)
def test_a_role_that_must_be_refused_is_refused_and_recorded(
    resource: FHIRResource, seeded_once: Seeded
) -> None:
    seeded = seeded_once
    others = [role for role in Role.values if role not in resource.readers]
    # Deny by default: no type lets every role ask (the gate lets none at everything).
    assert others, _name(resource)
    role = others[0]
    member = f.staff(role, f.acute_function())
    before = _last_entry()
    response = f.client_for(member).get(f"/fhir/{resource.type}/{_example(seeded, resource)}")
    assert response.status_code == 403
    assert response.json()["resourceType"] == "OperationOutcome"
    [entry] = _denials(before, member)
    assert entry.resource_type == resource.type
    assert entry.reason_code == "role_not_permitted"
    if resource.searchable:
        before = _last_entry()
        response = f.client_for(member).get(
            f"/fhir/{resource.type}?{_search_query(seeded, resource)}"
        )
        # Refused, never an empty searchset as if the citizen had no data.
        assert response.status_code == 403
        assert response.json()["resourceType"] == "OperationOutcome"
        assert _denials(before, member)


def _search_query(seeded: Seeded, resource: FHIRResource) -> str:
    names = {p.name for p in resource.search_params}
    person = seeded.person.pk
    if resource.type == "AuditEvent":
        # The log grows with every search of it: page through what was there before.
        cut = timezone.localtime().isoformat()  # with its offset, as FHIR requires
        return urlencode({"patient": f"Patient/{person}", "date": f"lt{cut}"})
    if "patient" in names:
        return f"patient=Patient/{person}"
    return f"_id={person}"


def _links(bundle: dict) -> dict[str, dict[str, list[str]]]:
    return {link["relation"]: parse_qs(urlsplit(link["url"]).query) for link in bundle["link"]}


SEARCHABLE = [r for r in RESOURCES if r.searchable]


@pytest.mark.parametrize("resource", SEARCHABLE, ids=_name)
def test_count_is_bounded_and_paging_links_lead_on(
    resource: FHIRResource, seeded_once: Seeded
) -> None:
    seeded = seeded_once
    client = f.client_for(_reader(seeded, resource))
    base = f"/fhir/{resource.type}?{_search_query(seeded, resource)}"

    bad = client.get(base + "&_count=many")
    assert bad.status_code == 400
    assert bad.json()["issue"][0]["details"]["coding"][0]["code"] == "search.param_invalid"
    for asked, given in (("0", "0"), ("100000", "200")):
        bundle = client.get(f"{base}&_count={asked}").json()
        assert _links(bundle)["self"]["_count"] == [given], (resource.type, asked)

    # _count=0 asks for the total alone: no entries, and no next page to follow forever.
    summary = client.get(base + "&_count=0").json()
    assert summary.get("entry", []) == []
    assert {"self", "first"} == set(_links(summary)), resource.type
    if resource.type != "AuditEvent":  # the audit log is not counted (millions of rows)
        assert summary["total"] >= 1

    first = client.get(base + "&_count=1").json()
    assert first["type"] == "searchset"
    assert len(first.get("entry", [])) <= 1
    total = first.get("total", 2)  # an uncounted search (AuditEvent) has more
    assert total >= 1, f"{_name(resource)}: the seeded citizen's data should be found"
    links = _links(first)
    assert links["first"]["_offset"] == ["0"] and "previous" not in links
    if total > 1:
        assert links["next"]["_offset"] == ["1"]
        second = client.get(base + "&_count=1&_offset=1").json()
        assert _links(second)["previous"]["_offset"] == ["0"]
        assert second["entry"][0]["resource"]["id"] != first["entry"][0]["resource"]["id"]
    else:
        assert "next" not in links


def test_without_a_registered_gate_the_base_refuses_everything(seeded_once: Seeded) -> None:
    """Deny by default: before a gate is registered nothing is read or found."""
    seeded = seeded_once
    nurse = f.client_for(seeded.nurse)
    lab = f"/fhir/Observation/lab-{seeded.ids['lab'][0]}"
    search = f"/fhir/Observation?patient=Patient/{seeded.person.pk}"
    assert nurse.get(lab).status_code == 200
    unregister_gate()
    try:
        assert nurse.get(lab).status_code == 404
        assert nurse.get(search).status_code == 404
        assert nurse.get(f"/fhir/Patient/{seeded.person.pk}").status_code == 404
        condition = next(i for t, i in seeded.records if t == "Condition")
        assert nurse.get(f"/fhir/Condition/{condition}").status_code == 404
    finally:
        register_gate(ConsentGate())
    assert nurse.get(lab).status_code == 200


# What a read is asked that it does not serve, and the parameter the refusal names.
UNSERVED_ON_A_READ = (
    ("_summary=true", "_summary"),
    ("_elements=id", "_elements"),
    ("_sumary=false", "_sumary"),  # a misspelling
    ("_summary=false&_summary=true", "_summary"),
)
SERVED_ON_A_READ = (
    "_format=json",
    "_format=application/fhir%2Bjson",
    "_pretty=true",
    "_summary=false",
)


def _refused_read(response, name: str, code: str = "read.param_unknown") -> None:
    assert response.status_code == 400, (name, response.status_code, response.content[:300])
    assert response.json()["resourceType"] == "OperationOutcome"
    issue = response.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == code
    assert name in issue["diagnostics"], issue
    assert name in issue["details"]["text"], issue  # in Danish, naming it too


@pytest.mark.parametrize("resource", [r for r in RESOURCES if r.readable], ids=_name)
def test_a_read_with_a_parameter_it_does_not_serve_is_refused_and_recorded(
    resource: FHIRResource, seeded_once: Seeded
) -> None:
    """A read ignored its query: ``_summary=true`` or ``_elements=id`` was
    answered with the whole resource as if it were what was asked. It is
    refused as a search's unknown parameter is, whatever ``Prefer`` says, and
    the attempt is recorded on the citizen's log (R9)."""
    seeded = seeded_once
    reader = _reader(seeded, resource)
    client = f.client_for(reader)
    url = f"/fhir/{resource.type}/{_example(seeded, resource)}"
    whole = client.get(url)
    assert whole.status_code == 200
    for query, name in UNSERVED_ON_A_READ:
        for prefer in ("handling=lenient", "handling=strict"):
            before = _last_entry()
            response = client.get(f"{url}?{query}", HTTP_PREFER=prefer)
            _refused_read(response, name)
            [entry] = _denials(before, reader)
            assert (entry.action, entry.reason_code, entry.resource_type) == (
                "read",
                "read.param_unknown",
                resource.type,
            )
            if resource.ids_name_a_citizen:
                assert entry.citizen_id == seeded.person.pk, _name(resource)
    for query in SERVED_ON_A_READ:
        response = client.get(f"{url}?{query}")
        assert response.status_code == 200, (query, response.content[:300])
        assert response.json()["id"] == whole.json()["id"]
    assert client.get(f"{url}?_format=xml").status_code == 406


def test_a_version_read_and_everything_refuse_a_parameter_they_do_not_serve(
    seeded_once: Seeded,
) -> None:
    """``GET …/_history/<n>`` and ``Patient/<id>/$everything`` ignored their
    query too (``$everything?_type=Condition`` answered with everything)."""
    seeded = seeded_once
    client = f.client_for(seeded.nurse)
    condition = next(i for t, i in seeded.records if t == "Condition")
    care_plan = next(i for t, i in seeded.records if t == "CarePlan")
    for url in (
        f"/fhir/Condition/{condition}/_history/1",
        f"/fhir/CarePlan/{care_plan}/_history/1",
        f"/fhir/Patient/{seeded.person.pk}/$everything",
    ):
        assert client.get(url).status_code == 200, url
        # $everything is an operation with parameters of its own (R4: start,
        # end, _since, _type, _count): refused in its own words, not a read's.
        code = "operation.param_unknown" if "$" in url else "read.param_unknown"
        for query, name in (
            *UNSERVED_ON_A_READ,
            ("_type=Condition", "_type"),
            ("_count=5", "_count"),
        ):
            before = _last_entry()
            refused = client.get(f"{url}?{query}", HTTP_PREFER="handling=lenient")
            _refused_read(refused, name, code)
            danish = refused.json()["issue"][0]["details"]["text"]
            assert ("$everything" in danish) == ("$" in url), danish
            assert ("opslag" in danish) != ("$" in url), danish
            [entry] = _denials(before, seeded.nurse)
            assert (entry.reason_code, entry.citizen_id) == (code, seeded.person.pk), url
        for query in SERVED_ON_A_READ:
            assert client.get(f"{url}?{query}").status_code == 200, (url, query)
        assert client.get(f"{url}?_format=xml").status_code == 406, url


def test_read_history_in_the_statement_is_what_the_version_route_serves(
    client, seeded_once: Seeded
) -> None:
    """The statement said ``readHistory: false`` for the shared record's types,
    whose ``_history/<vid>`` answers earlier versions: a client that trusts
    it never asks for the version a reference names. For every type, what
    the statement says of vread is what ``<Type>/<id>/_history/<vid>``
    answers, version 1 included after an update."""
    seeded = seeded_once
    statement = client.get("/fhir/metadata").json()
    entries = {r["type"]: r for r in statement["rest"][0]["resource"]}
    served: dict[str, bool] = {}
    for resource in (r for r in RESOURCES if r.readable):
        reader = f.client_for(_reader(seeded, resource))
        resource_id = _example(seeded, resource)
        answered = reader.get(f"/fhir/{resource.type}/{resource_id}/_history/1")
        assert answered.status_code in (200, 404), (_name(resource), answered.content[:300])
        if answered.status_code == 200:
            assert answered.json()["meta"]["versionId"] == "1", _name(resource)
        served[resource.type] = served.get(resource.type, False) or answered.status_code == 200
    for resource_type, entry in entries.items():
        vread = "vread" in {i["code"] for i in entry.get("interaction", [])}
        says = (vread, entry.get("readHistory", False))  # false is left out of the JSON
        assert says == (served.get(resource_type, False),) * 2, (resource_type, says)
    assert entries["Condition"]["readHistory"] is True
