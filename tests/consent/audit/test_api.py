"""R9: auditors (only) search, read, export and review the log; their own
searches are recorded; a read whose entry cannot be written is not served."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from consent.audit.models import AuditEntry, EntryReview
from consent.audit.services import Action, Outcome, Purpose, audit_record, audit_record_many
from core.actors import Actor
from core.models import Role
from tests.consent.audit.conftest import flags_scan_placed, log_refuses_entries
from tests.factories import ALL_ROLES, acute_function, citizen, client_for, staff

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "/api/audit/entries"),
    ("get", "/api/audit/entries/1"),
    ("post", "/api/audit/entries/1/review"),
    ("get", "/api/audit/export?as=csv"),
    ("get", "/api/audit/verify"),
    ("get", "/fhir/AuditEvent"),
    ("get", "/fhir/AuditEvent/1"),
]


@pytest.fixture
def world():
    org = acute_function()
    nurse = staff(Role.ACUTE_NURSE, org)
    auditor = staff(Role.AUDITOR, org)
    people = [citizen() for _ in range(3)]
    actor = Actor.for_membership(nurse)
    for person in people:
        audit_record(
            actor=actor,
            action=Action.READ,
            purpose=Purpose.TREATMENT,
            citizen_id=person.pk,
            resource_type="Condition",
            resource_id="12",
        )
    audit_record(
        actor=actor,
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=people[0].pk,
        outcome=Outcome.DENIED,
        reason_code="no_care_relationship",
    )
    return {"org": org, "nurse": nurse, "auditor": auditor, "people": people}


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r != Role.AUDITOR])
@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_every_other_role_is_refused(world, role: str, method: str, url: str) -> None:
    member = staff(role, world["org"])
    before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    response = getattr(client_for(member), method)(url)
    assert response.status_code == 403, response.content
    added = AuditEntry.objects.filter(pk__gt=before)
    # Every door records the refused attempt (R9), as the FHIR base does; the
    # entry it names (id 1, if there is one) leads to its citizen.
    assert [(e.outcome, e.reason_code) for e in added] == [("denied", "role_not_permitted")]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_anonymous_is_refused(world, method: str, url: str) -> None:
    response = getattr(client_for(None), method)(url)
    assert response.status_code in (401, 403)


def test_search_by_citizen_is_recorded_one_entry_per_citizen(
    world, django_assert_max_num_queries
) -> None:
    auditor = world["auditor"]
    person = world["people"][0]
    client = client_for(auditor)
    with django_assert_max_num_queries(12):
        response = client.get(f"/api/audit/entries?citizen={person.pk}")
    assert response.status_code == 200
    body = response.json()
    assert {r["citizen_id"] for r in body["results"]} == {person.pk}
    assert [r["outcome"] for r in body["results"]] == ["denied", "permitted"]
    assert "cpr" not in response.content.decode().lower()
    own = AuditEntry.objects.filter(actor_user_id=auditor.user_id)
    assert [(e.action, e.purpose, e.citizen_id) for e in own] == [
        (Action.SEARCH, Purpose.AUDIT, person.pk)
    ]


def test_search_filters_and_paging(world) -> None:
    client = client_for(world["auditor"])
    nurse = world["nurse"]
    page = client.get(f"/api/audit/entries?user={nurse.user_id}&limit=2").json()
    assert len(page["results"]) == 2 and page["next"]
    rest = client.get(page["next"]).json()
    assert len(rest["results"]) == 2 and rest["next"] is None
    ids = [r["id"] for r in page["results"] + rest["results"]]
    assert len(set(ids)) == 4
    denied = client.get("/api/audit/entries?outcome=denied&purpose=treatment").json()["results"]
    assert [r["reason_code"] for r in denied] == ["no_care_relationship"]
    by_org = client.get(f"/api/audit/entries?organisation={world['org'].pk}&action=read")
    assert len(by_org.json()["results"]) >= 4
    none = client.get("/api/audit/entries?from=2001-01-01&to=2001-01-02").json()
    assert none["results"] == []


def test_search_by_flag_and_unreviewed(world) -> None:
    flags_scan_placed()
    client = client_for(world["auditor"])
    flagged = client.get("/api/audit/entries?flag=denied").json()["results"]
    assert len(flagged) == 1 and flagged[0]["flags"] == ["denied"]
    entry_id = flagged[0]["id"]
    todo = client.get("/api/audit/entries?unreviewed=1").json()["results"]
    assert entry_id in {r["id"] for r in todo}
    response = client.post(
        f"/api/audit/entries/{entry_id}/review", {"comment": "Spoke to the nurse."}, format="json"
    )
    assert response.status_code == 201
    review = EntryReview.objects.get(entry_id=entry_id)
    assert review.reviewed_by_id == world["auditor"].user_id
    # The entry itself is untouched: the review lives beside it.
    todo = client.get("/api/audit/entries?unreviewed=1").json()["results"]
    assert entry_id not in {r["id"] for r in todo}
    detail = client.get(f"/api/audit/entries/{entry_id}").json()
    assert detail["review"]["comment"] == "Spoke to the nurse."
    again = client.post(f"/api/audit/entries/{entry_id}/review", {"comment": "x"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "audit.already_reviewed"


def test_review_needs_a_comment_and_a_flagged_entry(world) -> None:
    flags_scan_placed()
    client = client_for(world["auditor"])
    entry = AuditEntry.objects.filter(outcome=Outcome.DENIED).get()
    blank = client.post(f"/api/audit/entries/{entry.id}/review", {"comment": " "}, format="json")
    assert blank.status_code == 400
    assert blank.json()["error"]["code"] == "audit.review_comment_required"
    plain = AuditEntry.objects.filter(outcome=Outcome.PERMITTED).first()
    assert plain is not None
    response = client.post(
        f"/api/audit/entries/{plain.id}/review", {"comment": "ok"}, format="json"
    )
    # There for the auditor to read, only without a flag: a conflict, as on the page.
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "audit.entry_not_flagged"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("citizen=abc", "audit.param_invalid"),
        ("citizen=%205", "audit.param_invalid"),  # an id as sent: no space around it
        ("user=5%20", "audit.param_invalid"),
        ("organisation=%2B5", "audit.param_invalid"),
        ("cpr=0203411234", "request.cpr_in_url"),  # refused at the door (decision 0002)
        ("cpr=", "audit.cpr_not_accepted"),
        ("from=yesterday", "audit.param_invalid"),
        ("from=2026-02-01&to=2026-01-01", "audit.param_invalid"),
        ("purpose=curiosity", "audit.param_invalid"),
        ("outcome=maybe", "audit.param_invalid"),
        ("flag=red", "audit.param_invalid"),
        ("limit=-1", "audit.param_invalid"),
        ("unreviewed=yes", "audit.param_invalid"),
        ("citzen=5", "search.param_unknown"),
        ("patient=5", "search.param_unknown"),
    ],
)
def test_bad_search_input_is_a_precise_400(world, query: str, code: str) -> None:
    response = client_for(world["auditor"]).get(f"/api/audit/entries?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert "0203411234" not in response.content.decode()


@pytest.mark.parametrize("limit", ["0", "201", "999999999"])
def test_a_limit_outside_its_range_is_refused_not_read_as_another(world, limit: str) -> None:
    """``limit=0`` was read as 1 and ``limit=201`` as 200: a page the auditor
    did not ask for. Each is refused naming the range it takes."""
    client = client_for(world["auditor"])
    response = client.get(f"/api/audit/entries?limit={limit}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("audit.param_invalid", "limit")
    assert "1" in error["message"] and "200" in error["message"]
    for good in ("1", "200"):
        answer = client.get(f"/api/audit/entries?limit={good}")
        assert answer.status_code == 200, good
        assert answer.json()["limit"] == int(good)


@pytest.mark.parametrize(
    "url", ["/api/audit/entries?citzen={id}", "/api/audit/export?as=csv&patient={id}"]
)
def test_a_misspelt_filter_is_refused_not_read_as_the_whole_log(world, url: str) -> None:
    """Read as no filter, a misspelt ``citzen=`` searched every citizen's
    entries and recorded the auditor's search against each of them."""
    auditor = world["auditor"]
    response = client_for(auditor).get(url.format(id=world["people"][0].pk))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "search.param_unknown"
    # Nobody's log was read: the refusal alone is recorded (R9), on no citizen.
    recorded = AuditEntry.objects.filter(actor_user_id=auditor.user_id)
    assert list(recorded.values_list("outcome", "citizen_id", "reason_code")) == [
        ("denied", None, "search.param_unknown")
    ]


