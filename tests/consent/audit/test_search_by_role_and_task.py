"""R9: an auditor asks "every access by coordinators", "every access made by
background work" and "by this task" on every door alike (the API's search
and export, the auditor's pages and their export, ``/fhir/AuditEvent``):
one parser reads ``role``, ``task`` and ``actor_kind``, each alone or with
the others, and a value the platform does not have is refused and the
refused search recorded, never read as no filter."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import pytest
from django.test import Client

from consent.audit.models import AuditEntry
from consent.audit.services import Action, Purpose, audit_record
from core.actors import Actor
from core.models import Citizen, Membership, Role
from tests.factories import acute_function, citizen, client_for, hospital_department, log_in, staff

pytestmark = pytest.mark.django_db


@dataclass
class Log:
    auditor: Membership
    person: Citizen
    nurse_read: int
    coordinator_read: int
    assigned_for_coordinator: int
    expired_by_schedule: int
    partner_message: int


def _read(actor: Actor, citizen_id: int, n: int) -> int:
    audit_record(
        actor=actor,
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=citizen_id,
        resource_type="Condition",
        resource_id=str(n),
    )
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True)[0]


@pytest.fixture
def log() -> Log:
    org = acute_function()
    nurse = Actor.for_membership(staff(Role.ACUTE_NURSE, org))
    coordinator = Actor.for_membership(staff(Role.COORDINATOR, org))
    hospital = hospital_department()
    person = citizen()
    return Log(
        auditor=staff(Role.AUDITOR, org),
        person=person,
        nurse_read=_read(nurse, person.pk, 1),
        coordinator_read=_read(coordinator, person.pk, 2),
        # Background work on the coordinator's behalf: in her role, by a task.
        assigned_for_coordinator=_read(
            Actor.system("acute.auto_assign", on_behalf_of=coordinator), person.pk, 3
        ),
        expired_by_schedule=_read(
            Actor.system("acute.visits_expire_unanswered", caused_by=org), person.pk, 4
        ),
        partner_message=_read(
            Actor.system("integrations.process_message", partner=hospital), person.pk, 5
        ),
    )


def _known(log: Log) -> set[int]:
    return {
        log.nurse_read,
        log.coordinator_read,
        log.assigned_for_coordinator,
        log.expired_by_schedule,
        log.partner_message,
    }


def _expected(log: Log, asked: str) -> set[int]:
    return {
        "role=coordinator": {log.coordinator_read, log.assigned_for_coordinator},
        "role=coordinator,acute_nurse": {
            log.nurse_read,
            log.coordinator_read,
            log.assigned_for_coordinator,
        },
        "task=acute.auto_assign": {log.assigned_for_coordinator},
        "task=acute.auto_assign,integrations.process_message": {
            log.assigned_for_coordinator,
            log.partner_message,
        },
        "actor_kind=person": {log.nurse_read, log.coordinator_read},
        "actor_kind=task": {log.assigned_for_coordinator, log.expired_by_schedule},
        "actor_kind=partner": {log.partner_message},
        "actor_kind=task,partner": {
            log.assigned_for_coordinator,
            log.expired_by_schedule,
            log.partner_message,
        },
        "role=coordinator&actor_kind=person": {log.coordinator_read},
        "role=coordinator&actor_kind=task": {log.assigned_for_coordinator},
        "role=acute_nurse&task=acute.auto_assign": set(),
        "task=acute.visits_expire_unanswered&actor_kind=task&purpose=treatment": {
            log.expired_by_schedule
        },
    }[asked]


SEARCHES = [
    "role=coordinator",
    "role=coordinator,acute_nurse",
    "task=acute.auto_assign",
    "task=acute.auto_assign,integrations.process_message",
    "actor_kind=person",
    "actor_kind=task",
    "actor_kind=partner",
    "actor_kind=task,partner",
    "role=coordinator&actor_kind=person",
    "role=coordinator&actor_kind=task",
    "role=acute_nurse&task=acute.auto_assign",
    "task=acute.visits_expire_unanswered&actor_kind=task&purpose=treatment",
]


def _fhir(asked: str) -> str:
    """The same search in ``/fhir/AuditEvent``'s names."""
    return (
        asked.replace("role=", "agent-role=")
        .replace("actor_kind=", "actor-kind=")
        .replace("purpose=treatment", "")
    )


@pytest.mark.parametrize("asked", SEARCHES)
def test_the_api_search_finds_by_role_task_and_kind(log: Log, asked: str) -> None:
    client = client_for(log.auditor)
    answer = client.get(f"/api/audit/entries?citizen={log.person.pk}&{asked}&limit=200")
    assert answer.status_code == 200, answer.content
    found = {r["id"] for r in answer.json()["results"]}
    assert found & _known(log) == _expected(log, asked)


