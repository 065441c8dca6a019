"""Break-the-glass (værdispring): reason, short time, one citizen, flagged, shown (R4, R5)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.test import override_settings
from django.utils import timezone

from consent.audit.models import AuditEntry
from consent.models import BreakGlass
from consent.services import record_resource_create
from core.actors import Actor
from core.models import Membership, Role
from core.permissions import session_membership_set
from tests import factories as f
from tests.consent import bodies
from tests.consent.audit.conftest import flags_scan_placed
from tests.consent.conftest import World, post


def _glass(membership, citizen_id: int, reason: str = "Bevidstløs, kan ikke spørges; akut behov"):
    return f.client_for(membership).post(
        "/api/consent/break-glass",
        {"citizen_id": citizen_id, "reason": reason, "basis": "cannot_be_asked"},
        format="json",
    )


@override_settings(CONSENT_BREAK_GLASS_MINUTES=15)
def test_r4_break_the_glass_overrides_a_refusal_for_one_citizen_briefly(world: World) -> None:
    post(f.client_for(world.nurse), "/fhir/Consent", bodies.refusal(world.person.pk))
    client = f.client_for(world.nurse)
    url = f"/fhir/Condition/{world.diagnosis.pk}"
    assert client.get(url).status_code == 404
    opened = _glass(world.nurse, world.person.pk)
    assert opened.status_code == 201, opened.content
    glass = BreakGlass.objects.get()
    assert glass.expires_at - glass.started_at == dt.timedelta(minutes=15)
    assert client.get(url).status_code == 200
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk, action="read").latest("id")
    assert (entry.reason_code, entry.purpose) == ("break_glass", "emergency")
    assert entry.detail["break_glass_id"] == glass.pk
    flagged = AuditEntry.objects.get(action="break_glass")
    assert flagged.detail["reason"].startswith("Bevidstløs")
    # this citizen only
    other = f.citizen()
    assert client.get(f"/fhir/Patient/{other.pk}").status_code == 404
    # and only for a short time
    BreakGlass.objects.update(
        started_at=timezone.now() - dt.timedelta(minutes=16),
        expires_at=timezone.now() - dt.timedelta(minutes=1),
    )
    assert client.get(url).status_code == 404


def test_r1_break_the_glass_also_opens_a_citizen_without_a_care_relationship(world: World) -> None:
    client = f.client_for(world.other_nurse)
    assert client.get(f"/fhir/Patient/{world.person.pk}/$everything").status_code == 404
    assert _glass(world.other_nurse, world.person.pk).status_code == 201
    assert client.get(f"/fhir/Patient/{world.person.pk}/$everything").status_code == 200


def test_break_the_glass_needs_a_reason_a_clinician_and_a_known_citizen(world: World) -> None:
    short = _glass(world.nurse, world.person.pk, reason="akut")
    assert short.status_code == 400
    assert short.json()["error"]["code"] == "break_glass.reason_required"
    for role in (Role.AUDITOR, Role.ANALYST, Role.ADMINISTRATOR, Role.MEDICINE_OFFICER):
        assert (
            _glass(
                getattr(world, role if role != Role.MEDICINE_OFFICER else "medicine_officer"),
                world.person.pk,
            ).status_code
            == 403
        )
    unknown = _glass(world.nurse, 99999999)
    assert unknown.status_code == 404
    assert not BreakGlass.objects.exists()


@pytest.mark.parametrize(
    "reason",
    ["..........", "-- !! -- ?? --", "  akut  ", "!!!!!!!!!!!!!!!!!!!!!!!!!!!!x", "a b c d e"],
)
def test_r4_a_break_the_glass_reason_is_words_not_punctuation(world: World, reason: str) -> None:
    """R4: the stated reason is what the auditors and the citizen read; dots,
    dashes and spaces typed to get past the field state nothing, at the API
    and on the visit page alike (one service)."""
    refused = _glass(world.other_nurse, world.person.pk, reason=reason)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "break_glass.reason_required"
    assert "bogstaver eller tal" in refused.json()["error"]["message"]
    assert not BreakGlass.objects.exists()
    assert AuditEntry.objects.get(action="break_glass").outcome == "denied"
    # Ten letters, with punctuation between, is a reason.
    assert _glass(world.other_nurse, world.person.pk, reason="Hjertestop!").status_code == 201


def test_r4_a_break_the_glass_reason_never_carries_a_cpr_number(world: World) -> None:
    """R4/R9: the reason is copied into every emergency entry, the auditors'
    exports and the insight report, so a CPR number in it is refused — and the
    refusal does not repeat the number."""
    cpr = str(world.person.cpr)
    for written in (cpr, f"{cpr[:6]}-{cpr[6:]}"):
        refused = _glass(world.nurse, world.person.pk, reason=f"Bevidstløs borger {written}")
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "break_glass.reason_has_cpr"
        assert cpr[:6] not in refused.content.decode()
    assert not BreakGlass.objects.exists()
    # The refused attempts are recorded (R9), without the reason that was refused.
    refused_entries = AuditEntry.objects.filter(action="break_glass")
    assert {e.outcome for e in refused_entries} == {"denied"}
    assert all(cpr[:6] not in json.dumps(e.detail) for e in refused_entries)


def test_r5_break_the_glass_shows_for_the_auditor_and_in_the_citizens_insight(world: World) -> None:
    _glass(world.other_nurse, world.person.pk)
    f.client_for(world.other_nurse).get(f"/fhir/Condition/{world.diagnosis.pk}")
    bundle = f.client_for(world.auditor).get(f"/fhir/Patient/{world.person.pk}/$insight").json()
    events = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "AuditEvent"
    ]
    flagged = [
        e for e in events if any(s["code"] == "break-the-glass" for s in e.get("subtype", []))
    ]
    assert len(flagged) == 2  # the override itself and the read under it
    page = f.client_for(None)
    page.force_login(world.auditor.user)
    session = page.session
    session_membership_set(session, world.auditor)
    session.save()
    html = page.get(f"/consent/insight/{world.person.pk}/").content.decode()
    assert "Bevidstløs" in html and html.count('class="flag"') >= 3  # override + read


# --- every door: what the override alone showed is an emergency access (R4, R9) ---

REASON = "Bevidstløs, kan ikke spørges; akut behov"


def _opened(membership, citizen_id: int) -> BreakGlass:
    response = _glass(membership, citizen_id, reason=REASON)
    assert response.status_code == 201, response.content
    return BreakGlass.objects.get(pk=response.json()["id"])


def _since(membership, citizen_id: int, after: int) -> list[AuditEntry]:
    """The entries about one citizen by one user after entry ``after``."""
    return list(
        AuditEntry.objects.filter(
            id__gt=after, actor_user_id=membership.user_id, citizen_id=citizen_id
        ).order_by("id")
    )


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _is_emergency(entry: AuditEntry, glass: BreakGlass) -> bool:
    return (
        entry.outcome == "permitted"
        and entry.purpose == "emergency"
        and entry.reason_code == "break_glass"
        and entry.detail.get("break_glass_id") == glass.pk
        and entry.detail.get("break_glass_reason") == REASON
    )


def _is_ordinary(entry: AuditEntry) -> bool:
    return (
        entry.outcome == "permitted"
        and entry.purpose == "treatment"
        and entry.reason_code != "break_glass"
        and "break_glass_id" not in entry.detail
    )


def _flagged_for_the_auditor(auditor) -> set[int]:
    """The entries the auditor's list of break-the-glass flags shows."""
    flags_scan_placed()
    response = f.client_for(auditor).get("/api/audit/entries?flag=break_glass&limit=200")
    assert response.status_code == 200
    return {row["id"] for row in response.json()["results"]}


