"""The shared record over FHIR: create, read, search, versioned update, R2 at the door."""

from __future__ import annotations

import pytest

from consent.audit.models import AuditEntry
from consent.models import RecordResource, RecordVersion
from core.models import Role
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, put


def test_every_category_is_created_read_and_carries_source_and_category(world: World) -> None:
    client = f.client_for(world.nurse)
    pid = world.person.pk
    for body, type_ in [
        (bodies.nursing_problem(pid), "Condition"),
        (bodies.municipal_help(pid, org_id=world.home.pk), "EpisodeOfCare"),
        (bodies.care_plan(pid), "CarePlan"),
        (bodies.hospital_contact(pid, world.department.pk), "Encounter"),
    ]:
        created = post(client, f"/fhir/{type_}", body)
        assert created.status_code == 201, created.content
        assert created["Location"].endswith(f"/fhir/{type_}/{created.json()['id']}/_history/1")
        read = client.get(f"/fhir/{type_}/{created.json()['id']}")
        assert read.status_code == 200
        got = read.json()
        assert got["meta"]["tag"][0]["code"] == body["meta"]["tag"][0]["code"]
        assert any(e["url"].endswith("source-organisation") for e in got["extension"])


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda b: b.update(meta={}), "record.category_missing"),
        (lambda b: b.update(meta=bodies.tag("medication")), "record.category_not_permitted"),
        (lambda b: b.update(meta=bodies.tag("care-plan")), "record.category_type_mismatch"),
        (lambda b: b.update(code={"text": "hypertension"}), "record.diagnosis_code_required"),
    ],
)
def test_r2_resources_outside_the_permitted_categories_are_refused(
    world: World, mutate, code: str
) -> None:
    body = bodies.diagnosis(world.person.pk)
    mutate(body)
    response = post(f.client_for(world.nurse), "/fhir/Condition", body)
    assert response.status_code == 400
    assert issue_code(response) == code
    assert response.json()["issue"][0]["diagnostics"].startswith("R2")


def test_r2_unknown_resource_types_and_detailed_contacts_are_refused(world: World) -> None:
    client = f.client_for(world.nurse)
    observation = {"resourceType": "Observation", "meta": bodies.tag("care-plan")}
    response = post(
        client,
        "/fhir/",
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": observation, "request": {"method": "POST", "url": "Observation"}}
            ],
        },
    )
    assert response.status_code == 400 and issue_code(response) == "record.type_not_permitted"
    contact = bodies.hospital_contact(world.person.pk, world.department.pk)
    contact["reasonCode"] = [{"text": "depression"}]
    response = post(client, "/fhir/Encounter", contact)
    assert response.status_code == 400
    assert issue_code(response) == "record.contact_detail_not_permitted"
    not_a_department = bodies.hospital_contact(world.person.pk, world.gp.pk)
    response = post(client, "/fhir/Encounter", not_a_department)
    assert issue_code(response) == "record.contact_not_department"


def test_invalid_fhir_is_a_400_without_echoing_values(world: World) -> None:
    body = bodies.diagnosis(world.person.pk, recordedDate="not-a-date-" + world.person.cpr)
    response = post(f.client_for(world.nurse), "/fhir/Condition", body)
    assert response.status_code == 400 and issue_code(response) == "fhir.invalid"
    assert world.person.cpr not in response.content.decode()


def test_r2_the_database_refuses_a_chapter_f_code_whatever_path_writes_it(world: World) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        RecordResource.objects.filter(pk=world.diagnosis.pk).update(code="F20")