@pytest.mark.parametrize(
    "url",
    [
        "/api/audit/entries?citizen={a}&citizen={b}",
        "/api/audit/export?as=csv&citizen={a}&citizen={b}",
        "/api/audit/export?as=fhir&from=2020-01-01&from=2030-01-01&citizen={a}",
        "/api/audit/entries?citizen={a}&limit=5&limit=6",
    ],
)
def test_r9_a_filter_given_twice_is_refused_not_read_as_its_last(world, url: str) -> None:
    """R9: ``citizen=5&citizen=7`` was read as citizen 7 alone: the auditor
    exported one citizen's log believing it held two. Refused, naming the
    parameter, and nobody's log is read."""
    auditor = world["auditor"]
    a, b = world["people"][0].pk, world["people"][1].pk
    response = client_for(auditor).get(url.format(a=a, b=b))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "search.param_repeated"
    assert error["message"].endswith("må kun angives én gang i en søgning her.")
    # Nobody's log was read: the refusal alone is recorded (R9), on the
    # citizen the search named once, or on none when she was given twice.
    named = a if url.count("citizen=") == 1 else None
    recorded = AuditEntry.objects.filter(actor_user_id=auditor.user_id)
    assert list(recorded.values_list("outcome", "citizen_id", "reason_code")) == [
        ("denied", named, "search.param_repeated")
    ]