def _cpr_search(client, world: World):
    return client.post("/fhir/Patient/_search", {"identifier": world.person.cpr})


# (door, request, audited action). Every door names the citizen or shows her data.
DOORS = {
    "read": (lambda c, w: c.get(f"/fhir/Condition/{w.diagnosis.pk}"), "read"),
    "version read": (lambda c, w: c.get(f"/fhir/Condition/{w.diagnosis.pk}/_history/1"), "read"),
    "patient read": (lambda c, w: c.get(f"/fhir/Patient/{w.person.pk}"), "read"),
    "$everything": (lambda c, w: c.get(f"/fhir/Patient/{w.person.pk}/$everything"), "read"),
    "search by patient": (lambda c, w: c.get(f"/fhir/Condition?patient={w.person.pk}"), "search"),
    "type-level search": (
        lambda c, w: c.get("/fhir/Condition?category=somatic-diagnosis"),
        "search",
    ),
    "total beyond the last page": (lambda c, w: c.get("/fhir/Condition?_offset=500"), "search"),
    "consent search": (lambda c, w: c.get(f"/fhir/Consent?patient={w.person.pk}"), "search"),
    "CPR search": (_cpr_search, "search"),
    "Patient search by name": (
        lambda c, w: c.get(f"/fhir/Patient?family={w.person.family_name}"),
        "search",
    ),
    "Patient total beyond the last page": (
        lambda c, w: c.get(f"/fhir/Patient?family={w.person.family_name}&_offset=500"),
        "search",
    ),
    "medicine given": (
        lambda c, w: c.get(f"/fhir/MedicationAdministration?patient={w.person.pk}"),
        "search",
    ),
    "lab results": (
        lambda c, w: c.get(f"/fhir/Observation?patient=Patient/{w.person.pk}"),
        "search",
    ),
}


