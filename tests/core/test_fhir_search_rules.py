"""FHIR R4 search and update rules a partner's client relies on, on every
type from the one base (search.html, http.html).

Tokens: ``code`` is the code in any system, ``system|code`` the code in that
system, ``|code`` the code with *no* system, ``system|`` any code of that
system. A modifier or a chain the platform does not serve is refused with an
OperationOutcome, never ignored into a wider answer; a refused search is an
attempt on the citizen it names (R9). An update's body carries the id in the
URL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from consent.audit.models import AuditEntry
from consent.models import RecordResource
from consent.services import record_resource_create
from core.actors import Actor
from core.fhir.capability import registered_resources
from core.fhir.resources import FHIRResource, Param, registered
from core.models import Citizen, Membership, Role
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import issue_code

pytestmark = pytest.mark.django_db

ICD10 = bodies.ICD10


@dataclass
class Scene:
    person: Citizen
    nurse: Membership
    auditor: Membership
    diagnosis: RecordResource


@pytest.fixture
def scene(db: Any) -> Scene:
    acute = f.acute_function()
    person = f.citizen(gp=f.gp_practice())
    nurse = f.staff(Role.ACUTE_NURSE, acute)
    f.open_visit(nurse, person)
    diagnosis = record_resource_create(
        actor=Actor.for_membership(nurse),
        data=bodies.diagnosis(person.pk, recordedDate="2025-03-01T10:00:00+01:00"),
        purpose="treatment",
    )
    return Scene(person, nurse, f.staff(Role.AUDITOR, acute), diagnosis)


def _total(response: Any) -> int:
    assert response.status_code == 200, response.content[:300]
    return int(Bundle.model_validate(response.json()).total or 0)


def _refused(response: Any, code: str, status: int = 400) -> None:
    assert response.status_code == status, response.content[:300]
    OperationOutcome.model_validate(response.json())
    assert issue_code(response) == code, response.content[:300]


@pytest.mark.parametrize(
    ("code", "found"),
    [
        ("I10", 1),  # any system
        (f"{ICD10}|I10", 1),
        ("|I10", 0),  # I10 with no system: the diagnosis has one
        (f"{ICD10}|", 1),  # any code of ICD-10
        ("urn:other|I10", 0),
        ("urn:other|", 0),
        (f"{ICD10}|J18", 0),
        (f"|J18,{ICD10}|I10", 1),  # a comma is "or"
    ],
)
def test_a_token_is_read_as_fhir_reads_it(scene: Scene, code: str, found: int) -> None:
    """``code=|I10`` answered with I10 of ICD-10 (the system ignored) and
    ``code=<ICD-10>|`` with nothing (the empty code taken for a code)."""
    client = f.client_for(scene.nurse)
    response = client.get("/fhir/Condition", {"patient": scene.person.pk, "code": code})
    assert _total(response) == found, code


@pytest.mark.parametrize(
    ("category", "found"),
    [
        ("somatic-diagnosis", 1),
        ("urn:tvaerakut:data-category|somatic-diagnosis", 1),
        ("urn:tvaerakut:data-category|", 1),  # every category of the platform's system
        ("|somatic-diagnosis", 0),  # a category with no system: there is none
        # Another system, or a code no Condition holds, is refused (below).
    ],
)
def test_the_category_token_has_the_same_rules(scene: Scene, category: str, found: int) -> None:
    client = f.client_for(scene.nurse)
    response = client.get("/fhir/Condition", {"patient": scene.person.pk, "category": category})
    assert _total(response) == found, category


@pytest.mark.parametrize(
    ("gender", "found"),
    [
        ("female", 1),
        ("http://hl7.org/fhir/administrative-gender|female", 1),
        ("http://hl7.org/fhir/administrative-gender|", 1),
        ("|female", 0),
    ],
)
def test_patient_gender_is_a_token_too(scene: Scene, gender: str, found: int) -> None:
    client = f.client_for(scene.nurse)
    response = client.get("/fhir/Patient", {"_id": str(scene.person.pk), "gender": gender})
    assert _total(response) == found, gender


def test_patient_gender_takes_its_code_system(scene: Scene) -> None:
    """As AuditEvent's outcome: a code of another system is outside the code
    set, refused rather than answered with an empty Bundle."""
    client = f.client_for(scene.nurse)
    asked = {"_id": str(scene.person.pk), "gender": "urn:other|female"}
    _refused(client.get("/fhir/Patient", asked), "search.param_invalid")


def test_audit_event_outcome_takes_its_code_system(scene: Scene) -> None:
    client = f.client_for(scene.auditor)
    ok = client.get("/fhir/AuditEvent", {"outcome": "http://hl7.org/fhir/audit-event-outcome|0"})
    assert ok.status_code == 200, ok.content[:300]
    _refused(client.get("/fhir/AuditEvent", {"outcome": "urn:other|0"}), "search.param_invalid")


def _searchable() -> list[FHIRResource]:
    seen: dict[str, FHIRResource] = {}
    for resource in registered():
        if resource.searchable:
            seen.setdefault(resource.type, resource)
    return list(seen.values())


def _base(resource: FHIRResource, scene: Scene) -> tuple[Membership, str]:
    reader = scene.auditor if resource.type == "AuditEvent" else scene.nurse
    if resource.type == "Patient":
        return reader, f"/fhir/Patient?_id={scene.person.pk}"
    return reader, f"/fhir/{resource.type}?patient={scene.person.pk}"


@pytest.mark.parametrize("resource", _searchable(), ids=lambda r: r.type)
def test_a_token_with_neither_system_nor_code_is_refused_on_every_type(
    scene: Scene, resource: FHIRResource
) -> None:
    reader, base = _base(resource, scene)
    client = f.client_for(reader)
    for param in resource.search_params:
        if param.type != "token" or param.name == "identifier":
            continue
        _refused(client.get(f"{base}&{param.name}=|"), "search.param_invalid")


@pytest.mark.parametrize("resource", _searchable(), ids=lambda r: r.type)
def test_a_modifier_not_served_is_refused_not_ignored_on_every_type(
    scene: Scene, resource: FHIRResource
) -> None:
    """``code:not=I10`` ignored would answer with I10 itself; ``:missing``,
    ``:text`` and a modifier no one knows are refused for what they are."""
    reader, base = _base(resource, scene)
    client = f.client_for(reader)
    served = {"exact", "contains"} if resource.type == "Patient" else set()
    for param in resource.search_params:
        if param.name == "identifier":
            continue
        for modifier in ("missing", "not", "text", "bogus"):
            if modifier in served:
                continue
            value = "true" if modifier == "missing" else "x"
            response = client.get(f"{base}&{param.name}:{modifier}={value}")
            _refused(response, "search.modifier_unsupported")
            assert response.json()["issue"][0]["expression"] == [f"{param.name}:{modifier}"]


@pytest.mark.parametrize(
    "query", ["subject.identifier=x", "patient.name=Hansen", "encounter.status=finished"]
)
def test_a_chained_search_is_refused_as_a_chain(scene: Scene, query: str) -> None:
    client = f.client_for(scene.nurse)
    _refused(client.get(f"/fhir/Observation?{query}"), "search.chain_unsupported")


def test_r9_a_search_refused_for_its_parameters_is_recorded_on_the_citizen(
    scene: Scene,
) -> None:
    client = f.client_for(scene.nurse)
    before = AuditEntry.objects.count()
    response = client.get(f"/fhir/Condition?patient={scene.person.pk}&code:not=I10")
    _refused(response, "search.modifier_unsupported")
    assert AuditEntry.objects.count() == before + 1
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.outcome, entry.citizen_id) == ("search", "denied", scene.person.pk)
    assert (entry.resource_type, entry.reason_code) == ("Condition", "search.modifier_unsupported")
    assert entry.actor_user_id == scene.nurse.user_id


def test_a_refused_modifier_is_explained_in_danish(scene: Scene) -> None:
    client = f.client_for(scene.nurse)
    response = client.get(f"/fhir/Condition?patient={scene.person.pk}&code:not=I10")
    assert response.json()["issue"][0]["details"]["text"] == (
        "code tager ikke :not her (denne søgeparameter tager ingen modifikator)."
    )


@pytest.mark.parametrize("resource", _searchable(), ids=lambda r: r.type)
def test_summary_count_answers_the_total_alone_on_every_type(
    scene: Scene, resource: FHIRResource
) -> None:
    reader, base = _base(resource, scene)
    client = f.client_for(reader)
    counted = client.get(f"{base}&_summary=count")
    assert counted.status_code == 200, counted.content[:300]
    bundle = counted.json()
    assert bundle["type"] == "searchset" and "entry" not in bundle
    assert client.get(f"{base}&_summary=false").status_code == 200
    _refused(client.get(f"{base}&_summary=text"), "search.param_invalid")


def test_summary_count_counts_what_the_reader_may_see(scene: Scene) -> None:
    client = f.client_for(scene.nurse)
    response = client.get(f"/fhir/Condition?patient={scene.person.pk}&_summary=count")
    assert _total(response) == 1 and "entry" not in response.json()


@pytest.mark.parametrize("resource", _searchable(), ids=lambda r: r.type)
def test_post_search_with_a_form_body_is_served_on_every_searchable_type(
    scene: Scene, resource: FHIRResource
) -> None:
    """http.html#search: ``POST [type]/_search`` has the GET search's meaning."""
    reader, base = _base(resource, scene)
    query = base.partition("?")[2]
    client = f.client_for(reader)
    response = client.post(
        f"/fhir/{resource.type}/_search",
        data=query,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, (resource.type, response.content[:300])
    assert response.json()["type"] == "searchset"
    if resource.type != "AuditEvent":  # each search there adds to what it finds
        assert _total(response) == _total(client.get(base))


@pytest.mark.parametrize("resource", _searchable(), ids=lambda r: r.type)
def test_post_search_reads_the_url_and_the_form_together_on_every_type(
    scene: Scene, resource: FHIRResource
) -> None:
    """http.html#search: a POST search's parameters are the URL's and the
    form's together. A page size in both is given twice and refused as a
    repeat, as in a GET; the form's value used and the URL's dropped answered
    another query than the one sent. The refusal is recorded (R9)."""
    reader, base = _base(resource, scene)
    client = f.client_for(reader)
    before = AuditEntry.objects.count()
    response = client.post(
        f"/fhir/{resource.type}/_search?_count=1",
        data=base.partition("?")[2] + "&_count=2",
        content_type="application/x-www-form-urlencoded",
    )
    _refused(response, "search.param_repeated")
    assert response.json()["issue"][0]["expression"] == ["_count"]
    entry = AuditEntry.objects.filter(id__gt=0).latest("id")
    assert AuditEntry.objects.count() == before + 1
    assert (entry.action, entry.outcome, entry.reason_code) == (
        "search",
        "denied",
        "search.param_repeated",
    )


def test_post_search_applies_a_range_split_between_the_url_and_the_form(scene: Scene) -> None:
    """``date=ge…`` in the URL and ``date=lt…`` in the form is one range: the
    lower bound was dropped and an older diagnosis answered as inside it."""
    record_resource_create(
        actor=Actor.for_membership(scene.nurse),
        data=bodies.diagnosis(scene.person.pk, recordedDate="2020-05-01T10:00:00+01:00"),
        purpose="treatment",
    )
    client = f.client_for(scene.nurse)
    response = client.post(
        "/fhir/Condition/_search?date=ge2025-01-01",
        data=f"patient={scene.person.pk}&date=lt2026-01-01",
        content_type="application/x-www-form-urlencoded",
    )
    assert _total(response) == 1
    [entry] = response.json()["entry"]
    assert entry["resource"]["id"] == str(scene.diagnosis.pk)
    # The next page is the same range: the links repeat both bounds.
    self_link = next(link["url"] for link in response.json()["link"] if link["relation"] == "self")
    assert "date=ge2025-01-01" in self_link and "date=lt2026-01-01" in self_link


def test_post_search_naming_another_citizen_in_the_url_is_refused(scene: Scene) -> None:
    """``patient`` in the URL and in the form naming two citizens is no one
    citizen's search: refused, not answered for the form's citizen."""
    other = f.citizen()
    client = f.client_for(scene.nurse)
    response = client.post(
        f"/fhir/Condition/_search?patient=Patient/{other.pk}",
        data=f"patient=Patient/{scene.person.pk}",
        content_type="application/x-www-form-urlencoded",
    )
    _refused(response, "search.patient_conflict")


def test_post_search_asking_for_xml_in_the_form_is_not_acceptable(scene: Scene) -> None:
    """``_format=xml`` in the form asks for XML as it does in the URL (406),
    not answered in JSON as if it had not been asked."""
    client = f.client_for(scene.nurse)
    response = client.post(
        "/fhir/Condition/_search",
        data=f"patient={scene.person.pk}&_format=application/fhir%2Bxml",
        content_type="application/x-www-form-urlencoded",
    )
    _refused(response, "request.not_acceptable", status=406)


@pytest.mark.parametrize(
    "resource", [r for r in _searchable() if r.type != "Patient"], ids=lambda r: r.type
)
def test_a_cpr_number_in_a_post_search_form_is_refused_not_echoed_into_links(
    scene: Scene, resource: FHIRResource
) -> None:
    """A form may carry what a URL may not, but a search's paging links repeat
    its values as URLs: ``patient=<CPR number>`` was read as a Patient id and
    the number put in every link. Only Patient's identifier is searched by
    CPR number; anywhere else it is refused, never echoed, and the attempt
    recorded (R9)."""
    reader, _ = _base(resource, scene)
    cpr = scene.person.cpr
    client = f.client_for(reader)
    before = AuditEntry.objects.count()
    response = client.post(
        f"/fhir/{resource.type}/_search",
        data=f"patient={cpr}",
        content_type="application/x-www-form-urlencoded",
    )
    _refused(response, "search.cpr_not_searchable")
    assert response.json()["issue"][0]["expression"] == ["patient"]
    assert cpr not in response.content.decode()
    assert AuditEntry.objects.count() == before + 1
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.outcome, entry.reason_code) == (
        "search",
        "denied",
        "search.cpr_not_searchable",
    )
    assert entry.actor_user_id == reader.user_id
    # The number read as a Patient id names no citizen's log.
    assert entry.citizen_id is None


