"""A search across citizens that shows no one is on the log (R9): an
auditor sees that the register was searched, by whom, of which type and by
which parameters, never with what (a name or a CPR number may be in a value)."""

from __future__ import annotations

import re

from consent.audit.models import AuditEntry
from tests import factories as f
from tests.consent.conftest import World
from tests.consent.test_insight import _page_client


def _after(before: int, member) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(pk__gt=before, actor_user_id=member.user_id).order_by("pk")
    )


def _last() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_r9_a_search_that_finds_no_one_leaves_an_entry_naming_no_citizen(world: World) -> None:
    nurse = f.client_for(world.nurse)
    for path, query, names in (
        ("Patient", {"name": "Zzyzxqwerty", "birthdate": "1901"}, ["birthdate", "name"]),
        ("Patient", {"family:exact": "Zzyzxqwerty"}, ["family"]),
        ("Condition", {"code": "Q99.9-nowhere"}, ["code"]),
        ("Condition", {"category": "nursing-problem", "code": "nowhere"}, ["category", "code"]),
    ):
        before = _last()
        response = nurse.get(f"/fhir/{path}", query)
        assert response.status_code == 200, response.content[:300]
        assert response.json()["total"] == 0
        [entry] = _after(before, world.nurse)
        assert (
            entry.citizen_id,
            entry.action,
            entry.outcome,
            entry.resource_type,
            entry.reason_code,
        ) == (None, "search", "permitted", path, "search_no_citizen"), query
        assert entry.detail == {"params": names}
        for value in query.values():
            assert value not in str(entry.detail)
    # POST _search alike.
    before = _last()
    response = nurse.post("/fhir/Patient/_search", {"name": "Zzyzxqwerty"})
    assert response.status_code == 200 and response.json()["total"] == 0
    [entry] = _after(before, world.nurse)
    assert (entry.citizen_id, entry.reason_code) == (None, "search_no_citizen")


def test_r9_a_search_that_finds_citizens_is_still_recorded_per_citizen(world: World) -> None:
    nurse = f.client_for(world.nurse)
    before = _last()
    response = nurse.get("/fhir/Patient", {"_id": str(world.person.pk), "gender": "female,male"})
    assert response.status_code == 200
    entries = _after(before, world.nurse)
    assert [e.citizen_id for e in entries] == [world.person.pk]
    assert all(e.reason_code != "search_no_citizen" for e in entries)
    before = _last()
    response = nurse.get("/fhir/Patient", {"family": world.person.family_name})
    assert response.status_code == 200 and response.json()["total"] >= 1
    entries = _after(before, world.nurse)
    assert world.person.pk in [e.citizen_id for e in entries]
    assert all(e.citizen_id is not None for e in entries)


def test_r9_the_auditor_sees_the_search_that_found_no_one_in_danish(world: World) -> None:
    f.client_for(world.nurse).get("/fhir/Patient", {"name": "Zzyzxqwerty"})
    entry = AuditEntry.objects.filter(reason_code="search_no_citizen").latest("pk")
    event = f.client_for(world.auditor).get(f"/fhir/AuditEvent/{entry.pk}")
    assert event.status_code == 200, event.content[:300]
    body = event.json()
    assert body["outcomeDesc"] == "search_no_citizen"
    assert not any("Patient/" in str(e.get("what", {})) for e in body["entity"])
    [searched] = [e for e in body["entity"] if e.get("what", {}).get("type") == "Patient"]
    assert searched["detail"] == [{"type": "searched-by", "valueString": "name"}]
    assert "Zzyzxqwerty" not in event.content.decode()
    page = _page_client(world.auditor).get(f"/audit/entries/{entry.pk}")
    assert page.status_code == 200, page.content[:300]
    text = re.sub(r"\s+", " ", page.content.decode())
    assert "søgning, der ikke viste nogen borger" in text
    assert "Søgt på" in text and "Zzyzxqwerty" not in text
    listed = _page_client(world.auditor).get("/audit/", {"citizen": ""})
    assert "søgning, der ikke viste nogen borger" in re.sub(r"\s+", " ", listed.content.decode())
