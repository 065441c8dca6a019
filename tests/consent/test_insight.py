"""The insight report (R5): holdings by category and source, every access of two years."""

from __future__ import annotations

import base64
import datetime as dt

from django.utils import timezone

from consent.audit import merkle
from consent.audit.disclosures import insight_since
from consent.audit.log import sequence_batch
from consent.audit.models import DIGEST_FIELDS, AuditEntry
from consent.audit.notes import checkpoint_parse, note_split
from consent.selectors import insight_report
from consent.selectors.insight import PROOF_EXTENSION
from core.actors import Actor
from core.permissions import session_membership_set
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, post


def _page_client(membership):
    client = f.client_for(None)
    client.force_login(membership.user)
    session = client.session
    session_membership_set(session, membership)
    session.save()
    return client


def test_r5_insight_bundle_lists_holdings_consents_and_every_access(world: World) -> None:
    f.client_for(world.nurse).get(f"/fhir/Condition/{world.diagnosis.pk}")
    post(
        f.client_for(world.nurse),
        "/fhir/Consent",
        bodies.refusal(world.person.pk, purposes=["HOPERAT"]),
    )
    response = f.client_for(world.auditor).get(f"/fhir/Patient/{world.person.pk}/$insight")
    assert response.status_code == 200
    types = [e["resource"]["resourceType"] for e in response.json()["entry"]]
    assert types.count("Patient") == 1 and "Condition" in types and "Consent" in types
    events = [
        e["resource"]
        for e in response.json()["entry"]
        if e["resource"]["resourceType"] == "AuditEvent"
    ]
    assert len(events) >= 2  # the nurse's read and her recording of the refusal
    export = AuditEntry.objects.filter(action="export", citizen_id=world.person.pk).get()
    assert (export.reason_code, export.purpose) == ("right_of_insight", "audit")


def test_r5_accesses_older_than_two_years_are_left_out(world: World) -> None:
    f.client_for(world.nurse).get(f"/fhir/Condition/{world.diagnosis.pk}")
    auditor = Actor.for_membership(world.auditor)
    now = insight_report(actor=auditor, citizen_id=world.person.pk)
    assert any(e.user_id == world.nurse.user_id for e in now.accesses)
    later = insight_report(
        actor=auditor, citizen_id=world.person.pk, at=timezone.now() + dt.timedelta(days=731)
    )
    assert not any(e.user_id == world.nurse.user_id for e in later.accesses)


def test_r5_the_last_two_years_are_two_calendar_years_in_copenhagen(world: World) -> None:
    """*Min Log*: on 5 December 2028 the citizen sees every access since
    5 December 2026 — two calendar years, not 730 days, which would leave out
    the first day whenever a 29 February lies inside them (2028's does)."""
    f.client_for(world.nurse).get(f"/fhir/Condition/{world.diagnosis.pk}")
    read = AuditEntry.objects.filter(actor_user_id=world.nurse.user_id, action="read").get()
    local = timezone.localtime(read.recorded_at)
    two_years_on = timezone.make_aware(
        local.replace(tzinfo=None, year=local.year + 2, day=min(local.day, 28))
        if (local.month, local.day) == (2, 29)
        else local.replace(tzinfo=None, year=local.year + 2)
    )
    auditor = Actor.for_membership(world.auditor)

    def listed(at: dt.datetime) -> bool:
        report = insight_report(actor=auditor, citizen_id=world.person.pk, at=at)
        return any(e.entry_id == read.pk for e in report.accesses)

    assert listed(two_years_on - dt.timedelta(hours=1))
    assert not listed(two_years_on + dt.timedelta(hours=1))
    # The day a 29 February makes the 731st day back is inside the two years.
    at = timezone.make_aware(dt.datetime(2028, 12, 5, 9, 30))
    assert timezone.localtime(insight_since(at)).replace(tzinfo=None) == dt.datetime(
        2026, 12, 5, 9, 30
    )
    leap = timezone.make_aware(dt.datetime(2028, 2, 29, 9, 30))
    assert timezone.localtime(insight_since(leap)).replace(tzinfo=None) == dt.datetime(
        2026, 2, 28, 9, 30
    )