def test_a_cpr_number_in_a_post_search_form_is_explained_in_danish(scene: Scene) -> None:
    client = f.client_for(scene.nurse)
    response = client.post(
        "/fhir/Condition/_search",
        data=f"patient={scene.person.pk}&code={scene.person.cpr}",
        content_type="application/x-www-form-urlencoded",
    )
    _refused(response, "search.cpr_not_searchable")
    assert response.json()["issue"][0]["details"]["text"] == (
        "Der søges kun på CPR-nummer som Patients identifier; code tager intet CPR-nummer:"
        " søg med patient=Patient/<id>."
    )


def test_a_cpr_search_of_patient_in_the_form_body_is_still_served(scene: Scene) -> None:
    client = f.client_for(scene.nurse)
    response = client.post(
        "/fhir/Patient/_search",
        data=f"identifier=urn:oid:1.2.208.176.1.2|{scene.person.cpr}",
        content_type="application/x-www-form-urlencoded",
    )
    assert _total(response) == 1
    assert scene.person.cpr not in json.dumps(response.json()["link"])


def test_the_statement_declares_summary_and_no_modifiers(scene: Scene) -> None:
    statement = f.client_for(None).get("/fhir/metadata").json()
    for entry in statement["rest"][0]["resource"]:
        names = [p["name"] for p in entry.get("searchParam", [])]
        if "_count" in names:
            assert "_summary" in names, entry["type"]
        assert "searchInclude" not in entry and "searchRevInclude" not in entry
    assert registered_resources()["Condition"].search_params