@pytest.mark.parametrize(
    "name", ['=HYPERLINK("http://x")', "+1+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1"]
)
def test_r9_an_exported_cell_never_becomes_a_formula(world, name: str) -> None:
    """R9: the auditor opens the export in a spreadsheet; a value that starts
    like a formula (here an organisation's name) is exported as text."""
    org = world["org"]
    org.name = name
    org.save(update_fields=["name"])
    audit_record(
        actor=Actor.for_membership(world["nurse"]),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=world["people"][0].pk,
    )
    response = client_for(world["auditor"]).get("/api/audit/export?as=csv&action=read")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows[0]["actor_organisation_name"] == "'" + name  # newest first


def test_unreviewed_takes_1_or_0(world) -> None:
    flags_scan_placed()
    client = client_for(world["auditor"])
    assert len(client.get("/api/audit/entries?unreviewed=1").json()["results"]) == 1
    assert len(client.get("/api/audit/entries?unreviewed=0").json()["results"]) > 1


def test_read_is_not_served_when_its_entry_cannot_be_written(world) -> None:
    """Nothing is lost: when the log refuses new entries, the auditor's search
    answers 503 and returns no data."""
    log_refuses_entries()
    before = AuditEntry.objects.count()
    client = client_for(world["auditor"])
    with transaction.atomic():  # PostgreSQL aborts the failed transaction: roll it back
        response = client.get("/api/audit/entries")
        transaction.set_rollback(True)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "audit.unavailable"
    assert "results" not in response.json()
    assert AuditEntry.objects.count() == before


