"""Patient search as unmodified FHIR clients do it (``GET /fhir/Patient?name=…``),
through the gate (R1, R4) and audited (R9); only a CPR number in the URL is
refused, with directions to send it in the body."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

import pytest
from fhir.resources.R4B.bundle import Bundle

from consent.audit.models import AuditEntry
from core.models import Citizen, Role
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post

CPR_SYSTEM = "urn:oid:1.2.208.176.1.2"


@pytest.fixture
def named(world: World) -> World:
    """The nurse's citizen is Karen Marie Hansen; a namesake she has no visit for."""
    Citizen.objects.filter(pk=world.person.pk).update(
        given_name="Karen Marie", family_name="Hansen"
    )
    world.person.refresh_from_db()
    namesake = f.citizen()
    Citizen.objects.filter(pk=namesake.pk).update(given_name="Karen", family_name="Hansen")
    world.namesake = namesake  # type: ignore[attr-defined]
    return world


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [e["resource"]["id"] for e in response.json().get("entry", [])]


def test_r1_get_search_by_name_birthdate_gender_and_id_finds_only_her_own_citizen(
    named: World,
) -> None:
    client = f.client_for(named.nurse)
    mine = [str(named.person.pk)]
    born = named.person.birth_date
    for query in [
        "name=hansen",
        "family=Hans",
        "given=Marie",  # the start of any of her given names
        "name:exact=Hansen",
        "name:contains=ANSE",
        f"birthdate={born.year}",
        f"birthdate={born:%Y-%m}",
        f"birthdate=eq{born.isoformat()}",
        f"birthdate=ge{born.year - 1}-01-01&birthdate=le{born.year}-12-31",
        "gender=female",
        f"gender=http://hl7.org/fhir/administrative-gender|{named.person.sex}",
        f"_id={named.person.pk}",
        f"_id={named.person.pk},{named.namesake.pk}",  # type: ignore[attr-defined]
        "family=Hansen&given=Karen",
        "",
        "name=Hansen&_format=json&_pretty=true",
    ]:
        response = client.get(f"/fhir/Patient?{query}")
        assert _ids(response) == mine, query
        assert response.json()["total"] == 1, query
    # fhirpy's count() asks for the total alone, with what it adds about the answer's form.
    counted = client.get("/fhir/Patient?name=Hansen&_count=0&_totalMethod=count&_format=json")
    assert counted.json()["total"] == 1
    assert _ids(counted) == []
    for query in [
        "name=Jensen",
        "name:exact=hansen",
        f"birthdate=gt{born.isoformat()}",
        "birthdate=lt1900",
        "gender=male" if named.person.sex == "female" else "gender=female",
        f"_id={named.namesake.pk}",  # type: ignore[attr-defined]
        "_id=999999",
    ]:
        response = client.get(f"/fhir/Patient?{query}")
        assert _ids(response) == [] and response.json()["total"] == 0, query


@pytest.fixture
def accented(world: World) -> World:
    """The nurse's citizen is José Åse Sørensen-Ærø."""
    Citizen.objects.filter(pk=world.person.pk).update(
        given_name="José Åse", family_name="Sørensen-Ærø"
    )
    world.person.refresh_from_db()
    return world


@pytest.mark.parametrize(
    "query",
    [
        "name=jose",  # R4: the name and the value "normalized by case and accent"
        "name=JOSÉ",
        "given=åse",
        "given=ase",
        "family=sorensen",
        "family=SØRENSEN",
        "family=aero",  # a word after the hyphen; Æ folds to AE
        "name:contains=RENS",
        "name:contains=orense",
        "family:contains=ærø",
        "name:exact=Sørensen-Ærø",
    ],
)
def test_a_name_is_searched_regardless_of_case_and_accents(accented: World, query: str) -> None:
    """A partner's system that writes Jose or Sorensen did not find José or
    Sørensen: only the case was normalized (search.html#string)."""
    response = f.client_for(accented.nurse).get(f"/fhir/Patient?{query}")
    assert _ids(response) == [str(accented.person.pk)], query


@pytest.mark.parametrize(
    "query", ["name:exact=Sorensen-Aero", "name:exact=sørensen-ærø", "name=orensen"]
)
def test_exact_keeps_the_accents_and_the_default_still_starts_a_word(
    accented: World, query: str
) -> None:
    response = f.client_for(accented.nurse).get(f"/fhir/Patient?{query}")
    assert _ids(response) == [], query