@pytest.mark.parametrize("door", list(DOORS))
def test_r4_r9_what_the_override_alone_showed_is_an_emergency_access_at_every_door(
    world: World, door: str
) -> None:
    """R4/R9: through every door, an access that only the break-the-glass made
    possible is recorded with purpose emergency, the override's id and reason,
    and flagged for the auditors; the same door for the nurse with a care
    relationship (the override not needed, though she has one too) stays an
    ordinary access and is not flagged."""
    ask, action = DOORS[door]
    outsider = f.client_for(world.other_nurse)
    before = _last_id()
    ask(outsider, world)  # no relationship: nothing permitted
    assert all(e.outcome == "denied" for e in _since(world.other_nurse, world.person.pk, before))
    glass = _opened(world.other_nurse, world.person.pk)
    before = _last_id()
    response = ask(outsider, world)
    assert response.status_code == 200, response.content
    if door.endswith("total beyond the last page"):
        assert response.json()["total"] == 1 and not response.json().get("entry")
    entries = _since(world.other_nurse, world.person.pk, before)
    assert entries and all(e.action == action for e in entries)
    assert all(_is_emergency(e, glass) for e in entries), [
        (e.purpose, e.reason_code, e.detail) for e in entries
    ]
    assert {e.id for e in entries} <= _flagged_for_the_auditor(world.auditor)

    _opened(world.nurse, world.person.pk)  # she has one too, but her visit is enough
    before = _last_id()
    response = ask(f.client_for(world.nurse), world)
    assert response.status_code == 200, response.content
    ordinary = _since(world.nurse, world.person.pk, before)
    assert all(_is_ordinary(e) for e in ordinary), [(e.purpose, e.detail) for e in ordinary]
    assert not {e.id for e in ordinary} & _flagged_for_the_auditor(world.auditor)


def test_r4_a_search_marks_only_the_citizens_the_override_alone_showed(world: World) -> None:
    """R4: one type-level search showing her own visit's citizen and, through
    the override, another: only the latter is an emergency access and flagged."""
    own = f.citizen()
    f.open_visit(world.other_nurse, own)
    record_resource_create(
        actor=Actor.for_membership(world.other_nurse),
        data=bodies.diagnosis(own.pk, code="J18"),
        purpose="treatment",
    )
    glass = _opened(world.other_nurse, world.person.pk)
    before = _last_id()
    bundle = f.client_for(world.other_nurse).get("/fhir/Condition").json()
    subjects = {e["resource"]["subject"]["reference"] for e in bundle["entry"]}
    assert subjects == {f"Patient/{own.pk}", f"Patient/{world.person.pk}"}
    [theirs] = _since(world.other_nurse, world.person.pk, before)
    [mine] = _since(world.other_nurse, own.pk, before)
    assert _is_emergency(theirs, glass) and _is_ordinary(mine)
    flagged = _flagged_for_the_auditor(world.auditor)
    assert theirs.id in flagged and mine.id not in flagged