def test_versioned_update_refuses_a_stale_version_and_keeps_history(world: World) -> None:
    client = f.client_for(world.nurse)
    url = f"/fhir/Condition/{world.diagnosis.pk}"
    body = bodies.diagnosis(world.person.pk, code="I11")
    assert put(client, url, body).status_code == 412  # no version named
    first = put(client, url, body, HTTP_IF_MATCH='W/"1"')
    assert first.status_code == 200, first.content
    assert first.json()["meta"]["versionId"] == "2" and first["ETag"] == 'W/"2"'
    stale = put(client, url, bodies.diagnosis(world.person.pk, code="I12"), HTTP_IF_MATCH='W/"1"')
    assert stale.status_code == 412 and issue_code(stale) == "record.version_conflict"
    assert client.get(url).json()["code"]["coding"][0]["code"] == "I11"
    old = client.get(f"{url}/_history/1")
    assert old.status_code == 200 and old.json()["code"]["coding"][0]["code"] == "I10"
    assert list(
        RecordVersion.objects.filter(resource=world.diagnosis).values_list("version_id", flat=True)
    ) == [1, 2]
    moved = put(client, url, bodies.diagnosis(world.gp.pk), HTTP_IF_MATCH='W/"2"')
    assert moved.status_code in (400, 404)


def test_search_by_patient_category_code_and_date_with_paging(world: World) -> None:
    client = f.client_for(world.nurse)
    pid = world.person.pk
    for code in ("E11", "J44", "I50"):
        post(client, "/fhir/Condition", bodies.diagnosis(pid, code=code))
    post(client, "/fhir/Condition", bodies.nursing_problem(pid))
    got = client.get(f"/fhir/Condition?patient={pid}&category=somatic-diagnosis&_count=2")
    assert got.status_code == 200
    bundle = got.json()
    assert bundle["total"] == 4 and len(bundle["entry"]) == 2
    assert any(link["relation"] == "next" for link in bundle["link"])
    by_code = client.get(f"/fhir/Condition?patient={pid}&code={bodies.ICD10}|E11").json()
    assert by_code["total"] == 1
    assert client.get(f"/fhir/Condition?patient={pid}&date=ge2025-04-01").json()["total"] == 1
    assert client.get(f"/fhir/Condition?patient={pid}&date=lt2025-04-01").json()["total"] == 4
    assert client.get("/fhir/Condition?colour=blue").status_code == 400


def test_a_date_is_a_year_month_day_or_instant_and_is_read_whole_or_refused(
    world: World,
) -> None:
    """FHIR's date forms, each standing for its whole range of time; a value
    in any other form is a 400 naming the parameter, never read in part (a
    time of 25:00 was dropped and the day searched)."""
    client = f.client_for(world.nurse)
    pid = world.person.pk
    for code in ("E11", "J44", "I50"):  # dated 2025-03-01, as the world's own diagnosis
        post(client, "/fhir/Condition", bodies.diagnosis(pid, code=code))

    def total(value: str) -> int:
        got = client.get(f"/fhir/Condition?patient={pid}&category=somatic-diagnosis&date={value}")
        assert got.status_code == 200, (value, got.content)
        return got.json()["total"]

    assert [total(v) for v in ("2025", "2025-03", "2025-03-01", "2025-02", "2025-03-02")] == [
        4,
        4,
        4,
        0,
        0,
    ]
    # A date alone is that Danish day from its first moment (00:00 at +01:00),
    # not midnight UTC (01:00 on a Danish clock).
    assert total("ge2025-03-01T00:00:00%2B01:00") == 4 and total("lt2025-03-01T00:00%2B01:00") == 0
    assert total("2025-02-28T23:00Z") == 4  # the same minute, in UTC
    assert total("2025-03-01T00:00Z") == 0
    for bad in (
        "2025-01-01T25:00Z",
        "2025-3-1",
        "20250301",
        "2025-W09",
        "%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%95",  # full-width digits
        "ge",
    ):
        got = client.get(f"/fhir/Condition?patient={pid}&date={bad}")
        assert got.status_code == 400 and issue_code(got) == "search.date_invalid", bad
    # A time without its zone names no instant: refused as every door refuses it.
    naive = client.get(f"/fhir/Condition?patient={pid}&date=2025-03-01T00:00")
    assert naive.status_code == 400 and issue_code(naive) == "time.naive"
    birth = client.get("/fhir/Patient?birthdate=1941-03-02T00:00Z")
    assert birth.status_code == 400 and issue_code(birth) == "search.date_invalid"