# --- update: the body's id is the URL's ------------------------------------------------


def put(client: Any, url: str, body: dict[str, Any], **headers: str) -> Any:
    """The body as it is, id or none."""
    return client.put(url, data=json.dumps(body), content_type=bodies.FHIR, **headers)


def _updatable(scene: Scene) -> list[tuple[str, dict[str, Any]]]:
    body = bodies.diagnosis(scene.person.pk, recordedDate="2025-03-01T10:00:00+01:00")
    return [
        (f"Condition/{scene.diagnosis.pk}", body),
        (f"Patient/{scene.person.pk}", bodies.patient(scene.person.cpr)),
    ]


def _update_types() -> set[str]:
    return {t for t, cap in registered_resources().items() if "update" in cap.interactions}


def test_every_type_that_updates_is_probed() -> None:
    # The shared record's four types share one view; Condition stands for them.
    assert _update_types() == {"Condition", "EpisodeOfCare", "CarePlan", "Encounter", "Patient"}


@pytest.mark.parametrize("sent", [None, "", "999999", "wrong id"])
def test_an_update_whose_body_lacks_the_urls_id_is_refused_and_recorded(
    scene: Scene, sent: str | None
) -> None:
    """http.html#update: the body SHALL carry an id identical to the URL's;
    without one, the update went through as if it had."""
    client = f.client_for(scene.nurse)
    for path, body in _updatable(scene):
        if sent is not None:
            body = {**body, "id": sent}
        before = AuditEntry.objects.count()
        response = put(client, f"/fhir/{path}", body, HTTP_IF_MATCH='W/"1"')
        code = "fhir.id_missing" if not sent else "fhir.id_mismatch"
        _refused(response, code)
        assert response.json()["issue"][0]["expression"] == ["id"]
        assert AuditEntry.objects.count() == before + 1
        entry = AuditEntry.objects.latest("id")
        assert (entry.action, entry.outcome, entry.reason_code) == ("update", "denied", code)
        assert entry.citizen_id == scene.person.pk
    scene.diagnosis.refresh_from_db()
    assert scene.diagnosis.version_id == 1