def test_export_csv_is_recorded_per_citizen(world) -> None:
    auditor = world["auditor"]
    response = client_for(auditor).get(f"/api/audit/export?as=csv&user={world['nurse'].user_id}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 4
    assert {int(r["citizen_id"]) for r in rows} == {p.pk for p in world["people"]}
    exported = AuditEntry.objects.filter(actor_user_id=auditor.user_id, action=Action.EXPORT)
    assert sorted(e.citizen_id for e in exported) == sorted(p.pk for p in world["people"])
    assert all(e.purpose == Purpose.AUDIT for e in exported)


def test_export_fhir_bundle(world) -> None:
    response = client_for(world["auditor"]).get(
        f"/api/audit/export?as=fhir&citizen={world['people'][1].pk}"
    )
    assert response.status_code == 200
    bundle = response.json()
    assert bundle["type"] == "collection"
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["AuditEvent"]


@override_settings(AUDIT_EXPORT_MAX_ROWS=2)
def test_export_too_large_is_refused(world) -> None:
    response = client_for(world["auditor"]).get("/api/audit/export?as=csv")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "audit.export_too_large"


def test_verify_endpoint(world) -> None:
    body = client_for(world["auditor"]).get("/api/audit/verify").json()
    assert body["ok"] is True and body["checked"] >= 4


def test_verify_refuses_a_range_that_ends_before_it_starts(world) -> None:
    """As the search does: "nothing to verify" would read as a clean log."""
    response = client_for(world["auditor"]).get(
        "/api/audit/verify", {"from": "2026-02-01", "to": "2026-01-01"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "audit.param_invalid"
    assert response.json()["error"]["field"] == "from"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("form=2026-01-01", "search.param_unknown"),
        ("from=2026-01-01&from=2026-06-01", "search.param_repeated"),
    ],
)
def test_verify_refuses_an_unknown_or_repeated_range_parameter(world, query, code) -> None:
    """A misspelt ``form=`` was read as no range, and a ``from`` given twice as
    its last: "intact" said of a range the auditor did not ask about."""
    response = client_for(world["auditor"]).get(f"/api/audit/verify?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_fhir_search_returns_balp_shaped_audit_events(world, django_assert_max_num_queries) -> None:
    person = world["people"][0]
    nurse = world["nurse"]
    client = client_for(world["auditor"])
    with django_assert_max_num_queries(12):
        response = client.get(
            f"/fhir/AuditEvent?patient=Patient/{person.pk}&agent={nurse.user_id}&outcome=4&date=ge2020-01-01"
        )
    assert response.status_code == 200
    bundle = response.json()
    assert bundle["type"] == "searchset" and bundle["total"] == 1
    event = bundle["entry"][0]["resource"]
    assert event["resourceType"] == "AuditEvent"
    assert event["outcome"] == "4" and event["outcomeDesc"] == "no_care_relationship"
    assert event["type"]["code"] == "rest"
    assert event["subtype"][0] == {
        "system": "http://hl7.org/fhir/restful-interaction",
        "code": "read",
    }
    assert {"reference": f"Patient/{person.pk}"} == event["entity"][0]["what"]
    assert event["agent"][0]["who"]["identifier"]["value"] == str(nurse.user_id)
    assert event["purposeOfEvent"][0]["coding"][0]["code"] == "TREAT"
    read = client.get(f"/fhir/AuditEvent/{event['id']}")
    assert read.status_code == 200 and read.json()["id"] == event["id"]
    searched = AuditEntry.objects.filter(actor_user_id=world["auditor"].user_id)
    assert {e.action for e in searched} == {Action.SEARCH, Action.READ}


def test_fhir_search_paging_and_dates(world) -> None:
    client = client_for(world["auditor"])
    first = client.get("/fhir/AuditEvent?_count=2&date=le2999-01-01").json()
    assert len(first["entry"]) == 2
    assert any(link["relation"] == "next" for link in first["link"])
    empty = client.get("/fhir/AuditEvent?date=lt2001-01-01").json()
    assert empty["total"] == 0


def test_a_date_to_includes_that_day_on_every_door(world) -> None:
    """A bare date is the whole day (Copenhagen time): ``to=<today>`` and
    ``date=<today>`` find today's entries. ``parse_datetime`` reads a bare
    date as its midnight, so ``to`` ended where the day begins, today's
    entries were left out and ``from=today&to=today`` was refused."""
    client = client_for(world["auditor"])
    today = timezone.localdate().isoformat()
    user = f"user={world['nurse'].user_id}"
    to_today = client.get(f"/api/audit/entries?{user}&to={today}").json()["results"]
    assert len(to_today) == 4
    one_day = client.get(f"/api/audit/entries?{user}&from={today}&to={today}")
    assert one_day.status_code == 200 and len(one_day.json()["results"]) == 4
    agent = f"agent={world['nurse'].user_id}"
    for date in (today, f"le{today}", f"ge{today}"):
        bundle = client.get(f"/fhir/AuditEvent?{agent}&date={date}").json()
        assert bundle["total"] == 4, date
    assert client.get(f"/fhir/AuditEvent?{agent}&date=lt{today}").json()["total"] == 0
    assert client.get(f"/fhir/AuditEvent?{agent}&date=gt{today}").json()["total"] == 0
    exported = client.get(f"/api/audit/export?as=csv&{user}&to={today}")
    assert len(list(csv.DictReader(io.StringIO(exported.content.decode())))) == 4
    # The last day there is: its end is the last instant, not a 500.
    assert client.get(f"/api/audit/entries?{user}&to=9999-12-31").status_code == 200
    assert client.get(f"/fhir/AuditEvent?{agent}&date=9999-12-31").status_code == 200
    last_instant = quote("9999-12-31T23:59:59.999999+01:00")
    assert client.get(f"/fhir/AuditEvent?{agent}&date={last_instant}").status_code == 200
    # A date-time is an instant, not an empty day; read in ISO 8601's
    # extended form only: one with a space and an offset without its colon
    # is refused, never read as another time.
    newest = AuditEntry.objects.filter(actor_user_id=world["nurse"].user_id).latest("recorded_at")
    extended = quote(timezone.localtime(newest.recorded_at).isoformat())
    assert client.get(f"/fhir/AuditEvent?{agent}&date=le{extended}").json()["total"] == 4
    spaced = quote(f"{timezone.localtime(newest.recorded_at):%Y-%m-%d %H:%M:%S.%f%z}")
    assert client.get(f"/fhir/AuditEvent?{agent}&date=le{spaced}").status_code == 400
    # Without its offset a date-time names no instant: refused, never guessed.
    naive = client.get(f"/fhir/AuditEvent?{agent}&date=2026-10-25T02:30:00")
    assert naive.status_code == 400


def test_fhir_audit_event_date_reads_a_year_and_a_month_with_every_prefix(world) -> None:
    """FHIR's date search takes a year (``2026``) or a month (``2026-10``)
    as the whole year or month in Copenhagen, as the record's own date
    search does; with ``ne``, ``sa`` and ``eb`` as FHIR defines them."""
    client = client_for(world["auditor"])
    agent = f"agent={world['nurse'].user_id}"
    today = timezone.localdate()
    year, month = f"{today:%Y}", f"{today:%Y-%m}"

    def total(date: str) -> int:
        response = client.get(f"/fhir/AuditEvent?{agent}&date={date}")
        assert response.status_code == 200, (date, response.content)
        return response.json()["total"]

    for found in (year, month, f"ge{year}", f"le{month}", f"ne{today.year - 1}"):
        assert total(found) == 4, found
    for none in (f"ne{year}", f"ne{month}", f"sa{month}", f"eb{month}", f"gt{year}"):
        assert total(none) == 0, none
    assert total(f"sa{today.year - 1}") == total(f"eb{today.year + 1}") == 4
    for malformed in ("20261", "2026-1", "2026-13", "xx2026", "ne2026-10-"):
        response = client.get(f"/fhir/AuditEvent?{agent}&date={malformed}")
        assert response.status_code == 400, malformed
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome", malformed
        assert outcome["issue"][0]["expression"] == ["date"], malformed


def test_fhir_paging_past_the_end_and_the_total_alone(world) -> None:
    """A page past the end claims no total (it was the offset: 1000 entries
    where there are 4); ``_count=0`` asks for the total alone and gets it."""
    client = client_for(world["auditor"])
    agent = f"agent={world['nurse'].user_id}"
    past = client.get(f"/fhir/AuditEvent?{agent}&_count=2&_offset=1000").json()
    assert "total" not in past and "entry" not in past
    assert "next" not in {link["relation"] for link in past["link"]}
    last = client.get(f"/fhir/AuditEvent?{agent}&_count=3&_offset=3").json()
    assert last["total"] == 4 and len(last["entry"]) == 1
    summary = client.get(f"/fhir/AuditEvent?{agent}&_count=0").json()
    assert summary["total"] == 4 and "entry" not in summary


@pytest.mark.parametrize(
    "door",
    [
        "/fhir/AuditEvent?patient=Patient/{id}&outcome=4",
        "/api/audit/entries?citizen={id}&outcome=denied",
        "/api/audit/export?as=csv&citizen={id}&outcome=denied",
        "/api/audit/export?as=fhir&citizen={id}&outcome=denied",
    ],
)
def test_a_search_about_a_citizen_that_finds_nothing_is_recorded_against_her(
    world, door: str
) -> None:
    """As the auditor's page does: every door records the search about one
    citizen against her, not as a search naming no one."""
    auditor = world["auditor"]
    person = world["people"][1]  # she has no denied entry
    response = client_for(auditor).get(door.format(id=person.pk))
    assert response.status_code == 200
    own = AuditEntry.objects.filter(actor_user_id=auditor.user_id)
    assert [(e.purpose, e.citizen_id) for e in own] == [(Purpose.AUDIT, person.pk)]


@pytest.mark.parametrize(
    "query",
    ["patient=Patient/abc", "outcome=2", "date=2026-13-45", "identifier=0203411234", "agent=x"],
)
def test_fhir_bad_input_is_an_operation_outcome(world, query: str) -> None:
    response = client_for(world["auditor"]).get(f"/fhir/AuditEvent?{query}")
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
    code = response.json()["issue"][0]["details"]["coding"][0]["code"]
    # One code for every search parameter of the type (a date was audit.param_invalid);
    # a date, as on every search door, is read by the one date parser.
    expected = {"0203411234": "request.cpr_in_url", "date=": "search.date_invalid"}
    assert code == next((c for key, c in expected.items() if key in query), "search.param_invalid")
    assert "0203411234" not in response.content.decode()


@pytest.mark.parametrize(
    "dates",
    ["date=ge2026-02-01&date=le2026-01-01", "date=gt2026-01-01&date=lt2026-01-01"],
)
def test_fhir_date_range_ending_before_it_starts_is_refused(world, dates: str) -> None:
    """R9: as /api/audit/ refuses a from after its to, FHIR refuses dates that
    end before they begin: an empty Bundle would read as a clean log."""
    response = client_for(world["auditor"]).get(f"/fhir/AuditEvent?{dates}")
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "search.param_invalid"
    assert issue["expression"] == ["date"]
    assert issue["details"]["text"] == "De søgte datoer slutter, før de begynder."


def test_capability_statement_lists_audit_event(client) -> None:
    statement = client.get("/fhir/metadata").json()
    types = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {p["name"] for p in types["AuditEvent"]["searchParam"]} >= {
        "patient",
        "date",
        "agent",
        "outcome",
    }


def test_many_citizens_search_recorded_once_each(world) -> None:
    actor = Actor.for_membership(world["nurse"])
    entries = audit_record_many(
        actor=actor,
        action=Action.SEARCH,
        purpose=Purpose.TREATMENT,
        citizen_ids=[p.pk for p in world["people"]] * 2,
    )
    assert len(entries) == 3