def test_search_never_reveals_hidden_records_not_even_in_totals(world: World) -> None:
    hidden_person = f.citizen()
    other = f.staff(Role.ACUTE_NURSE, world.acute)
    f.open_visit(other, hidden_person)
    for code in ("E11", "E11", "E11"):
        post(f.client_for(other), "/fhir/Condition", bodies.diagnosis(hidden_person.pk, code=code))
    mine = f.client_for(world.nurse).get("/fhir/Condition?code=I10").json()
    everyone = f.client_for(world.nurse).get("/fhir/Condition").json()
    assert mine["total"] == 1
    assert everyone["total"] == 1  # the other nurse's three are invisible
    theirs = f.client_for(world.nurse).get(f"/fhir/Condition?patient={hidden_person.pk}").json()
    assert (theirs["total"] == 0 and "entry" not in theirs) or theirs["entry"] == []
    assert AuditEntry.objects.filter(
        citizen_id=hidden_person.pk, actor_user_id=world.nurse.user_id, outcome="denied"
    ).exists()


def test_search_query_count_is_pinned(world: World, django_assert_max_num_queries) -> None:
    client = f.client_for(world.nurse)
    for code in ("E11", "J44", "I50", "I11", "I12"):
        post(client, "/fhir/Condition", bodies.diagnosis(world.person.pk, code=code))
    client.get("/fhir/Condition")  # warm the token
    with django_assert_max_num_queries(12):
        assert client.get("/fhir/Condition?_count=50").json()["total"] == 6


def test_everything_is_the_consent_filtered_summary(
    world: World, django_assert_max_num_queries
) -> None:
    client = f.client_for(world.nurse)
    pid = world.person.pk
    post(client, "/fhir/CarePlan", bodies.care_plan(pid))
    post(client, "/fhir/Encounter", bodies.hospital_contact(pid, world.department.pk))
    client.get(f"/fhir/Patient/{pid}")
    with django_assert_max_num_queries(12):
        response = client.get(f"/fhir/Patient/{pid}/$everything")
    assert response.status_code == 200
    types = [e["resource"]["resourceType"] for e in response.json()["entry"]]
    assert types[0] == "Patient" and sorted(types[1:]) == ["CarePlan", "Condition", "Encounter"]
    # The Patient names the citizen's municipality by its code, read with the citizen.
    [municipality] = response.json()["entry"][0]["resource"]["extension"]
    coding = municipality["valueCodeableConcept"]["coding"][0]
    assert coding["code"] == world.person.municipality.municipality_code
    # Each resource in the summary is the resource as read on its own: its
    # meta, source and body, though the summary reads them with its own query.
    for entry in response.json()["entry"][1:]:
        resource = entry["resource"]
        alone = client.get(f"/fhir/{resource['resourceType']}/{resource['id']}")
        assert alone.json() == resource
    assert (
        f.client_for(world.other_nurse).get(f"/fhir/Patient/{pid}/$everything").status_code == 404
    )


def test_cpr_search_only_by_post_never_in_a_url(world: World) -> None:
    client = f.client_for(world.nurse)
    in_url = client.get(f"/fhir/Patient?identifier=urn:oid:1.2.208.176.1.2|{world.person.cpr}")
    assert in_url.status_code == 400 and issue_code(in_url) == "search.use_post"
    assert world.person.cpr not in in_url.content.decode()
    found = client.post(
        "/fhir/Patient/_search",
        {"identifier": f"urn:oid:1.2.208.176.1.2|{world.person.cpr}"},
    )
    assert found.status_code == 200 and found.json()["total"] == 1
    assert found.json()["entry"][0]["resource"]["id"] == str(world.person.pk)
    hidden = f.client_for(world.other_nurse).post(
        "/fhir/Patient/_search", {"identifier": world.person.cpr}
    )
    assert hidden.json()["total"] == 0
    assert world.person.cpr not in hidden.content.decode()