def test_an_update_with_the_urls_id_is_written(scene: Scene) -> None:
    client = f.client_for(scene.nurse)
    for path, body in _updatable(scene):
        response = put(
            client, f"/fhir/{path}", {**body, "id": path.partition("/")[2]}, HTTP_IF_MATCH='W/"1"'
        )
        assert response.status_code == 200, (path, response.content[:300])
        assert response.json()["meta"]["versionId"] == "2"


def test_the_missing_id_is_explained_in_danish(scene: Scene) -> None:
    client = f.client_for(scene.nurse)
    body = bodies.diagnosis(scene.person.pk, recordedDate="2025-03-01T10:00:00+01:00")
    response = put(client, f"/fhir/Condition/{scene.diagnosis.pk}", body, HTTP_IF_MATCH='W/"1"')
    assert response.json()["issue"][0]["details"]["text"] == (
        "En opdatering skal indeholde det samme id som i URL'en."
    )


@pytest.mark.parametrize(
    ("query", "found"),
    [
        # 29 March 2026 has 23 hours in Copenhagen, 25 October 25.
        ("date=2026-03-29", ["2026-03-29T01:30:00+01:00", "2026-03-29T23:30:00+02:00"]),
        (
            "date=2026-10-25",
            ["2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00", "2026-10-25T23:59:00+01:00"],
        ),
        (
            "date=ge2026-03-29&date=le2026-03-29",
            ["2026-03-29T01:30:00+01:00", "2026-03-29T23:30:00+02:00"],
        ),
        ("date=sa2026-03-29&date=eb2026-10-25", ["2026-03-30T00:30:00+02:00"]),
        ("date=2026-03-29T00:30:00Z", ["2026-03-29T01:30:00+01:00"]),
        (
            "date=2026-03",
            ["2026-03-29T01:30:00+01:00", "2026-03-29T23:30:00+02:00", "2026-03-30T00:30:00+02:00"],
        ),
    ],
)
def test_a_date_is_a_copenhagen_day_also_when_the_clocks_change(
    scene: Scene, query: str, found: list[str]
) -> None:
    """A day, month or year is the reader's calendar: the day the clocks go
    forward ends at 22:00 UTC, the day they go back at 23:00 UTC."""
    actor = Actor.for_membership(scene.nurse)
    for when in (
        "2026-03-29T01:30:00+01:00",
        "2026-03-29T23:30:00+02:00",
        "2026-03-30T00:30:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-25T02:30:00+01:00",
        "2026-10-25T23:59:00+01:00",
    ):
        record_resource_create(
            actor=actor,
            data=bodies.diagnosis(scene.person.pk, recordedDate=when),
            purpose="treatment",
        )
    client = f.client_for(scene.nurse)
    response = client.get(f"/fhir/Condition?patient={scene.person.pk}&{query}")
    assert response.status_code == 200, response.content[:300]
    dates = sorted(e["resource"]["recordedDate"] for e in response.json().get("entry", []))
    assert dates == sorted(found), query