def test_the_api_next_link_keeps_the_filters(log: Log) -> None:
    client = client_for(log.auditor)
    first = client.get(
        f"/api/audit/entries?citizen={log.person.pk}&actor_kind=task,partner&limit=1"
    )
    seen = [r["id"] for r in first.json()["results"]]
    following = first.json()["next"]
    assert "actor_kind=task%2Cpartner" in following
    while following:
        page = client.get(following).json()
        seen += [r["id"] for r in page["results"]]
        following = page["next"]
    assert seen == sorted(_expected(log, "actor_kind=task,partner"), reverse=True)


@pytest.mark.parametrize("asked", SEARCHES)
def test_the_api_export_takes_the_same_filters(log: Log, asked: str) -> None:
    client = client_for(log.auditor)
    answer = client.get(f"/api/audit/export?as=csv&citizen={log.person.pk}&{asked}")
    assert answer.status_code == 200, answer.content
    rows = list(csv.DictReader(io.StringIO(answer.content.decode())))
    assert {int(r["id"]) for r in rows} & _known(log) == _expected(log, asked)


@pytest.mark.parametrize("asked", SEARCHES)
def test_the_fhir_search_finds_by_agent_role_task_and_kind(log: Log, asked: str) -> None:
    client = client_for(log.auditor)
    query = _fhir(asked).replace("task=", "task=urn:tvaerakut:task|", 1)
    answer = client.get(f"/fhir/AuditEvent?patient=Patient/{log.person.pk}&{query}&_count=100")
    assert answer.status_code == 200, answer.content
    found = {int(e["resource"]["id"]) for e in answer.json().get("entry", [])}
    expected = _expected(log, asked)
    assert found & _known(log) == expected


def test_fhir_agent_role_takes_the_system_the_audit_event_codes_roles_in(log: Log) -> None:
    client = client_for(log.auditor)
    answer = client.get(
        f"/fhir/AuditEvent?patient=Patient/{log.person.pk}"
        "&agent-role=urn:tvaerakut:role|coordinator"
    )
    found = {int(e["resource"]["id"]) for e in answer.json()["entry"]}
    assert found & _known(log) == {log.coordinator_read, log.assigned_for_coordinator}
    # As each entry says it: the role on the agent the search matched.
    for entry in answer.json()["entry"]:
        roles = [
            c["code"]
            for a in entry["resource"]["agent"]
            for r in a.get("role", [])
            for c in r["coding"]
        ]
        assert roles == ["coordinator"]


def test_the_capability_statement_declares_the_new_parameters() -> None:
    statement = Client().get("/fhir/metadata").json()
    audit = next(r for r in statement["rest"][0]["resource"] if r["type"] == "AuditEvent")
    declared = {p["name"]: p["type"] for p in audit["searchParam"]}
    assert declared["agent-role"] == "token"
    assert declared["task"] == "token"
    assert declared["actor-kind"] == "token"


def _page_ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'href="/audit/entries/(\d+)"', html)}


@pytest.mark.parametrize("asked", SEARCHES)
def test_the_search_page_finds_by_role_task_and_kind(log: Log, asked: str) -> None:
    browser = Client()
    assert log_in(browser, log.auditor).status_code == 302
    answer = browser.get(f"/audit/?citizen={log.person.pk}&{asked}")
    assert answer.status_code == 200, answer.content
    assert _page_ids(answer.content.decode()) & _known(log) == _expected(log, asked)


def test_the_search_form_offers_roles_kinds_and_tasks_in_words(log: Log) -> None:
    browser = Client()
    assert log_in(browser, log.auditor).status_code == 302
    html = browser.get("/audit/").content.decode()
    assert '<label for="a-role">Rolle</label>' in html
    assert '<option value="coordinator">Vagthavende</option>' in html
    assert '<label for="a-kind">Udført af</label>' in html
    assert '<option value="task">Baggrundsarbejde</option>' in html
    assert '<option value="partner">En samarbejdspartners meddelelse</option>' in html
    assert '<label for="a-task">Baggrundsjob</label>' in html
    assert '<option value="acute.auto_assign">automatisk tildeling</option>' in html


def test_the_posted_form_searches_by_role_and_keeps_it_in_the_links(log: Log) -> None:
    browser = Client()
    assert log_in(browser, log.auditor).status_code == 302
    answer = browser.post(
        "/audit/", {"citizen": str(log.person.pk), "role": "coordinator", "actor_kind": "task"}
    )
    html = answer.content.decode()
    assert _page_ids(html) & _known(log) == {log.assigned_for_coordinator}
    assert '<option value="coordinator" selected>' in html
    assert "role=coordinator" in html  # the export link