def test_r9_every_citizen_a_search_shows_is_audited_and_an_id_refused_too(named: World) -> None:
    client = f.client_for(named.nurse)
    start = AuditEntry.objects.latest("id").pk
    assert _ids(client.get("/fhir/Patient?name=Hansen")) == [str(named.person.pk)]
    shown = AuditEntry.objects.filter(pk__gt=start, action="search", resource_type="Patient")
    assert [(e.citizen_id, e.outcome) for e in shown] == [(named.person.pk, "permitted")]
    assert shown[0].detail.get("params") == ["name"]
    # Asked by id for a citizen she may not see: empty, and the refusal is recorded.
    namesake = named.namesake  # type: ignore[attr-defined]
    assert _ids(client.get(f"/fhir/Patient?_id={namesake.pk}")) == []
    denied = AuditEntry.objects.filter(citizen_id=namesake.pk).latest("id")
    assert (denied.action, denied.outcome, denied.reason_code) == (
        "search",
        "denied",
        "no_care_relationship",
    )


def test_r4_a_citizen_who_refused_the_nurse_is_not_found_by_name(named: World) -> None:
    client = f.client_for(named.nurse)
    refusal = bodies.refusal(named.person.pk, organisations=[named.acute.pk])
    assert post(client, "/fhir/Consent", refusal).status_code == 201
    response = client.get("/fhir/Patient?name=Hansen")
    assert _ids(response) == [] and response.json()["total"] == 0


def test_r9_a_cpr_number_in_the_url_is_refused_with_directions_and_audited(
    named: World,
) -> None:
    client = f.client_for(named.nurse)
    cpr = str(named.person.cpr)
    for url in [
        f"/fhir/Patient?identifier={CPR_SYSTEM}|{cpr}",
        f"/fhir/Patient?identifier={cpr}",
        f"/fhir/Patient?identifier:of-type=x|{cpr}",
        f"/fhir/Patient?name={cpr}",
        f"/fhir/Patient?name={cpr[:6]}-{cpr[6:]}",
        f"/fhir/Patient?_id={cpr}",
        f"/fhir/Patient/_search?identifier={cpr}",
    ]:
        before = AuditEntry.objects.latest("id").pk
        response = client.get(url)
        assert response.status_code == 400, url
        assert issue_code(response) == "search.use_post", url
        text = response.content.decode()
        assert cpr not in text and cpr[6:] not in text, url
        diagnostics = response.json()["issue"][0]["diagnostics"]
        assert "POST /fhir/Patient/_search" in diagnostics and "form body" in diagnostics
        entry = AuditEntry.objects.filter(pk__gt=before).get()
        assert (entry.action, entry.outcome, entry.reason_code) == (
            "search",
            "denied",
            "cpr_in_url",
        )
        assert entry.citizen_id is None and cpr not in str(entry.detail)
    # A POST search with the number in the URL is refused alike.
    response = client.post(f"/fhir/Patient/_search?identifier={cpr}", {"identifier": cpr})
    assert response.status_code == 400 and issue_code(response) == "search.use_post"


def test_the_body_of_a_post_search_takes_the_same_parameters(named: World) -> None:
    client = f.client_for(named.nurse)
    response = client.post("/fhir/Patient/_search", {"family": "Hansen", "gender": "female"})
    assert _ids(response) == [str(named.person.pk)]
    by_number = client.post(
        "/fhir/Patient/_search", {"identifier": f"{CPR_SYSTEM}|{named.person.cpr}"}
    )
    assert _ids(by_number) == [str(named.person.pk)]
    assert named.person.cpr not in str(by_number.json()["link"])


def test_a_search_as_fhir_clients_send_it_is_a_valid_paged_searchset(named: World) -> None:
    """fhirpy and fhirclient search with GET and these parameters, unchanged."""
    client = f.client_for(named.nurse)
    for extra in range(3):
        other = f.citizen(born=dt.date(1950, 1, 1 + extra))
        Citizen.objects.filter(pk=other.pk).update(family_name="Hansen")
        f.open_visit(named.nurse, other, source_id=f"extra-{extra}")
    response = client.get(
        "/fhir/Patient?family=hansen&_count=2", HTTP_ACCEPT="application/fhir+json"
    )
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    bundle = response.json()
    Bundle.model_validate(bundle)
    assert bundle["type"] == "searchset" and bundle["total"] == 4 and len(bundle["entry"]) == 2
    follow = next(link["url"] for link in bundle["link"] if link["relation"] == "next")
    parts = urlsplit(follow)
    assert parts.path == "/fhir/Patient" and "family=hansen" in parts.query
    rest = client.get(f"{parts.path}?{parts.query}")
    assert rest.status_code == 200 and len(rest.json()["entry"]) == 2
    seen = {e["resource"]["id"] for e in bundle["entry"] + rest.json()["entry"]}
    assert len(seen) == 4


def test_patient_search_query_count_is_pinned(
    named: World, django_assert_max_num_queries: Any
) -> None:
    client = f.client_for(named.nurse)
    for extra in range(5):
        other = f.citizen()
        f.open_visit(named.nurse, other, source_id=f"pinned-{extra}")
    client.get("/fhir/Patient?_count=1")  # warm the token
    with django_assert_max_num_queries(12):
        assert client.get("/fhir/Patient?_count=50").json()["total"] == 6