def test_r4_a_citizen_counted_only_because_of_the_override_is_recorded_off_the_page(
    world: World,
) -> None:
    """R4/R9: the override's citizen on a later page still adds to the total
    the nurse reads; that is recorded as an emergency access too."""
    own = f.citizen()
    f.open_visit(world.other_nurse, own)
    for code in ("J18", "N39"):
        record_resource_create(
            actor=Actor.for_membership(world.other_nurse),
            data=bodies.diagnosis(own.pk, code=code, recordedDate="2026-01-01"),
            purpose="treatment",
        )
    glass = _opened(world.other_nurse, world.person.pk)
    before = _last_id()
    bundle = f.client_for(world.other_nurse).get("/fhir/Condition?_count=2").json()
    assert bundle["total"] == 3 and len(bundle["entry"]) == 2
    assert all(
        e["resource"]["subject"]["reference"] == f"Patient/{own.pk}" for e in bundle["entry"]
    )
    [counted] = _since(world.other_nurse, world.person.pk, before)
    assert _is_emergency(counted, glass) and counted.action == "search"


@pytest.mark.parametrize("refusal", ["whole", "data period"])
def test_r4_a_search_past_the_citizens_refusal_is_an_emergency_access(
    world: World, refusal: str
) -> None:
    """R4: the nurse with the visit, whom the citizen refused (wholly or the
    data of a period), finds the refused record in a type-level search only
    under the override — and that hit is recorded as an emergency access."""
    scope = {} if refusal == "whole" else {"data_period": {"start": "2025-02-01"}}
    refused = post(
        f.client_for(world.nurse), "/fhir/Consent", bodies.refusal(world.person.pk, **scope)
    )
    assert refused.status_code == 201, refused.content
    client = f.client_for(world.nurse)
    assert client.get("/fhir/Condition").json()["total"] == 0
    glass = _opened(world.nurse, world.person.pk)
    before = _last_id()
    assert client.get("/fhir/Condition").json()["total"] == 1
    [entry] = _since(world.nurse, world.person.pk, before)
    assert _is_emergency(entry, glass)
    assert entry.id in _flagged_for_the_auditor(world.auditor)


def test_r4_the_emergency_purpose_searches_only_the_citizens_of_an_open_override(
    world: World,
) -> None:
    """R3/R4: a search stating the emergency purpose (ETREAT) finds only what
    an open break-the-glass opens, as a read stating it does, recorded so."""
    own = f.citizen()
    f.open_visit(world.other_nurse, own)
    record_resource_create(
        actor=Actor.for_membership(world.other_nurse),
        data=bodies.diagnosis(own.pk, code="J18"),
        purpose="treatment",
    )
    client = f.client_for(world.other_nurse)
    assert client.get("/fhir/Condition", HTTP_X_PURPOSE_OF_USE="ETREAT").json()["total"] == 0
    glass = _opened(world.other_nurse, world.person.pk)
    before = _last_id()
    bundle = client.get("/fhir/Condition", HTTP_X_PURPOSE_OF_USE="ETREAT").json()
    assert [e["resource"]["subject"]["reference"] for e in bundle["entry"]] == [
        f"Patient/{world.person.pk}"
    ]
    [entry] = _since(world.other_nurse, world.person.pk, before)
    assert _is_emergency(entry, glass)
    assert not _since(world.other_nurse, own.pk, before)