@pytest.mark.parametrize("asked", SEARCHES)
def test_the_page_export_takes_the_same_filters(log: Log, asked: str) -> None:
    browser = Client()
    assert log_in(browser, log.auditor).status_code == 302
    answer = browser.get(f"/audit/export.csv?citizen={log.person.pk}&{asked}")
    assert answer.status_code == 200, answer.content
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert {int(r[1]) for r in rows[1:]} & _known(log) == _expected(log, asked)


# --- refusals: a value the platform does not have, on every door, recorded --------


def _refusal_recorded(log: Log, before: int, action: str, code: str, field: str) -> None:
    refused = AuditEntry.objects.filter(id__gt=before, outcome="denied").get()
    assert (refused.action, refused.purpose, refused.resource_type, refused.reason_code) == (
        action,
        "audit",
        "AuditEvent",
        code,
    )
    assert refused.actor_user_id == log.auditor.user_id
    assert refused.citizen_id == log.person.pk
    if field:
        assert refused.detail == {"field": field}


def _newest() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.mark.parametrize(
    ("asked", "field", "code"),
    [
        ("role=chef", "role", "audit.param_invalid"),
        ("role=coordinator,Coordinator", "role", "audit.param_invalid"),
        ("task=acute.autoassign", "task", "audit.param_invalid"),
        ("actor_kind=robot", "actor_kind", "audit.param_invalid"),
        # An empty value asks for something too: refused, never read as no filter.
        ("actor_kind=person&role=", "role", "search.param_invalid"),
    ],
)
def test_an_unknown_value_is_refused_and_recorded_on_the_api(
    log: Log, asked: str, field: str, code: str
) -> None:
    client = client_for(log.auditor)
    for door, action in (("entries", "search"), ("export", "export")):
        before = _newest()
        answer = client.get(f"/api/audit/{door}?citizen={log.person.pk}&{asked}")
        assert answer.status_code == 400, answer.content
        error = answer.json()["error"]
        assert (error["code"], error["field"]) == (code, field)
        _refusal_recorded(log, before, action, code, field)


def test_a_repeated_role_is_refused_as_every_repeated_filter_is(log: Log) -> None:
    client = client_for(log.auditor)
    before = _newest()
    answer = client.get(f"/api/audit/entries?citizen={log.person.pk}&role=coordinator&role=x")
    assert answer.json()["error"]["code"] == "search.param_repeated"
    refused = AuditEntry.objects.filter(id__gt=before, outcome="denied").get()
    assert refused.reason_code == "search.param_repeated"


@pytest.mark.parametrize(
    ("asked", "field"),
    [
        ("agent-role=chef", "agent-role"),
        ("agent-role=urn:other|coordinator", "agent-role"),
        ("task=urn:tvaerakut:task|nothing", "task"),
        ("task=urn:tvaerakut:role|acute.auto_assign", "task"),
        ("actor-kind=robot", "actor-kind"),
    ],
)
def test_an_unknown_value_is_refused_and_recorded_on_fhir(log: Log, asked: str, field: str) -> None:
    client = client_for(log.auditor)
    before = _newest()
    answer = client.get(f"/fhir/AuditEvent?patient=Patient/{log.person.pk}&{asked}")
    assert answer.status_code == 400, answer.content
    issue = answer.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "search.param_invalid"
    assert issue["expression"] == [field]
    refused = AuditEntry.objects.filter(id__gt=before, outcome="denied").get()
    assert (refused.action, refused.reason_code) == ("search", "search.param_invalid")


@pytest.mark.parametrize(
    ("asked", "shown"),
    [
        ("role=chef", "Rolle"),
        ("task=acute.autoassign", "Baggrundsjob"),
        ("actor_kind=robot", "Udført af"),
    ],
)
def test_an_unknown_value_is_refused_and_recorded_on_the_pages(
    log: Log, asked: str, shown: str
) -> None:
    browser = Client()
    assert log_in(browser, log.auditor).status_code == 302
    for url, action in (("/audit/", "search"), ("/audit/export.csv", "export")):
        before = _newest()
        answer = browser.get(f"{url}?citizen={log.person.pk}&{asked}")
        assert answer.status_code == 400, answer.content
        html = answer.content.decode()
        assert shown in html
        _refusal_recorded(log, before, action, "audit.param_invalid", asked.split("=")[0])
    # The form, posted with a value no list offers, is refused under its field.
    before = _newest()
    answer = browser.post("/audit/", {"citizen": str(log.person.pk), "role": "chef"})
    assert answer.status_code == 400
    assert 'id="a-role"' in answer.content.decode()
    assert AuditEntry.objects.filter(id__gt=before, outcome="denied").count() == 1
