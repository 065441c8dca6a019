"""R9, R5: an auditor reads the part of the log her organisation answers for
(docs/decisions/0039), on every door: the API's search, entry, review,
export and inclusion proof, the pages' search, flagged list, entry, review
and export, ``/fhir/AuditEvent`` search and read, the citizen look-up and
the insight report. An entry outside her scope is answered as no entry.

Before, an auditor of any organisation — a hospital, a GP practice, 1813, a
municipality — read every citizen's entries through every door."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest
from django.test import Client
from django.utils import timezone

from consent.audit.log import sequence_batch
from consent.audit.models import AuditEntry, AuditFlag, EntryReview, Flag
from consent.audit.services import Action, Outcome, Purpose, audit_record
from core.actors import Actor
from core.models import Citizen, Membership, Organisation, Role
from tests import factories as f

pytestmark = pytest.mark.django_db

SEEDED = "tests.scope"
NOT_FOUND = "audit.entry_not_found"


@dataclass
class World:
    auditors: dict[str, Membership]
    entries: dict[str, int]
    # The seeded entries each auditor reads (by the names of ``entries``).
    sees: dict[str, set[str]]
    gentofte_resident: Citizen
    gladsaxe_resident: Citizen

    def ids(self, auditor: str) -> set[int]:
        return {self.entries[name] for name in self.sees[auditor]}

    def hidden(self, auditor: str) -> set[int]:
        return set(self.entries.values()) - self.ids(auditor)


def _read(member: Membership, person: Citizen) -> int:
    entry = audit_record(
        actor=Actor.for_membership(member),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        outcome=Outcome.PERMITTED,
        reason_code=SEEDED,
    )
    AuditFlag.objects.create(
        entry_id=entry.id,
        entry_recorded_at=entry.recorded_at,
        kind=Flag.DENIED,
        raised_at=timezone.now(),
    )
    return entry.id


@pytest.fixture
def world() -> World:
    acute = f.acute_function()
    gentofte, gladsaxe = f.municipality("157"), f.municipality("159")
    gentofte_nursing = f.home_nursing("157")
    department = f.hospital_department()
    hospital = department.parent
    assert hospital is not None
    gp = f.gp_practice()
    helpline = f.organisation(Organisation.Kind.HELPLINE_1813, "1813")
    g1 = f.citizen(municipality_code="157")
    x1 = f.citizen(municipality_code="159")
    for person, name in ((g1, "Gunhild"), (x1, "Xenia")):
        person.given_name = name
        person.save(update_fields=["given_name"])
    entries = {
        "acute_g": _read(f.staff(Role.ACUTE_NURSE, acute), g1),
        "acute_x": _read(f.staff(Role.ACUTE_NURSE, acute), x1),
        "department_x": _read(f.staff(Role.PHYSICIAN, department), x1),
        "gentofte_nursing_x": _read(f.staff(Role.HOME_NURSE, gentofte_nursing), x1),
        "gp_g": _read(f.staff(Role.PHYSICIAN, gp), g1),
        "helpline_x": _read(f.staff(Role.PHYSICIAN, helpline), x1),
    }
    while sequence_batch():
        pass
    auditors = {
        name: f.staff(Role.AUDITOR, org)
        for name, org in (
            ("acute", acute),
            ("gentofte", gentofte),
            ("gladsaxe", gladsaxe),
            ("hospital", hospital),
            ("gp", gp),
            ("helpline", helpline),
        )
    }
    sees = {
        "acute": set(entries),
        # Her residents' entries, and her own staff's whoever the citizen.
        "gentofte": {"acute_g", "gp_g", "gentofte_nursing_x"},
        "gladsaxe": {"acute_x", "department_x", "gentofte_nursing_x", "helpline_x"},
        # Her own staff's: the hospital's departments are part of it.
        "hospital": {"department_x"},
        "gp": {"gp_g"},
        "helpline": {"helpline_x"},
    }
    return World(auditors, entries, sees, g1, x1)


AUDITORS = ["acute", "gentofte", "gladsaxe", "hospital", "gp", "helpline"]


def _seeded(ids: set[int]) -> set[int]:
    seeded = AuditEntry.objects.filter(id__in=ids, reason_code=SEEDED)
    return set(seeded.values_list("id", flat=True))


def _page_client(member: Membership) -> Client:
    client = Client()
    assert f.log_in(client, member).status_code == 302
    return client


@pytest.mark.parametrize("auditor", AUDITORS)
def test_r9_the_api_search_and_exports_hold_her_scope_alone(world: World, auditor: str) -> None:
    client = f.client_for(world.auditors[auditor])
    searched = client.get("/api/audit/entries?limit=200")
    assert searched.status_code == 200
    assert _seeded({r["id"] for r in searched.json()["results"]}) == world.ids(auditor)
    exported = client.get("/api/audit/export?as=csv")
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert _seeded({int(r["id"]) for r in rows}) == world.ids(auditor)
    bundle = client.get("/api/audit/export?as=fhir").json()
    assert _seeded({int(e["resource"]["id"]) for e in bundle.get("entry", [])}) == world.ids(
        auditor
    )


@pytest.mark.parametrize("auditor", AUDITORS)
def test_r9_an_entry_outside_her_scope_is_answered_and_recorded_as_no_entry(
    world: World, auditor: str
) -> None:
    member = world.auditors[auditor]
    client = f.client_for(member)
    for entry_id in world.ids(auditor):
        for door in ("/api/audit/entries/{}", "/fhir/AuditEvent/{}"):
            assert client.get(door.format(entry_id)).status_code == 200, door
        assert client.get(f"/api/audit/log/entries/{entry_id}/inclusion").status_code == 200
    for entry_id in world.hidden(auditor):
        for door in ("/api/audit/entries/{}", "/api/audit/log/entries/{}/inclusion"):
            response = client.get(door.format(entry_id))
            assert response.status_code == 404
            assert response.json()["error"]["code"] == NOT_FOUND
        fhir = client.get(f"/fhir/AuditEvent/{entry_id}")
        assert fhir.status_code == 404
        assert fhir.json()["issue"][0]["details"]["coding"][0]["code"] == NOT_FOUND
    # Each attempt on her log as the read of an id that names no entry: on no citizen.
    refused = AuditEntry.objects.filter(actor_user_id=member.user_id, reason_code=NOT_FOUND)
    assert refused.count() == 3 * len(world.hidden(auditor))
    assert set(refused.values_list("citizen_id", "outcome", "purpose")) <= {
        (None, Outcome.DENIED, Purpose.AUDIT)
    }


@pytest.mark.parametrize("auditor", AUDITORS)
def test_r9_fhir_audit_event_search_holds_her_scope_alone(world: World, auditor: str) -> None:
    client = f.client_for(world.auditors[auditor])
    bundle = client.get("/fhir/AuditEvent?_count=200").json()
    assert _seeded({int(e["resource"]["id"]) for e in bundle.get("entry", [])}) == world.ids(
        auditor
    )
    # The search of one citizen's entries too.
    person = world.gladsaxe_resident.pk
    searched = client.get(f"/fhir/AuditEvent?patient=Patient/{person}&_count=200").json()
    about = {int(e["resource"]["id"]) for e in searched.get("entry", [])} & set(
        world.entries.values()
    )
    expected = world.ids(auditor) & {
        world.entries[n] for n in ("acute_x", "department_x", "gentofte_nursing_x", "helpline_x")
    }
    assert about == expected


@pytest.mark.parametrize("auditor", ["hospital", "gentofte"])
def test_r9_a_search_pinned_to_an_entry_outside_her_scope_is_refused_as_an_unknown_pin(
    world: World, auditor: str
) -> None:
    client = f.client_for(world.auditors[auditor])
    hidden = min(world.hidden(auditor))
    response = client.get(f"/api/audit/entries?as_of={hidden}")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "as_of"
    shown = min(world.ids(auditor))
    assert client.get(f"/api/audit/entries?as_of={shown}").status_code == 200


@pytest.mark.parametrize("auditor", AUDITORS)
def test_r9_the_auditors_pages_hold_her_scope_alone(world: World, auditor: str) -> None:
    client = _page_client(world.auditors[auditor])
    for page in ("/audit/", "/audit/flagged"):
        body = client.get(page).content.decode()
        for entry_id in world.ids(auditor):
            assert f'href="/audit/entries/{entry_id}"' in body, page
        for entry_id in world.hidden(auditor):
            assert f'href="/audit/entries/{entry_id}"' not in body, page
    exported = client.get("/audit/export.csv")
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))[1:]
    assert _seeded({int(row[1]) for row in rows}) == world.ids(auditor)
    for entry_id in world.ids(auditor):
        assert client.get(f"/audit/entries/{entry_id}").status_code == 200
    for entry_id in world.hidden(auditor):
        response = client.get(f"/audit/entries/{entry_id}")
        assert response.status_code == 404
        assert f'data-code="{NOT_FOUND}"' in response.content.decode()


@pytest.mark.parametrize("auditor", ["hospital", "gentofte", "gp"])
def test_r9_she_reviews_no_entry_outside_her_scope(world: World, auditor: str) -> None:
    member = world.auditors[auditor]
    api, page = f.client_for(member), _page_client(member)
    hidden = sorted(world.hidden(auditor))
    refused = api.post(f"/api/audit/entries/{hidden[0]}/review", {"comment": "Set."}, "json")
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == NOT_FOUND
    assert page.post(f"/audit/entries/{hidden[1]}/review", {"comment": "Set."}).status_code == 404
    assert not EntryReview.objects.filter(entry_id__in=hidden).exists()
    # One of hers is reviewed, and "next flagged" leads to hers alone.
    mine = sorted(world.ids(auditor))
    done = page.post(f"/audit/entries/{mine[0]}/review", {"comment": "Set."})
    assert done.status_code == 302
    following = mine[1:]  # the newest first
    assert done["Location"] == (
        f"/audit/entries/{max(following)}" if following else "/audit/flagged"
    )


def test_r9_a_municipality_auditor_finds_and_names_only_the_citizens_she_answers_for(
    world: World,
) -> None:
    """Her residents, and those her own staff reached: found by CPR number,
    named beside the entries. A citizen she merely searched for by id is not
    named through her own recorded search."""
    hospital = _page_client(world.auditors["hospital"])
    gentofte = _page_client(world.auditors["gentofte"])
    g1 = world.gentofte_resident
    # The hospital's staff never reached g1: the CPR number names nobody to its auditor.
    missed = hospital.post("/audit/", {"cpr": g1.cpr}).content.decode()
    assert "Gunhild" not in missed
    found = gentofte.post("/audit/", {"cpr": g1.cpr}).content.decode()
    assert "Gunhild" in found
    # Gentofte's home nursing reached x1 (Gladsaxe): named to Gentofte's auditor.
    assert "Xenia" in gentofte.get("/audit/").content.decode()
    for _ in range(2):  # her own search of g1 recorded, then shown: still unnamed
        assert "Gunhild" not in hospital.get(f"/audit/?citizen={g1.pk}").content.decode()
    acute = _page_client(world.auditors["acute"])
    assert "Gunhild" in acute.get(f"/audit/?citizen={g1.pk}").content.decode()


@pytest.mark.parametrize(
    ("auditor", "resident", "allowed"),
    [
        ("acute", "gentofte", True),
        ("acute", "gladsaxe", True),
        ("gentofte", "gentofte", True),
        ("gentofte", "gladsaxe", False),
        ("gladsaxe", "gentofte", False),
        ("hospital", "gladsaxe", False),
        ("gp", "gentofte", False),
        ("helpline", "gladsaxe", False),
    ],
)
def test_r5_the_insight_report_is_for_an_auditor_who_answers_for_the_whole_log(
    world: World, auditor: str, resident: str, allowed: bool
) -> None:
    """The report shows every access to the citizen, so only the acute
    function's auditor and her municipality's produce it; another is told
    there is no such citizen, and the refusal is on the citizen's log."""
    person = world.gentofte_resident if resident == "gentofte" else world.gladsaxe_resident
    member = world.auditors[auditor]
    client = _page_client(member)
    looked_up = client.post("/consent/insight/", {"cpr": person.cpr})
    report = client.get(f"/consent/insight/{person.pk}/")
    if allowed:
        assert looked_up.status_code == 302
        assert looked_up["Location"] == f"/consent/insight/{person.pk}/"
        assert report.status_code == 200
        return
    assert looked_up.status_code == 400  # as for a CPR number nobody has
    assert 'data-code="citizen.not_found"' in looked_up.content.decode()
    assert report.status_code == 404
    assert AuditEntry.objects.filter(
        actor_user_id=member.user_id,
        citizen_id=person.pk,
        outcome=Outcome.DENIED,
        reason_code="outside_audit_scope",
    ).exists()