def test_r4_recording_the_citizens_wishes_under_the_override_is_an_emergency_access(
    world: World,
) -> None:
    """R4: a nurse with no relationship records a refusal under the override:
    the write is recorded as an emergency access, not as treatment."""
    glass = _opened(world.other_nurse, world.person.pk)
    before = _last_id()
    created = post(
        f.client_for(world.other_nurse), "/fhir/Consent", bodies.refusal(world.person.pk)
    )
    assert created.status_code == 201, created.content
    [entry] = _since(world.other_nurse, world.person.pk, before)
    assert entry.action == "create" and _is_emergency(entry, glass)
    assert entry.id in _flagged_for_the_auditor(world.auditor)


def test_r5_emergency_searches_are_in_the_insight_report_and_the_auditors_export(
    world: World,
) -> None:
    """R5/R9: the citizen's insight report lists the search made under the
    override, flagged; the auditor's exports carry its reason and flag."""
    glass = _opened(world.other_nurse, world.person.pk)
    before = _last_id()
    f.client_for(world.other_nurse).get("/fhir/Condition")
    [search] = _since(world.other_nurse, world.person.pk, before)
    assert _is_emergency(search, glass)
    flags_scan_placed()
    auditor = f.client_for(world.auditor)
    bundle = auditor.get(f"/fhir/Patient/{world.person.pk}/$insight").json()
    [event] = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "AuditEvent" and e["resource"]["id"] == str(search.id)
    ]
    assert any(s["code"] == "break-the-glass" for s in event["subtype"])
    assert event["purposeOfEvent"][0]["coding"][0]["code"] == "ETREAT"

    page = f.client_for(None)
    page.force_login(world.auditor.user)
    session = page.session
    session_membership_set(session, world.auditor)
    session.save()
    html = page.get(f"/consent/insight/{world.person.pk}/").content.decode()
    rows = [row for row in html.split("<tr") if "Søgning" in row]
    assert rows and all('class="flag"' in row for row in rows)
    assert "Akut behandling (nødadgang)" in rows[0]

    export = auditor.get(f"/api/audit/export?as=csv&citizen={world.person.pk}&flag=break_glass")
    exported = {r["id"]: r for r in csv.DictReader(io.StringIO(export.content.decode()))}
    row = exported[str(search.id)]
    assert (row["purpose"], row["reason_code"], row["flags"]) == (
        "emergency",
        "break_glass",
        "break_glass",
    )
    assert (row["break_glass_id"], row["break_glass_reason"]) == (str(glass.pk), REASON)
    fhir = auditor.get(f"/api/audit/export?as=fhir&citizen={world.person.pk}").json()
    [exported_event] = [
        e["resource"] for e in fhir["entry"] if e["resource"]["id"] == str(search.id)
    ]
    details = {d["type"]: d["valueString"] for d in exported_event["entity"][0]["detail"]}
    assert details == {"break-glass-id": str(glass.pk), "break-glass-reason": REASON}
    entry_page = page.get(f"/audit/entries/{search.id}").content.decode()
    assert REASON in entry_page and "Brug af nødadgang" in entry_page


MISSING = object()  # a field left out of the request