def test_r3_roles_without_access_are_refused_and_audited(named: World) -> None:
    for membership in (
        named.analyst,
        named.auditor,
        named.medicine_officer,
        named.administrator,
    ):
        before = AuditEntry.objects.latest("id").pk
        response = f.client_for(membership).get("/fhir/Patient?name=Hansen")
        assert response.status_code == 403
        assert response.json()["resourceType"] == "OperationOutcome"
        entry = AuditEntry.objects.filter(pk__gt=before).get()
        assert (entry.outcome, entry.reason_code) == ("denied", "role_not_permitted")
    assert (
        f.client_for(f.staff(Role.COORDINATOR, named.acute)).get("/fhir/Patient").json()["total"]
        == 0
    )


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("colour=blue", "search.param_unknown"),
        ("birthdate=1941-13-01", "search.date_invalid"),
        ("birthdate=ap1941", "search.date_invalid"),
        ("gender:not=male", "search.modifier_unsupported"),
        ("name:fuzzy=Hansen", "search.modifier_unsupported"),
        ("_id=abc", "search.param_invalid"),
        ("name=", "search.param_invalid"),
        ("_count=many", "search.param_invalid"),
        ("_count=%205", "search.param_invalid"),  # a number as sent: no space, no plus
        ("_count=%2B5", "search.param_invalid"),
        ("_count=5.0", "search.param_invalid"),
    ],
)
def test_bad_search_parameters_are_a_400_operation_outcome(
    named: World, query: str, code: str
) -> None:
    response = f.client_for(named.nurse).get(f"/fhir/Patient?{query}")
    assert response.status_code == 400, response.content
    assert issue_code(response) == code


def _refused_searches(member: Any) -> list[str]:
    return list(
        AuditEntry.objects.filter(
            actor_user_id=member.user_id, resource_type="Patient", outcome="denied"
        ).values_list("reason_code", flat=True)
    )


@pytest.mark.parametrize(
    ("beside", "code"),
    [
        ({"name": "Zzz"}, "search.identifier_alone"),
        ({"birthdate": "1901-01-01"}, "search.identifier_alone"),
        ({"_sort": "name"}, "search.param_unknown"),
        ({"famly": "Hansen"}, "search.param_unknown"),
    ],
)
def test_r9_a_cpr_search_with_more_beside_it_is_refused_not_answered_by_the_number_alone(
    named: World, beside: dict[str, str], code: str
) -> None:
    """Searched by CPR number in the body, the other parameters were dropped:
    ``name=Zzz`` beside her number still showed her, and ``_sort`` or a
    misspelt parameter went unnoticed (the same on GET is refused). Refused
    by name, and recorded as a refused search (R9)."""
    nurse = f.client_for(named.nurse)
    response = nurse.post(
        "/fhir/Patient/_search", {"identifier": f"{CPR_SYSTEM}|{named.person.cpr}", **beside}
    )
    assert response.status_code == 400
    assert issue_code(response) == code
    assert named.person.cpr not in response.content.decode()
    assert _refused_searches(named.nurse) == [code]


def test_a_cpr_search_answers_the_page_asked_for(named: World) -> None:
    nurse = f.client_for(named.nurse)
    total_only = nurse.post(
        "/fhir/Patient/_search", {"identifier": named.person.cpr, "_count": "0"}
    )
    assert total_only.status_code == 200
    assert total_only.json()["total"] == 1
    assert "entry" not in total_only.json()
    assert _ids(nurse.post("/fhir/Patient/_search", {"identifier": named.person.cpr})) == [
        str(named.person.pk)
    ]


@pytest.mark.parametrize("number", ["3213011234", "0113991234", "0101354000"])
def test_r9_a_number_that_cannot_be_a_cpr_number_is_refused_not_found_empty(
    named: World, number: str
) -> None:
    """Ten digits whose first six are no date (or a birth date to come) name
    nobody: refused as at registration (``cpr.invalid``), never answered as
    "no such citizen", and recorded as a refused search."""
    nurse = f.client_for(named.nurse)
    response = nurse.post("/fhir/Patient/_search", {"identifier": f"{CPR_SYSTEM}|{number}"})
    assert response.status_code == 400
    assert issue_code(response) == "cpr.invalid"
    assert number not in response.content.decode()
    assert _refused_searches(named.nurse) == ["cpr.invalid"]


def test_r9_a_get_search_refused_for_its_parameter_is_recorded(named: World) -> None:
    response = f.client_for(named.nurse).get("/fhir/Patient?name=Hansen&_sort=name")
    assert response.status_code == 400 and issue_code(response) == "search.param_unknown"
    assert _refused_searches(named.nurse) == ["search.param_unknown"]