def test_r5_two_years_back_into_the_clocks_spring_gap_starts_at_its_earlier_reading() -> None:
    """Two years before 02:30 on 29 March 2028 is 02:30 on 29 March 2026, a
    time the clocks skipped (02:00 became 03:00). Read as 03:30 summer time
    the window left out the disclosures of the hour from 01:30 winter time;
    it starts at the earlier reading. A time shown twice in October starts
    at its first showing."""
    copenhagen = timezone.get_current_timezone()
    spring = dt.datetime(2028, 3, 29, 2, 30, tzinfo=copenhagen)
    assert insight_since(spring) == dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC)
    autumn = dt.datetime(2028, 10, 25, 2, 30, tzinfo=copenhagen)
    assert insight_since(autumn) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)


def test_r5_printable_page_for_auditors_only(world: World) -> None:
    f.client_for(world.nurse).get(f"/fhir/Condition/{world.diagnosis.pk}")
    page = _page_client(world.auditor).get(f"/consent/insight/{world.person.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Somatisk diagnose" in html and world.acute.name in html
    assert world.person.cpr not in html
    # Who looked, by name and role as the citizen reads it (not the username).
    assert f"{world.nurse.user.display_name} (Akutsygeplejerske)" in html
    found = _page_client(world.auditor).post("/consent/insight/", {"cpr": world.person.cpr})
    assert found.status_code == 302 and found["Location"].endswith(f"/{world.person.pk}/")
    assert world.person.cpr not in found["Location"]
    for membership in world.by_role().values():
        if membership.role == "auditor":
            continue
        # Refused by the gate as "not found", and the refusal recorded.
        refused = _page_client(membership).get(f"/consent/insight/{world.person.pk}/")
        assert refused.status_code == 404 and world.person.family_name not in refused.text
        entry = AuditEntry.objects.filter(actor_user_id=membership.user_id).latest("id")
        assert (entry.citizen_id, entry.outcome) == (world.person.pk, "denied")
    missing = _page_client(world.auditor).get("/consent/insight/99999999/")
    assert missing.status_code == 404


def test_r5_a_cpr_number_not_found_or_malformed_is_marked_under_the_field(world: World) -> None:
    client = _page_client(world.auditor)
    malformed = client.post("/consent/insight/", {"cpr": "12345"}, HTTP_ACCEPT_LANGUAGE="da")
    html = malformed.content.decode()
    assert malformed.status_code == 400 and 'data-code="cpr.invalid"' in html
    assert 'value="12345" aria-invalid="true" aria-describedby="err-cpr"' in html
    unknown = client.post("/consent/insight/", {"cpr": "0101011234"}, HTTP_ACCEPT_LANGUAGE="da")
    html = unknown.content.decode()
    assert unknown.status_code == 400 and 'data-code="citizen.not_found"' in html
    assert "Ingen borger har det CPR-nummer." in html and 'id="err-cpr"' in html


def test_r5_each_access_carries_its_inclusion_proof_and_checkpoint(world: World) -> None:
    """A citizen (or their lawyer) checks each listed access with public
    tools: the leaf, the RFC 6962 proof and the signed checkpoint it leads to."""
    f.client_for(world.nurse).get(f"/fhir/Condition/{world.diagnosis.pk}")
    sequence_batch()
    response = f.client_for(world.auditor).get(f"/fhir/Patient/{world.person.pk}/$insight")
    events = [
        e["resource"]
        for e in response.json()["entry"]
        if e["resource"]["resourceType"] == "AuditEvent"
    ]
    proven = 0
    for event in events:
        [extension] = [x for x in event.get("extension", []) if x["url"] == PROOF_EXTENSION]
        parts = extension["extension"]
        value = {p["url"]: next(v for k, v in p.items() if k.startswith("value")) for p in parts}
        hashes = [base64.b64decode(p["valueBase64Binary"]) for p in parts if p["url"] == "hash"]
        body, _ = note_split(value["checkpoint"])
        checkpoint = checkpoint_parse(body)
        assert checkpoint.size == value["treeSize"]
        leaf = base64.b64decode(value["leaf"])
        assert int.from_bytes(leaf[:8], "big") == int(event["id"])
        assert merkle.verify_inclusion(
            index=value["leafIndex"],
            size=value["treeSize"],
            leaf=merkle.leaf_hash(leaf),
            proof=hashes,
            root_hash=checkpoint.root,
        )
        proven += 1
    assert proven == len(events) >= 1
    page = _page_client(world.auditor).get(f"/consent/insight/{world.person.pk}/")
    html = page.content.decode()
    assert 'id="log-proofs"' in html and "— tvaerakut.local/audit" in html


def test_r5_a_refusal_of_named_professionals_is_not_shown_as_of_all_recipients(
    world: World,
) -> None:
    """R4/R5: the citizen reads whom she refused. A refusal naming only a
    professional covers her alone, not every recipient; one naming nobody does."""
    client = f.client_for(world.nurse)
    named = bodies.refusal(world.person.pk, users=[world.other_nurse.user_id])
    assert post(client, "/fhir/Consent", named).status_code == 201
    html = _page_client(world.auditor).get(f"/consent/insight/{world.person.pk}/").content.decode()
    assert world.other_nurse.user.display_name in html
    assert "alle modtagere" not in html
    assert post(client, "/fhir/Consent", bodies.refusal(world.person.pk)).status_code == 201
    html = _page_client(world.auditor).get(f"/consent/insight/{world.person.pk}/").content.decode()
    assert html.count("alle modtagere") == 1


def test_r9_the_auditors_look_up_of_a_cpr_number_for_a_report_is_recorded(world: World) -> None:
    """Finding the citizen by CPR number tells the auditor whom the platform
    knows, found or not: recorded as her search (purpose audit), the number
    itself nowhere in the entry."""
    auditor = _page_client(world.auditor)
    found = auditor.post("/consent/insight/", {"cpr": world.person.cpr})
    assert found.status_code == 302
    unknown = f.cpr_number(born=dt.date(1950, 1, 1), female=False)
    assert auditor.post("/consent/insight/", {"cpr": unknown}).status_code == 400
    searches = AuditEntry.objects.filter(actor_user_id=world.auditor.user_id, action="search")
    assert [(e.purpose, e.citizen_id, e.detail["query"]) for e in searches.order_by("id")] == [
        ("audit", world.person.pk, {"citizen_by": "cpr"}),
        ("audit", None, {"citizen_by": "cpr"}),
    ]
    assert not any(world.person.cpr in str(e.detail) or unknown in str(e.detail) for e in searches)


def test_r5_insight_refuses_a_parameter_it_does_not_serve_and_records_it(world: World) -> None:
    """``$insight?_since=…`` or ``?_count=5`` was answered with the whole
    report as if the period or the page were applied. Like a read and
    ``$everything``, it refuses what it does not serve (whatever ``Prefer``
    says), names it, and the attempt is on the citizen's log (R9)."""
    auditor = f.client_for(world.auditor)
    url = f"/fhir/Patient/{world.person.pk}/$insight"
    for query, name in (
        ("_since=2026-01-01T00:00:00Z", "_since"),
        ("_count=5", "_count"),
        ("_summary=true", "_summary"),
        ("_format=json&_format=json&period=2025", "period"),
    ):
        before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        response = auditor.get(f"{url}?{query}", HTTP_PREFER="handling=lenient")
        assert response.status_code == 400, (query, response.content[:300])
        issue = response.json()["issue"][0]
        # An operation's own refusal, naming it: not a read's wording.
        assert issue["details"]["coding"][0]["code"] == "operation.param_unknown"
        assert name in issue["diagnostics"]
        assert "$insight" in issue["details"]["text"] and "opslag" not in issue["details"]["text"]
        [entry] = AuditEntry.objects.filter(pk__gt=before)
        assert (entry.outcome, entry.action, entry.reason_code, entry.citizen_id) == (
            "denied",
            "export",
            "operation.param_unknown",
            world.person.pk,
        )
    for query in ("", "_format=json", "_pretty=true", "_summary=false"):
        assert auditor.get(f"{url}?{query}").status_code == 200, query


def test_r5_the_citizens_report_says_who_and_why_not_the_staff_members_device(
    world: World,
) -> None:
    """The citizen is told who read her data, from which organisation, when
    and why; the address of the nurse's device and the platform's request id
    are the auditors' and stay in their own AuditEvent search."""
    f.client_for(world.nurse).get(
        f"/fhir/Condition/{world.diagnosis.pk}", REMOTE_ADDR="10.20.30.40"
    )
    read = AuditEntry.objects.filter(citizen_id=world.person.pk, action="read").latest("id")
    assert str(read.client_address) == "10.20.30.40" and read.request_id
    bundle = f.client_for(world.auditor).get(f"/fhir/Patient/{world.person.pk}/$insight")
    (event,) = [
        e["resource"]
        for e in bundle.json()["entry"]
        if e["resource"]["resourceType"] == "AuditEvent" and e["resource"]["id"] == str(read.pk)
    ]
    assert event["agent"][0]["who"].get("display") == world.nurse.user.display_name
    assert "10.20.30.40" not in bundle.content.decode()
    assert read.request_id not in bundle.content.decode()
    # The auditors' own search still has them.
    audited = f.client_for(world.auditor).get(f"/fhir/AuditEvent/{read.pk}").content.decode()
    assert "10.20.30.40" in audited and read.request_id in audited


def test_r5_a_citizen_the_platform_does_not_know_is_refused_and_recorded_at_both_doors(
    world: World,
) -> None:
    """An id no citizen has: 404 (an OperationOutcome on /fhir/), the attempt
    on the log. The citizen's CPR number put in the address in place of the
    id is refused for what it is (400 ``request.cpr_in_url``), never looked
    up, and recorded without the number (docs/decisions/0002)."""
    api = f.client_for(world.auditor)
    page = _page_client(world.auditor)
    before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    missing = api.get("/fhir/Patient/99999999/$insight")
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
    assert page.get("/consent/insight/99999999/").status_code == 404
    unknown = AuditEntry.objects.filter(pk__gt=before).order_by("pk")
    assert [(e.action, e.outcome, e.reason_code) for e in unknown] == [
        ("export", "denied", "unknown_citizen")
    ] * 2
    cpr = world.person.cpr
    before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    in_path = api.get(f"/fhir/Patient/{cpr}/$insight")
    assert in_path.status_code == 400, in_path.content
    issue = in_path.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "request.cpr_in_url"
    shown = page.get(f"/consent/insight/{cpr}/", HTTP_ACCEPT_LANGUAGE="da")
    assert shown.status_code == 400
    assert "Et CPR-nummer skrives aldrig i en sides adresse" in shown.content.decode()
    refused = list(AuditEntry.objects.filter(pk__gt=before).order_by("pk"))
    assert [(e.outcome, e.reason_code, e.citizen_id) for e in refused] == [
        ("denied", "cpr_in_url", None)
    ] * 2
    for entry in refused:
        assert cpr not in str([getattr(entry, name) for name in DIGEST_FIELDS])
        assert cpr.lstrip("0") not in str([getattr(entry, name) for name in DIGEST_FIELDS])