def test_transaction_is_all_or_nothing(world: World) -> None:
    client = f.client_for(world.nurse)
    pid = world.person.pk
    before = RecordResource.objects.count()

    bad = post(
        client,
        "/fhir/",
        bodies.transaction(bodies.care_plan(pid), bodies.diagnosis(pid, code="F10")),
    )
    assert bad.status_code == 400 and issue_code(bad) == "record.psychiatric_diagnosis"
    assert "Bundle.entry[1]" in bad.json()["issue"][0]["diagnostics"]
    hidden = f.citizen()
    refused = post(
        client, "/fhir/", bodies.transaction(bodies.care_plan(pid), bodies.care_plan(hidden.pk))
    )
    assert refused.status_code == 404
    assert RecordResource.objects.count() == before
    ok = post(
        client, "/fhir/", bodies.transaction(bodies.care_plan(pid), bodies.nursing_problem(pid))
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["type"] == "transaction-response"
    assert [e["response"]["status"] for e in ok.json()["entry"]] == ["201 Created"] * 2
    assert RecordResource.objects.count() == before + 2


def test_load_command_loads_from_a_partner_system_all_or_nothing(world: World, tmp_path) -> None:
    import json

    from django.core.management import CommandError, call_command

    world.department.sor_code = "900000299999"
    world.department.save(update_fields=["sor_code"])
    good = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": bodies.hospital_contact(world.person.pk, world.department.pk),
                "request": {"method": "POST", "url": "Encounter"},
            }
        ],
    }
    path = tmp_path / "b.json"
    path.write_text(json.dumps(good))
    call_command("load_shared_record", str(path), "--source-sor", "900000299999")
    loaded = RecordResource.objects.get(category="hospital-contact")
    assert loaded.source_organisation == world.department
    entry = AuditEntry.objects.filter(resource_id=str(loaded.pk), action="create").get()
    assert entry.task == "consent.load_shared_record" and entry.reason_code == "import_from_source"
    good["entry"].append(  # type: ignore[attr-defined]
        {
            "resource": bodies.diagnosis(world.person.pk, code="F20"),
            "request": {"method": "POST", "url": "Condition"},
        }
    )
    path.write_text(json.dumps(good))
    with pytest.raises(CommandError, match="psychiatric"):
        call_command("load_shared_record", str(path), "--source-sor", "900000299999")
    assert RecordResource.objects.filter(category="hospital-contact").count() == 1


def test_capability_statement_lists_the_shared_record(db) -> None:
    statement = f.client_for(None).get("/fhir/metadata").json()
    types = {r["type"]: r for r in statement["rest"][0]["resource"]}
    for type_ in ("Patient", "Condition", "EpisodeOfCare", "CarePlan", "Encounter", "Consent"):
        assert type_ in types
    assert types["Condition"]["versioning"] == "versioned-update"
    assert {"code": "transaction"} in statement["rest"][0]["interaction"]


def test_a_cpr_subject_is_resolved_and_never_stored_or_echoed(world: World) -> None:
    body = bodies.care_plan(world.person.pk)
    body["subject"] = {
        "identifier": {"system": "urn:oid:1.2.208.176.1.2", "value": world.person.cpr}
    }
    created = post(f.client_for(world.nurse), "/fhir/CarePlan", body)
    assert created.status_code == 201, created.content
    assert created.json()["subject"] == {"reference": f"Patient/{world.person.pk}"}
    stored = RecordResource.objects.get(pk=int(created.json()["id"]))
    assert world.person.cpr not in str(stored.body)
    body["subject"]["identifier"]["value"] = "0101010000"
    unknown = post(f.client_for(world.nurse), "/fhir/CarePlan", body)
    assert unknown.status_code == 404 and "0101010000" not in unknown.content.decode()