def test_r9_a_refused_break_the_glass_is_recorded_on_the_citizens_trail(world: World) -> None:
    """Each refused override — a role that may not, no reason, no basis — is an
    attempt at the citizen's data and is recorded as denied, without the reason."""
    pid = world.person.pk
    refused = [
        (world.auditor, {"reason": "Bevidstløs, kan ikke spørges"}, 403, "break_glass.role"),
        (world.analyst, {"reason": "Bevidstløs, kan ikke spørges"}, 403, "break_glass.role"),
        (world.administrator, {"reason": "Bevidstløs, kan ikke spørges"}, 403, "break_glass.role"),
        (world.nurse, {"reason": "akut"}, 400, "break_glass.reason_required"),
        (
            world.nurse,
            {"reason": "Bevidstløs, kan ikke spørges", "basis": "hunch"},
            400,
            "break_glass.basis_invalid",
        ),
        # Refused at the API door as in the service: each recorded with its own code.
        (world.nurse, {"reason": MISSING}, 400, "break_glass.reason_required"),
        (world.nurse, {"reason": None}, 400, "break_glass.reason_required"),
        (
            world.nurse,
            {"reason": ["Bevidstløs, kan ikke spørges"]},
            400,
            "break_glass.reason_required",
        ),
        (world.nurse, {"reason": "Bevidstløs " * 46}, 400, "break_glass.reason_too_long"),
        (world.nurse, {"basis": MISSING}, 400, "break_glass.basis_invalid"),
        (world.nurse, {"basis": "cannot_be_asked" * 3}, 400, "break_glass.basis_invalid"),
        # A number for a text field is refused by the body gate (write.not_text).
        (world.nurse, {"basis": 1}, 400, "write.not_text"),
    ]
    for membership, change, status, code in refused:
        body = {
            "citizen_id": pid,
            "reason": "Bevidstløs, kan ikke spørges",
            "basis": "cannot_be_asked",
            **change,
        }
        body = {k: v for k, v in body.items() if v is not MISSING}
        before = AuditEntry.objects.count()
        response = f.client_for(membership).post("/api/consent/break-glass", body, format="json")
        assert response.status_code == status, response.content
        assert response.json()["error"]["code"] == code
        entry = AuditEntry.objects.latest("id")
        assert AuditEntry.objects.count() == before + 1
        assert (entry.action, entry.outcome, entry.reason_code) == ("break_glass", "denied", code)
        assert (entry.citizen_id, entry.purpose) == (pid, "emergency")
        assert entry.actor_user_id == membership.user_id
        assert "reason" not in entry.detail
    assert not BreakGlass.objects.exists()


def test_r4_a_long_reason_is_kept_whole_or_refused_never_cut(world: World) -> None:
    """R4/R5: the auditors and the citizen read the reason as it was stated:
    500 characters are kept whole; a longer one is refused, in Danish, not
    stored cut short."""
    longest = ("Bevidstløs " * 46)[:500]
    assert _glass(world.other_nurse, world.person.pk, reason=longest).status_code == 201
    assert BreakGlass.objects.get().reason == longest.strip()
    refused = _glass(world.other_nurse, world.person.pk, reason=longest + "x" * 10)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("break_glass.reason_too_long", "reason")
    assert "højst 500 tegn" in error["message"]
    assert BreakGlass.objects.count() == 1


def test_r3_r4_an_override_opens_the_citizen_only_in_the_role_and_organisation_it_was_opened_in(
    world: World,
) -> None:
    """The same person acting for another organisation (home nursing elsewhere)
    or in another role (coordinator of the same function) is another
    recipient: the override she opened as the acute nurse does not reach her
    there, on a read, a search for the patient or a search across citizens;
    back in the role she opened it in, it does."""
    user = world.other_nurse.user
    elsewhere = Membership.objects.create(
        user=user, organisation=f.home_nursing("159"), role=Role.HOME_NURSE
    )
    coordinating = Membership.objects.create(
        user=user, organisation=world.acute, role=Role.COORDINATOR
    )
    pid = world.person.pk
    assert _glass(world.other_nurse, pid).status_code == 201
    for membership in (elsewhere, coordinating):
        client = f.client_for(membership)
        assert client.get(f"/fhir/Patient/{pid}").status_code == 404
        assert client.get(f"/fhir/Condition/{world.diagnosis.pk}").status_code == 404
        assert client.get(f"/fhir/Condition?patient={pid}").json()["total"] == 0
        assert client.get("/fhir/Condition").json()["total"] == 0
        emergency = client.get(f"/fhir/Patient/{pid}", HTTP_X_PURPOSE_OF_USE="ETREAT")
        assert emergency.status_code == 404
    refused = AuditEntry.objects.filter(
        citizen_id=pid, actor_user_id=user.pk, action="read", outcome="denied"
    )
    assert {e.actor_organisation_id for e in refused} == {
        elsewhere.organisation_id,
        world.acute.pk,
    }
    assert not AuditEntry.objects.filter(
        citizen_id=pid, actor_user_id=user.pk, outcome="permitted", action__in=["read", "search"]
    ).exists()
    # Where it was opened, it opens.
    assert f.client_for(world.other_nurse).get(f"/fhir/Patient/{pid}").status_code == 200