@pytest.mark.parametrize(
    "moment", ["9999-12-31T23:59:59Z", "9999-12-31T23:59Z", "9999-12-31T23:59:59.999999+01:00"]
)
def test_the_last_instant_of_the_calendar_is_a_date_like_any_other(
    scene: Scene, moment: str
) -> None:
    """Its range has no next second to end at: it was refused as no date on
    the record's types, while AuditEvent searched it."""
    client = f.client_for(scene.nurse)
    query = urlencode({"patient": scene.person.pk, "date": f"le{moment}"})
    assert _total(client.get(f"/fhir/Condition?{query}")) == 1
    query = urlencode({"patient": scene.person.pk, "date": f"gt{moment}"})
    assert _total(client.get(f"/fhir/Condition?{query}")) == 0


# The token parameters whose values are open (a code system the platform does
# not close: ICD-10 and the others a diagnosis is coded in; ids; the CPR
# number). Every other token parameter a type declares is bound to a code set.
OPEN_TOKENS = {"code", "_id", "identifier"}


def _closed_tokens() -> list[tuple[FHIRResource, Param]]:
    return [
        (resource, param)
        for resource in _searchable()
        for param in resource.search_params
        if param.type == "token" and param.name not in OPEN_TOKENS
    ]


def test_every_token_parameter_is_either_open_or_bound_to_its_codes() -> None:
    """A token parameter added without its code set would answer a mistyped
    code with an empty Bundle: each one the statement declares is either
    named open here or bound to the codes the platform writes."""
    declared = {
        (resource_type, p.name)
        for resource_type, cap in registered_resources().items()
        for p in cap.search_params
        if p.type == "token" and not p.name.startswith("_") and p.name not in OPEN_TOKENS
    }
    bound = {(resource.type, param.name) for resource, param in _closed_tokens() if param.codes}
    assert declared == bound
    assert {"Condition", "EpisodeOfCare", "CarePlan", "Encounter"} <= {t for t, _ in bound}


