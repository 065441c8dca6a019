"""R4 "or a period": a refusal of the data from a period (FHIR Consent
``provision.dataPeriod``) hides every record resource dated inside it from the
recipients it covers — in read, search (totals too), ``$everything``, the
visit page's summary and the analyses — while the citizen stays visible and
the rest of the record readable. Break-the-glass is the only way past it.
A refusal *during* a period (``provision.period``) is tested in
test_gate_rules."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from acute.services import visit_assign
from consent.audit.models import AuditEntry
from consent.models import ConsentDirective, RecordResource
from consent.services import record_resource_create
from core.actors import Actor
from core.models import Role
from tests import factories as f
from tests.consent import bodies
from tests.consent.analysis_api import run
from tests.consent.conftest import World, issue_code, post, put
from tests.consent.test_analyses import NOISELESS

# world.diagnosis is recorded 2025-03-01; the nursing problems below are dated around it.
FEBRUARY_MARCH = {"start": "2025-02-01", "end": "2025-03-31"}


def _refuse(world: World, **kwargs) -> dict:
    response = post(
        f.client_for(world.nurse), "/fhir/Consent", bodies.refusal(world.person.pk, **kwargs)
    )
    assert response.status_code == 201, response.content
    return response.json()


def _problem(world: World, text: str, recorded: str) -> RecordResource:
    return record_resource_create(
        actor=Actor.for_membership(world.nurse),
        data=bodies.nursing_problem(world.person.pk, text=text, recorded=recorded),
        purpose="treatment",
    )


def test_r4_a_data_period_refusal_is_kept_as_fhir_consent_data_period(world: World) -> None:
    created = _refuse(world, data_period=FEBRUARY_MARCH, how="written")
    period = created["provision"]["dataPeriod"]
    directive = ConsentDirective.objects.get()
    # Bare dates are whole Danish days: from the first moment of 1 February to
    # the end of 31 March, Copenhagen time, stored in UTC.
    assert directive.data_period_start == dt.datetime(2025, 1, 31, 23, 0, tzinfo=dt.UTC)
    assert directive.data_period_end == dt.datetime(2025, 3, 31, 22, 0, tzinfo=dt.UTC)
    assert dt.datetime.fromisoformat(period["start"]) == directive.data_period_start
    # FHIR's Period.end is inclusive: read back as the day it was sent.
    assert period["end"] == "2025-03-31"
    assert "period" in created["provision"]  # in force from now: a separate thing
    read = f.client_for(world.nurse).get(f"/fhir/Consent/{created['id']}")
    assert read.json()["provision"]["dataPeriod"] == period


def test_r4_data_in_the_refused_period_is_not_read_but_the_rest_is(world: World) -> None:
    before = _problem(world, "Obstipation", "2025-01-15")
    after = _problem(world, "Risiko for tryksår", "2025-04-01")
    _refuse(world, data_period=FEBRUARY_MARCH)
    client = f.client_for(world.nurse)
    hidden = client.get(f"/fhir/Condition/{world.diagnosis.pk}")
    unknown = client.get("/fhir/Condition/99999999")
    assert hidden.status_code == 404 and hidden.json() == unknown.json()
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk).latest("id")
    assert (entry.action, entry.outcome, entry.reason_code) == (
        "read",
        "denied",
        "refused_data_period",
    )
    assert client.get(f"/fhir/Condition/{world.diagnosis.pk}/_history/1").status_code == 404
    for resource in (before, after):
        assert client.get(f"/fhir/Condition/{resource.pk}").status_code == 200
    assert client.get(f"/fhir/Patient/{world.person.pk}").status_code == 200


def test_r4_the_refused_period_is_left_out_of_searches_and_their_totals(world: World) -> None:
    _problem(world, "Obstipation", "2025-01-15")
    _problem(world, "Smerter", "2025-03-31")  # the last day is inside the period
    _problem(world, "Risiko for tryksår", "2025-04-01")
    client = f.client_for(world.nurse)
    assert client.get(f"/fhir/Condition?patient={world.person.pk}").json()["total"] == 4
    _refuse(world, data_period=FEBRUARY_MARCH)
    for url in (f"/fhir/Condition?patient={world.person.pk}", "/fhir/Condition"):
        found = client.get(url).json()
        assert found["total"] == 2, url
        texts = {e["resource"]["code"].get("text") for e in found["entry"]}
        assert texts == {"Obstipation", "Risiko for tryksår"}
        page = client.get(f"{url}{'&' if '?' in url else '?'}_count=1&_offset=1").json()
        assert page["total"] == 2 and len(page["entry"]) == 1
        assert "next" not in {link["relation"] for link in page["link"]}
    by_code = client.get(f"/fhir/Condition?patient={world.person.pk}&code=I10").json()
    assert by_code["total"] == 0
    by_date = client.get(f"/fhir/Condition?patient={world.person.pk}&date=ge2025-03-01").json()
    assert by_date["total"] == 1


def test_r4_everything_leaves_out_the_refused_period_and_says_so_to_the_auditor(
    world: World,
) -> None:
    kept = _problem(world, "Risiko for tryksår", "2025-04-01")
    _refuse(world, data_period=FEBRUARY_MARCH)
    response = f.client_for(world.nurse).get(f"/fhir/Patient/{world.person.pk}/$everything")
    assert response.status_code == 200
    ids = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in response.json()["entry"]}
    assert ("Condition", str(kept.pk)) in ids
    assert ("Condition", str(world.diagnosis.pk)) not in ids
    assert response.json()["total"] == 2  # the Patient and the nursing problem
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk, action="read").latest("id")
    assert entry.outcome == "permitted" and entry.detail["withheld"] == "data_period"


def test_r4_a_data_period_refusal_covers_only_the_recipients_it_names(world: World) -> None:
    _refuse(world, data_period=FEBRUARY_MARCH, organisations=[world.acute.pk])
    url = f"/fhir/Condition/{world.diagnosis.pk}"
    assert f.client_for(world.nurse).get(url).status_code == 404
    assert f.client_for(world.physician).get(url).status_code == 200  # the citizen's own GP
    everything = f.client_for(world.physician).get(f"/fhir/Patient/{world.person.pk}/$everything")
    assert everything.json()["total"] == 2


def test_r4_a_data_period_refusal_applies_only_while_in_force_and_until_withdrawn(
    world: World,
) -> None:
    url = f"/fhir/Condition/{world.diagnosis.pk}"
    client = f.client_for(world.nurse)
    later = timezone.now() + dt.timedelta(days=3)
    _refuse(world, data_period=FEBRUARY_MARCH, period={"start": later.isoformat()})
    assert client.get(url).status_code == 200  # not yet in force
    ConsentDirective.objects.update(period_start=timezone.now() - dt.timedelta(minutes=1))
    assert client.get(url).status_code == 404
    directive = ConsentDirective.objects.get()
    withdrawn = post(
        client,
        f"/fhir/Consent/{directive.pk}/$withdraw",
        {"resourceType": "Parameters", "parameter": [{"name": "how", "valueCode": "oral"}]},
    )
    assert withdrawn.status_code == 200
    assert client.get(url).status_code == 200


def test_r4_an_open_ended_data_period_and_a_resource_without_a_date(world: World) -> None:
    """Only a start: everything dated from then on. A resource with no clinical
    date is matched by when it entered the record."""
    undated = bodies.care_plan(world.person.pk)
    undated.pop("period")
    plan = record_resource_create(
        actor=Actor.for_membership(world.nurse), data=undated, purpose="treatment"
    )
    assert plan.effective_at is None
    _refuse(world, data_period={"start": "2025-03-01"})
    client = f.client_for(world.nurse)
    assert client.get(f"/fhir/Condition/{world.diagnosis.pk}").status_code == 404
    assert client.get(f"/fhir/CarePlan/{plan.pk}").status_code == 404  # recorded today
    assert client.get(f"/fhir/CarePlan?patient={world.person.pk}").json()["total"] == 0


def test_r4_break_the_glass_shows_the_refused_period_and_is_recorded_so(world: World) -> None:
    _refuse(world, data_period=FEBRUARY_MARCH)
    client = f.client_for(world.nurse)
    opened = client.post(
        "/api/consent/break-glass",
        {
            "citizen_id": world.person.pk,
            "reason": "Bevidstløs, tidligere diagnoser nødvendige",
            "basis": "cannot_be_asked",
        },
        format="json",
    )
    assert opened.status_code == 201
    assert client.get(f"/fhir/Condition/{world.diagnosis.pk}").status_code == 200
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk, action="read").latest("id")
    assert (entry.reason_code, entry.purpose) == ("break_glass", "emergency")
    everything = client.get(f"/fhir/Patient/{world.person.pk}/$everything").json()
    assert everything["total"] == 2


def test_r4_updates_of_a_hidden_resource_look_like_an_unknown_one(world: World) -> None:
    _refuse(world, data_period=FEBRUARY_MARCH)
    response = put(
        f.client_for(world.nurse),
        f"/fhir/Condition/{world.diagnosis.pk}",
        bodies.diagnosis(world.person.pk),
        HTTP_IF_MATCH='W/"1"',
    )
    assert response.status_code == 404
    assert RecordResource.objects.get(pk=world.diagnosis.pk).version_id == 1
    # Writing new data of that period is storage, not disclosure: it is kept, and hidden.
    created = post(
        f.client_for(world.nurse),
        "/fhir/Condition",
        bodies.nursing_problem(world.person.pk, recorded="2025-02-10"),
    )
    assert created.status_code == 201
    assert f.client_for(world.nurse).get(f"/fhir/Condition/{created.json()['id']}").status_code == (
        404
    )


def test_r4_the_insight_report_still_shows_the_citizen_everything(world: World) -> None:
    _refuse(world, data_period=FEBRUARY_MARCH)
    bundle = f.client_for(world.auditor).get(
        f"/fhir/Patient/{world.person.pk}/$insight", HTTP_X_PURPOSE_OF_USE="audit"
    )
    assert bundle.status_code == 200
    ids = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle.json()["entry"]}
    assert ("Condition", str(world.diagnosis.pk)) in ids


def test_r4_data_period_is_refused_on_a_consent_and_when_backwards(world: World) -> None:
    client = f.client_for(world.nurse)
    permit = post(
        client,
        "/fhir/Consent",
        bodies.refusal(world.person.pk, kind="permit", data_period=FEBRUARY_MARCH),
    )
    assert permit.status_code == 400 and issue_code(permit) == "consent.data_period_on_permit"
    backwards = post(
        client,
        "/fhir/Consent",
        bodies.refusal(world.person.pk, data_period={"start": "2025-03-01", "end": "2025-02-01"}),
    )
    assert backwards.status_code == 400
    assert issue_code(backwards) in ("consent.data_period_invalid", "fhir.invalid")
    assert not ConsentDirective.objects.exists()


def test_r4_the_visit_page_summary_leaves_out_the_refused_period(db) -> None:
    nurse, shift = f.acute_nurse_on_shift()
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(by=coordinator)
    visit = visit_assign(referral=referral, shift=shift, actor=Actor.for_membership(coordinator))
    actor = Actor.for_membership(nurse)
    for text, recorded in (("Hemmeligt forløb", "2025-02-15"), ("Synligt problem", "2025-05-01")):
        record_resource_create(
            actor=actor,
            data=bodies.nursing_problem(visit.citizen_id, text=text, recorded=recorded),
            purpose="treatment",
        )
    refused = post(
        f.client_for(nurse),
        "/fhir/Consent",
        bodies.refusal(visit.citizen_id, data_period=FEBRUARY_MARCH),
    )
    assert refused.status_code == 201, refused.content
    client = Client()
    assert f.log_in(client, nurse).status_code == 302
    page = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert "Synligt problem" in page
    assert "Hemmeligt forløb" not in page


@NOISELESS
def test_r6_analyses_leave_out_data_from_a_period_refused_for_analysis(world: World) -> None:
    """Counted without noise (see ``NOISELESS``), each time by an analyst who has
    not asked before: an analyst asking again gets the first answer back."""
    nurse = Actor.for_membership(world.nurse)
    people = [f.citizen(municipality_code="157") for _ in range(6)]
    for person in people:
        f.open_visit(world.nurse, person)
        record_resource_create(
            actor=nurse,
            data=bodies.diagnosis(person.pk, code="E11", recordedDate="2025-03-01"),
            purpose="treatment",
        )

    def gentofte_with_diagnosis() -> int | None:
        client = f.client_for(f.staff(Role.ANALYST, f.municipality("157")))
        answer = run(client, "diagnosis-and-service", diagnosis="E11", service="home-nursing")
        rows = {r["municipality"]: r for r in answer.json()["rows"]}
        # The row's total: its "receives" cell is 0, below the threshold, so both
        # cells are suppressed.
        return rows["Gentofte Kommune"]["total"]

    assert gentofte_with_diagnosis() == 6
    refusal = bodies.refusal(people[0].pk, purposes=["HRESCH"], data_period=FEBRUARY_MARCH)
    assert post(f.client_for(world.nurse), "/fhir/Consent", refusal).status_code == 201
    assert gentofte_with_diagnosis() == 5
    other_period = bodies.refusal(
        people[1].pk, purposes=["HRESCH"], data_period={"start": "2024-01-01", "end": "2024-12-31"}
    )
    assert post(f.client_for(world.nurse), "/fhir/Consent", other_period).status_code == 201
    assert gentofte_with_diagnosis() == 5  # its data lies outside the refused period


def test_r4_an_earlier_version_dated_in_the_refused_period_is_hidden_too(world: World) -> None:
    """The diagnosis was moved out of the period by an update; its first version,
    dated inside it, stays hidden from those the refusal covers."""
    client = f.client_for(world.nurse)
    moved = put(
        client,
        f"/fhir/Condition/{world.diagnosis.pk}",
        bodies.diagnosis(world.person.pk, recordedDate="2025-05-01"),
        HTTP_IF_MATCH='W/"1"',
    )
    assert moved.status_code == 200
    _refuse(world, data_period=FEBRUARY_MARCH, organisations=[world.acute.pk])
    assert client.get(f"/fhir/Condition/{world.diagnosis.pk}").status_code == 200
    assert client.get(f"/fhir/Condition/{world.diagnosis.pk}/_history/2").status_code == 200
    old = client.get(f"/fhir/Condition/{world.diagnosis.pk}/_history/1")
    assert old.status_code == 404
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk).latest("id")
    assert (entry.outcome, entry.reason_code) == ("denied", "refused_data_period")
    assert (
        f.client_for(world.physician)
        .get(f"/fhir/Condition/{world.diagnosis.pk}/_history/1")
        .json()["recordedDate"]
        == "2025-03-01"
    )


def test_r4_refused_periods_cost_a_fixed_number_of_queries(
    world: World, django_assert_max_num_queries
) -> None:
    """Hiding is done in the query, not per resource: many resources and several
    refused periods cost the same few queries as one."""
    for month in range(1, 13):
        _problem(world, f"Problem {month}", f"2024-{month:02d}-15")
    for start, end in (("2024-01-01", "2024-02-28"), ("2024-05-01", "2024-05-31")):
        _refuse(world, data_period={"start": start, "end": end})
    _refuse(world, data_period={"start": "2024-11-01"})
    client = f.client_for(world.nurse)
    client.get(f"/fhir/Patient/{world.person.pk}")  # warm the token
    budget = 12 + f.audit_extra_queries()
    with django_assert_max_num_queries(budget):
        found = client.get("/fhir/Condition?_count=50").json()
    assert found["total"] == 12 - 2 - 1 - 2  # the 2025 diagnosis is in the open-ended one
    with django_assert_max_num_queries(budget):
        found = client.get(f"/fhir/Condition?patient={world.person.pk}&_count=50").json()
    assert found["total"] == 7
    with django_assert_max_num_queries(budget):
        everything = client.get(f"/fhir/Patient/{world.person.pk}/$everything").json()
    assert everything["total"] == 1 + 7


def test_r4_refusal_during_a_period_hides_the_citizen_until_it_ends(world: World) -> None:
    """``provision.period``: while in force the citizen is refused (read, search,
    totals, $everything); a bare end date is in force through that whole day."""
    today = timezone.localdate()
    _refuse(world, period={"start": (today - dt.timedelta(days=1)).isoformat(), "end": str(today)})
    directive = ConsentDirective.objects.get()
    assert directive.period_end == timezone.make_aware(
        dt.datetime.combine(today + dt.timedelta(days=1), dt.time())
    )
    client = f.client_for(world.nurse)
    pid = world.person.pk
    assert client.get(f"/fhir/Condition/{world.diagnosis.pk}").status_code == 404
    assert client.get(f"/fhir/Condition?patient={pid}").json()["total"] == 0
    assert client.get("/fhir/Condition").json()["total"] == 0
    assert client.get(f"/fhir/Patient/{pid}/$everything").status_code == 404
    ConsentDirective.objects.update(
        period_start=timezone.now() - dt.timedelta(days=3),
        period_end=timezone.now() - dt.timedelta(seconds=1),
    )
    assert client.get(f"/fhir/Condition/{world.diagnosis.pk}").status_code == 200
    assert client.get("/fhir/Condition").json()["total"] == 1
    assert client.get(f"/fhir/Patient/{pid}/$everything").json()["total"] == 2