def test_r9_an_auditor_of_a_municipality_that_has_left_is_refused_and_recorded(
    world: World,
) -> None:
    gentofte = Organisation.objects.get(municipality_code="157")
    gentofte.participates = False
    gentofte.save(update_fields=["participates"])
    member = world.auditors["gentofte"]
    client = f.client_for(member)
    for door in (
        "/api/audit/entries",
        "/api/audit/export",
        f"/api/audit/entries/{world.entries['gp_g']}",
    ):
        response = client.get(door)
        assert response.status_code == 403, door
        assert response.json()["error"]["code"] == "access.municipality_not_participating"
    fhir = client.get("/fhir/AuditEvent")
    assert fhir.status_code == 403
    assert (
        AuditEntry.objects.filter(
            actor_user_id=member.user_id,
            outcome=Outcome.DENIED,
            reason_code="municipality_not_participating",
        ).count()
        == 4
    )


@pytest.mark.parametrize("auditor", ["acute", "hospital", "gp"])
def test_r9_the_verification_stays_the_whole_logs(world: World, auditor: str) -> None:
    """It shows no entry's content: every auditor checks the whole log."""
    response = f.client_for(world.auditors[auditor]).get("/api/audit/verify")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["checked"] >= len(world.entries)
    assert body["first_id"] <= min(world.entries.values())