@pytest.mark.parametrize(
    ("resource", "param"),
    _closed_tokens(),
    ids=lambda x: getattr(x, "type", getattr(x, "name", "")),
)
def test_a_code_outside_a_closed_token_is_refused_on_get_and_post_and_recorded(
    scene: Scene, resource: FHIRResource, param: Param
) -> None:
    """``category=x`` (or a category another type holds, or the right code in
    another system) answered with an empty Bundle, which a partner reads as
    "the citizen has nothing in it": refused as ``gender=x`` is, naming the
    codes taken, through GET and POST alike, and recorded (R9)."""
    reader, base = _base(resource, scene)
    query = base.partition("?")[2]
    client = f.client_for(reader)
    taken = param.codes[0]
    in_system = f"{param.system}|{taken}" if param.system else taken
    ok = client.get(f"{base}&{urlencode({param.name: in_system})}")
    assert ok.status_code == 200, ok.content[:300]
    # A code the same parameter takes on another type (care-plan on Condition).
    others = sorted(
        {c for _, p in _closed_tokens() if p.name == param.name for c in p.codes} - set(param.codes)
    )
    outside = ["not-a-code", f"urn:other|{taken}", f"{taken},not-a-code", *others[:1]]
    for value in outside:
        before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
        got = client.get(f"{base}&{urlencode({param.name: value})}")
        _refused(got, "search.param_invalid")
        text = got.json()["issue"][0]["details"]["text"]
        # A long list is shortened in the middle, as every refusal's values are.
        assert all(code in text for code in param.codes) or (
            "…" in text and param.codes[0] in text and param.codes[-1] in text
        ), (value, text)
        posted = client.post(
            f"/fhir/{resource.type}/_search",
            data=f"{query}&{urlencode({param.name: value})}",
            content_type="application/x-www-form-urlencoded",
        )
        _refused(posted, "search.param_invalid")
        assert posted.json()["issue"][0]["details"]["text"] == text
        recorded = AuditEntry.objects.filter(id__gt=before).order_by("id")
        assert [
            (e.action, e.outcome, e.resource_type, e.citizen_id, e.reason_code) for e in recorded
        ] == [("search", "denied", resource.type, scene.person.pk, "search.param_invalid")] * 2, (
            value
        )


def test_the_statement_names_the_codes_of_every_closed_token(scene: Scene) -> None:
    client = f.client_for(scene.nurse)
    statement = client.get("/fhir/metadata").json()
    documented = {
        (r["type"], p["name"]): p.get("documentation", "")
        for r in statement["rest"][0]["resource"]
        for p in r.get("searchParam", [])
    }
    for resource, param in _closed_tokens():
        text = documented[(resource.type, param.name)]
        assert all(code in text for code in param.codes), (resource.type, param.name, text)
