"""The acute API and FHIR endpoints: the three referral routes end with a nurse at
the door and an outcome; every endpoint admits its roles and refuses the rest."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import F
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from acute import services
from acute.api.roles import COORDINATOR, per_method
from acute.deadlines import LOCAL, shift_kind_for
from acute.models import DeadlineWarning, Episode, Referral, Visit
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.models import Organisation, Role
from tests import factories as f

pytestmark = pytest.mark.django_db

REFERRAL = {
    "referrer_name": "Læge Hansen",
    "referrer_phone": "+4539000000",
    "reason": "Feber og konfusion",
    "clinical_picture": "Temp 39, nyopstået forvirring",
    "requested_actions": "Vurdering, CRP, væsketal",
    "urgency": "within_2_hours",
    "responsible_physician_name": "Læge Hansen",
    "responsible_physician_phone": "+4539000000",
}


@pytest.fixture
def coordinator():
    return f.staff(Role.COORDINATOR, f.acute_function())


def nurse_through_to_outcome(nurse, referral_id: int, coordinator, shift) -> dict:
    """The coordinator picks the top suggestion; the nurse goes and documents."""
    c = f.client_for(coordinator)
    ranked = c.get(f"/api/acute/referrals/{referral_id}/suggestions").json()["results"]
    assert ranked[0]["shift"] == shift.pk
    visit = c.post(f"/api/acute/referrals/{referral_id}/assign", {"shift": shift.pk}, format="json")
    assert visit.status_code == 201, visit.content
    visit_id = visit.json()["id"]
    n = f.client_for(nurse)
    for step in ("accept", "en-route", "on-site"):
        response = n.post(f"/api/acute/visits/{visit_id}/{step}")
        assert response.status_code == 200, (step, response.content)
    vitals = n.post(
        f"/api/acute/visits/{visit_id}/vital-signs",
        {"measurements": [{"code": "8867-4", "value": "96"}, {"code": "8310-5", "value": "38.9"}]},
        format="json",
    )
    assert vitals.status_code == 201, vitals.content
    assert vitals.json()["results"][0]["resourceType"] == "Observation"
    note = n.post(
        f"/api/acute/visits/{visit_id}/notes", {"kind": "assessment", "text": "UVI"}, format="json"
    )
    assert note.status_code == 201
    done = n.post(
        f"/api/acute/visits/{visit_id}/complete", {"outcome": "treated_at_home"}, format="json"
    )
    assert done.status_code == 200, done.content
    return done.json()


def test_coordinator_typed_referral_ends_with_a_nurse_at_the_door(coordinator):
    nurse, shift = f.acute_nurse_on_shift()
    person = f.citizen()
    c = f.client_for(coordinator)
    created = c.post(
        "/api/acute/referrals",
        {**REFERRAL, "citizen_id": person.pk, "source": "gp"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["channel"] == "phone" and body["status"] == "received"
    assert body["citizen"] == person.pk  # a receipt: no name or CPR echoed
    assert c.post(f"/api/acute/referrals/{body['id']}/accept").status_code == 200
    done = nurse_through_to_outcome(nurse, body["id"], coordinator, shift)
    assert done["status"] == "completed" and done["outcome"] == "treated_at_home"
    assert Episode.objects.get(pk=body["episode"]).status == "completed"


def test_gp_short_form_referral_by_cpr(coordinator):
    gp = f.gp_practice()
    physician = f.staff(Role.PHYSICIAN, gp)
    person = f.citizen(gp=gp)
    nurse, shift = f.acute_nurse_on_shift()
    created = f.client_for(physician).post(
        "/api/acute/referrals", {**REFERRAL, "cpr": person.cpr}, format="json"
    )
    assert created.status_code == 201, created.content
    referral = Referral.objects.get(pk=created.json()["id"])
    assert (referral.source, referral.channel) == ("gp", "form")
    assert referral.source_organisation == gp
    f.client_for(coordinator).post(f"/api/acute/referrals/{referral.pk}/accept")
    nurse_through_to_outcome(nurse, referral.pk, coordinator, shift)
    # The GP reads the outcome as FHIR (the citizen's own GP, through the gate).
    sr = f.client_for(physician).get(f"/fhir/ServiceRequest/referral-{referral.pk}")
    assert sr.status_code == 200, sr.content
    assert sr.json()["status"] == "completed"


def service_request(cpr: str, **overrides) -> dict:
    body = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "priority": "asap",
        "identifier": [{"value": "ED-4711"}],
        "subject": {"identifier": {"system": "urn:oid:1.2.208.176.1.2", "value": cpr}},
        "requester": {
            "display": "Overlæge Berg, Akutmodtagelsen",
            "extension": [
                {
                    "url": "https://tvaerakut.dk/fhir/StructureDefinition/referrer-callback",
                    "valueContactPoint": {"system": "phone", "value": "+4538680000"},
                }
            ],
        },
        "reasonCode": [{"text": "Udskrevet, behov for iv-antibiotika"}],
        "note": [{"text": "Pneumoni, stabil"}],
        "orderDetail": [{"text": "IV antibiotika x2 dagligt"}],
        "extension": [
            {
                "url": "https://tvaerakut.dk/fhir/StructureDefinition/responsible-physician",
                "extension": [
                    {"url": "name", "valueString": "Overlæge Berg"},
                    {"url": "phone", "valueString": "+4538680000"},
                ],
            },
            {
                "url": "https://tvaerakut.dk/fhir/StructureDefinition/required-skills",
                "valueCode": "iv_treatment",
            },
        ],
    }
    body.update(overrides)
    return body


def test_service_request_from_the_hospital_ends_with_an_outcome(coordinator):
    hospital = f.organisation(Organisation.Kind.HOSPITAL, "Herlev og Gentofte Hospital")
    physician = f.staff(Role.PHYSICIAN, hospital)
    person = f.citizen()
    nurse, shift = f.acute_nurse_on_shift()
    client = f.client_for(physician)
    posted = client.post(
        "/fhir/ServiceRequest",
        service_request(person.cpr),
        format="json",
    )
    assert posted.status_code == 201, posted.content
    body = posted.json()
    assert body["resourceType"] == "ServiceRequest" and body["status"] == "draft"
    assert posted["Location"].endswith(f"/fhir/ServiceRequest/{body['id']}")
    referral = Referral.objects.get(pk=int(body["id"].split("-")[1]))
    assert referral.source == "hospital" and referral.channel == "electronic"
    assert referral.required_skills == ["iv_treatment"]
    # A resend of the same ServiceRequest is the same referral.
    again = client.post("/fhir/ServiceRequest", service_request(person.cpr), format="json")
    assert again.json()["id"] == body["id"]
    f.client_for(coordinator).post(f"/api/acute/referrals/{referral.pk}/accept")
    nurse_through_to_outcome(nurse, referral.pk, coordinator, shift)
    visit = Visit.objects.get(referral=referral)
    assert visit.status == "completed"
    # R1: the episode has ended, so the acute function's access has ended with it.
    encounter = f.client_for(coordinator).get(f"/fhir/Encounter/visit-{visit.pk}")
    assert encounter.status_code == 404
    assert encounter.json()["resourceType"] == "OperationOutcome"


def test_visit_reads_as_encounter_task_and_observation_while_active(coordinator):
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    by = Actor.for_membership(coordinator)
    visit = services.visit_assign(referral=referral, shift=shift, actor=by)
    nb = Actor.for_membership(nurse)
    for step in (services.visit_accept, services.visit_set_off, services.visit_arrive):
        step(visit=visit, actor=nb)
    sign = services.vital_signs_record(visit=visit, measurements=[("8867-4", 88)], actor=nb)[0]
    client = f.client_for(nurse)
    encounter = client.get(f"/fhir/Encounter/visit-{visit.pk}")
    assert encounter.status_code == 200 and encounter.json()["status"] == "in-progress"
    assert client.get(f"/fhir/Task/visit-{visit.pk}").json()["status"] == "in-progress"
    obs = client.get(f"/fhir/Observation/vital-{sign.pk}").json()
    assert obs["valueQuantity"]["value"] == 88.0 and obs["code"]["coding"][0]["code"] == "8867-4"
    sr = f.client_for(coordinator).get(f"/fhir/ServiceRequest/referral-{referral.pk}")
    assert sr.json()["status"] == "active"
    outsider = f.staff(Role.PHYSICIAN, f.gp_practice())
    assert f.client_for(outsider).get(f"/fhir/Encounter/visit-{visit.pk}").status_code == 404


def test_service_request_without_responsible_physician_is_refused_as_operation_outcome():
    physician = f.staff(Role.PHYSICIAN, f.organisation(Organisation.Kind.HELPLINE_1813))
    person = f.citizen()
    body = service_request(person.cpr)
    del body["extension"]
    response = f.client_for(physician).post("/fhir/ServiceRequest", body, format="json")
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "referral.responsible_physician_required" in str(outcome)
    assert person.cpr not in response.content.decode()
    assert not Referral.objects.exists()


def test_unknown_citizen_is_refused_clearly_and_audited(coordinator):
    response = f.client_for(coordinator).post(
        "/api/acute/referrals",
        {**REFERRAL, "cpr": "0101011234", "source": "gp"},
        format="json",
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "referral.citizen_unknown"
    assert "0101011234" not in response.content.decode()
    assert AuditEntry.objects.filter(outcome="denied", reason_code="unknown_citizen").exists()


def test_a_citizen_named_by_an_id_and_another_citizens_cpr_is_refused(coordinator):
    """Two names for two people: neither is taken (it could be the wrong
    citizen), the attempt is audited, and the CPR number is not echoed. Two
    names for one person are accepted."""
    named, other = f.citizen(), f.citizen()
    client = f.client_for(coordinator)
    body = {**REFERRAL, "citizen_id": named.pk, "source": "gp"}
    response = client.post("/api/acute/referrals", {**body, "cpr": other.cpr}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "referral.citizen_ambiguous"
    assert other.cpr not in response.content.decode()
    assert not Referral.objects.exists()
    assert AuditEntry.objects.filter(outcome="denied", reason_code="citizen_mismatch").exists()
    agreeing = client.post("/api/acute/referrals", {**body, "cpr": named.cpr}, format="json")
    assert agreeing.status_code == 201, agreeing.content
    assert agreeing.json()["citizen"] == named.pk


def test_a_referral_not_yet_triaged_outlives_the_episode_it_joined(coordinator):
    """R10: a second referral that came in while a nurse was with the citizen
    is not closed out of sight when her visit ends the episode; it stays on
    the board under its deadline and can still be triaged."""
    person = f.citizen()
    nurse, shift = f.acute_nurse_on_shift()
    c = f.client_for(coordinator)
    first = c.post(
        "/api/acute/referrals", {**REFERRAL, "citizen_id": person.pk, "source": "gp"}, format="json"
    ).json()
    c.post(f"/api/acute/referrals/{first['id']}/accept")
    second = c.post(
        "/api/acute/referrals",
        {**REFERRAL, "citizen_id": person.pk, "source": "helpline_1813", "reason": "Faldet"},
        format="json",
    ).json()
    assert second["episode"] == first["episode"]
    nurse_through_to_outcome(nurse, first["id"], coordinator, shift)

    assert Episode.objects.get(pk=first["episode"]).status == Episode.Status.COMPLETED
    waiting = Referral.objects.get(pk=second["id"])
    assert waiting.status == Referral.Status.RECEIVED
    assert waiting.episode.status == Episode.Status.OPEN
    board = c.get("/api/acute/referrals").json()["results"]
    assert second["id"] in [row["id"] for row in board]
    accepted = c.post(f"/api/acute/referrals/{second['id']}/accept")
    assert accepted.status_code == 200, accepted.content


def test_a_referral_visited_once_is_not_dispatched_again_as_a_first_visit(coordinator):
    """After the first visit, with the episode kept open, another visit is a
    follow-up on the episode; assigning the referral again is refused."""
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    c, n = f.client_for(coordinator), f.client_for(nurse)
    visit = c.post(f"/api/acute/referrals/{referral.pk}/assign", {"shift": shift.pk}, format="json")
    assert visit.status_code == 201, visit.content
    for step in ("accept", "en-route", "on-site"):
        assert n.post(f"/api/acute/visits/{visit.json()['id']}/{step}").status_code == 200
    done = n.post(
        f"/api/acute/visits/{visit.json()['id']}/complete",
        {"outcome": "treated_at_home", "close_episode": False},
        format="json",
    )
    assert done.status_code == 200, done.content
    again = c.post(f"/api/acute/referrals/{referral.pk}/assign", {"shift": shift.pk}, format="json")
    assert again.status_code == 409, again.content
    assert again.json()["error"]["code"] == "referral.already_visited"
    assert Visit.objects.filter(referral=referral).count() == 1


def test_missing_responsible_physician_in_the_api_is_a_precise_400(coordinator):
    person = f.citizen()
    response = f.client_for(coordinator).post(
        "/api/acute/referrals",
        {**REFERRAL, "citizen_id": person.pk, "source": "gp", "responsible_physician_name": ""},
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "referral.responsible_physician_required"
    assert error["field"] == "responsible_physician_name"


def test_out_of_order_transition_is_409(coordinator):
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    visit = services.visit_assign(
        referral=referral, shift=shift, actor=Actor.for_membership(coordinator)
    )
    response = f.client_for(nurse).post(f"/api/acute/visits/{visit.pk}/on-site")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "visit.transition_not_allowed"


def test_another_nurse_cannot_see_or_move_a_visit_r1(coordinator):
    """R1: only the assigned nurse has a care relationship through the visit."""
    _nurse, shift = f.acute_nurse_on_shift()
    other, _ = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    visit = services.visit_assign(
        referral=referral, shift=shift, actor=Actor.for_membership(coordinator)
    )
    client = f.client_for(other)
    assert client.get(f"/api/acute/visits/{visit.pk}").status_code == 404
    assert client.post(f"/api/acute/visits/{visit.pk}/accept").status_code == 404
    assert (
        AuditEntry.objects.filter(
            actor_user_id=other.user_id, citizen_id=referral.citizen_id, outcome="denied"
        ).count()
        == 2
    )


# --- roles: each endpoint admits its roles and refuses the rest -----------------

COORD_ONLY = [
    ("get", "/api/acute/referrals"),
    ("post", "/api/acute/referrals/{r}/accept"),
    ("post", "/api/acute/referrals/{r}/decline"),
    ("get", "/api/acute/referrals/{r}/suggestions"),
    ("post", "/api/acute/referrals/{r}/assign"),
    ("post", "/api/acute/visits/{v}/withdraw"),
    ("post", "/api/acute/episodes/{e}/follow-ups"),
    ("post", "/api/acute/episodes/{e}/complete"),
    ("get", "/api/acute/shifts"),
    ("post", "/api/acute/shifts"),
    ("get", "/api/acute/warnings"),
    ("post", "/api/acute/warnings/{w}/acknowledge"),
]
NURSE_ONLY = [
    ("get", "/api/acute/visits"),
    ("post", "/api/acute/visits/{v}/accept"),
    ("post", "/api/acute/visits/{v}/decline"),
    ("post", "/api/acute/visits/{v}/en-route"),
    ("post", "/api/acute/visits/{v}/on-site"),
    ("post", "/api/acute/visits/{v}/complete"),
    ("post", "/api/acute/visits/{v}/notes"),
    ("post", "/api/acute/visits/{v}/vital-signs"),
    ("post", "/api/acute/shifts/{s}/position"),
]
READERS = [
    ("get", "/api/acute/referrals/{r}"),
    ("get", "/api/acute/visits/{v}"),
    ("get", "/api/acute/visits/{v}/vital-signs"),
]


@pytest.fixture
def world(coordinator):
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    visit = services.visit_assign(
        referral=referral, shift=shift, actor=Actor.for_membership(coordinator)
    )
    warning = DeadlineWarning.objects.create(referral=referral, kind="at_risk")
    ids = {
        "r": referral.pk,
        "v": visit.pk,
        "e": referral.episode_id,
        "s": shift.pk,
        "w": warning.pk,
    }
    return {"coordinator": coordinator, "nurse": nurse, "ids": ids}


def refused_members():
    return [
        ("physician", lambda: f.staff(Role.PHYSICIAN, f.gp_practice())),
        ("home_nurse", lambda: f.staff(Role.HOME_NURSE, f.organisation("home_nursing"))),
        ("auditor", lambda: f.staff(Role.AUDITOR, f.acute_function())),
        ("analyst", lambda: f.staff(Role.ANALYST, f.acute_function())),
        ("medicine_officer", lambda: f.staff(Role.MEDICINE_OFFICER, f.acute_function())),
        ("administrator", lambda: f.staff(Role.ADMINISTRATOR, f.acute_function())),
    ]


def call(client, method, url):
    return getattr(client, method)(url, {}, format="json") if method == "post" else client.get(url)


@pytest.mark.parametrize("method,url", COORD_ONLY)
def test_coordinator_endpoints_refuse_every_other_role(world, method, url):
    url = url.format(**world["ids"])
    members = [world["nurse"], *[make() for _name, make in refused_members()], None]
    for member in members:
        response = call(f.client_for(member), method, url)
        assert response.status_code in (401, 403), (member, response.status_code)
    # Allowed: the coordinator is admitted (the answer may still be a domain error).
    assert call(f.client_for(world["coordinator"]), method, url).status_code not in (401, 403)


@pytest.mark.parametrize("method,url", NURSE_ONLY)
def test_nurse_endpoints_refuse_every_other_role(world, method, url):
    url = url.format(**world["ids"])
    members = [world["coordinator"], *[make() for _name, make in refused_members()], None]
    for member in members:
        response = call(f.client_for(member), method, url)
        assert response.status_code in (401, 403), (member, response.status_code)
    assert call(f.client_for(world["nurse"]), method, url).status_code not in (401, 403)


@pytest.mark.parametrize("method,url", READERS)
def test_reading_endpoints_admit_coordinator_and_nurse_only(world, method, url):
    url = url.format(**world["ids"])
    for member in [make() for _name, make in refused_members()]:
        assert call(f.client_for(member), method, url).status_code in (401, 403)
    for member in (world["coordinator"], world["nurse"]):
        assert call(f.client_for(member), method, url).status_code == 200


def test_short_form_is_refused_for_staff_outside_referring_roles():
    person = f.citizen()
    for member in (
        f.staff(Role.AUDITOR, f.acute_function()),
        f.staff(Role.ANALYST, f.acute_function()),
        f.acute_nurse_on_shift()[0],
    ):
        response = f.client_for(member).post(
            "/api/acute/referrals", {**REFERRAL, "citizen_id": person.pk}, format="json"
        )
        assert response.status_code == 403
    coordinator_post = f.client_for(f.staff(Role.COORDINATOR, f.acute_function())).post(
        "/fhir/ServiceRequest", service_request(person.cpr), format="json"
    )
    assert coordinator_post.status_code == 403
    assert not Referral.objects.exists()


def test_position_update_only_for_her_own_shift(world):
    other, _ = f.acute_nurse_on_shift()
    url = f"/api/acute/shifts/{world['ids']['s']}/position"
    body = {"latitude": 55.76, "longitude": 12.50}
    assert f.client_for(other).post(url, body, format="json").status_code == 404
    ok = f.client_for(world["nurse"]).post(url, body, format="json")
    assert ok.status_code == 200 and ok.json()["position"]["latitude"] == 55.76
    bad = f.client_for(world["nurse"]).post(url, {"latitude": 95, "longitude": 1}, format="json")
    assert bad.status_code == 400


# --- lists: query counts pinned -------------------------------------------------


def test_board_query_count_does_not_grow_with_referrals(coordinator, django_assert_max_num_queries):
    f.acute_nurse_on_shift()
    for _ in range(6):
        f.acute_referral(by=coordinator)
    client = f.client_for(coordinator)
    client.get("/api/acute/referrals")  # warm the token/session path
    # Auth (2) + referrals, visits, warnings (3) + per citizen gate + one bulk audit.
    with django_assert_max_num_queries(8 + 6 * 6):
        response = client.get("/api/acute/referrals")
    assert len(response.json()["results"]) == 6
    assert AuditEntry.objects.filter(action="search", resource_type="ServiceRequest").count() == 12


def test_nurse_list_shows_only_her_visits(coordinator, django_assert_max_num_queries):
    nurse, shift = f.acute_nurse_on_shift(max_load=5)
    _other, other_shift = f.acute_nurse_on_shift()
    by = Actor.for_membership(coordinator)
    for _ in range(3):
        services.visit_assign(referral=f.acute_referral(by=coordinator), shift=shift, actor=by)
    services.visit_assign(referral=f.acute_referral(by=coordinator), shift=other_shift, actor=by)
    with django_assert_max_num_queries(4 + 3 * 6):
        response = f.client_for(nurse).get("/api/acute/visits")
    assert len(response.json()["results"]) == 3


def test_shift_list_query_count(coordinator, django_assert_max_num_queries):
    for _ in range(5):
        f.acute_nurse_on_shift()
    client = f.client_for(coordinator)
    with django_assert_max_num_queries(4):
        response = client.get("/api/acute/shifts")
    assert len(response.json()["results"]) == 5


def test_warnings_list_and_acknowledge(coordinator, django_assert_max_num_queries):
    referral = f.acute_referral(by=coordinator)
    services.deadline_watch()
    client = f.client_for(coordinator)
    with django_assert_max_num_queries(4):
        listed = client.get("/api/acute/warnings").json()["results"]
    assert [w["referral"] for w in listed] == [referral.pk]
    ack = client.post(f"/api/acute/warnings/{listed[0]['id']}/acknowledge")
    assert ack.status_code == 200
    assert client.get("/api/acute/warnings").json()["results"] == []
    assert client.post(f"/api/acute/warnings/{listed[0]['id']}/acknowledge").status_code == 409


# --- figures --------------------------------------------------------------------


def test_figures_as_json_and_csv_for_coordinators(coordinator):
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    nurse_through_to_outcome(nurse, referral.pk, coordinator, shift)
    f.acute_referral(by=coordinator, person=f.citizen(municipality_code="159"))
    today = timezone.localdate()
    query = f"start={today - dt.timedelta(days=1)}&end={today + dt.timedelta(days=1)}"
    rows = f.client_for(coordinator).get(f"/api/acute/figures?{query}").json()["results"]
    overall = next(
        r for r in rows if r["figure"] == "reached_within_deadline" and r["dimension"] == "all"
    )
    # The other referral's deadline is still ahead: not yet met or missed.
    assert (overall["count"], overall["met"], overall["share"]) == (1, 1, 1.0)
    outcome = next(r for r in rows if r["figure"] == "episode_outcome")
    assert outcome["value"] == "treated_at_home" and outcome["share"] == 1.0
    visits = next(r for r in rows if r["figure"] == "visits")
    assert visits["value"] == "Gentofte Kommune" and visits["count"] == 1
    csv = f.client_for(coordinator).get(f"/api/acute/figures?{query}&period=month&output=csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "period,figure,dimension,value,count,met,share,mean_minutes"
    assert any(",minutes_referral_to_arrival," in line for line in lines)
    for member in (
        nurse,
        f.staff(Role.AUDITOR, f.acute_function()),
        f.staff(Role.PHYSICIAN, f.gp_practice()),
    ):
        assert f.client_for(member).get(f"/api/acute/figures?{query}").status_code == 403
    bad = f.client_for(coordinator).get("/api/acute/figures?start=2026-01-10&end=2026-01-01")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "figures.range_invalid"


def test_r10_figures_count_a_deadline_once_it_is_decided(coordinator):
    """Met: a nurse at the door in time. Missed: later, or nobody by a
    deadline that has passed. Not yet decided, so not counted as either: a
    deadline still ahead, a referral on hold while the citizen is in hospital,
    and one closed with its episode before its deadline without a visit."""
    now, HOUR = timezone.now(), dt.timedelta(hours=1)

    def received(**fields):
        referral = f.acute_referral(by=coordinator, person=f.citizen())
        Referral.objects.filter(pk=referral.pk).update(received_at=now - HOUR * 3, **fields)
        return referral

    received(deadline_at=now - HOUR, reached_at=now - HOUR * 2)  # in time
    received(deadline_at=now - HOUR * 2, reached_at=now - HOUR)  # late
    received(deadline_at=now - HOUR)  # passed, nobody came
    received(deadline_at=now + HOUR)  # still ahead
    received(  # in hospital
        deadline_at=now - HOUR, on_hold_since=now - HOUR * 2, on_hold_reason="hospital_admission"
    )
    closed_early = received(deadline_at=now - HOUR, status=Referral.Status.CLOSED)
    Episode.objects.filter(pk=closed_early.episode_id).update(
        status=Episode.Status.COMPLETED, closed_at=now - HOUR * 2, outcome="admitted"
    )
    closed_late = received(deadline_at=now - HOUR * 2, status=Referral.Status.CLOSED)
    Episode.objects.filter(pk=closed_late.episode_id).update(
        status=Episode.Status.COMPLETED, closed_at=now - HOUR, outcome="admitted"
    )
    today = timezone.localdate()
    query = f"start={today - dt.timedelta(days=1)}&end={today + dt.timedelta(days=1)}"
    rows = f.client_for(coordinator).get(f"/api/acute/figures?{query}").json()["results"]
    overall = next(
        r for r in rows if r["figure"] == "reached_within_deadline" and r["dimension"] == "all"
    )
    assert (overall["count"], overall["met"]) == (4, 1)


def test_capability_statement_lists_the_acute_resources():
    statement = f.client_for(None).get("/fhir/metadata").json()
    types = {r["type"] for r in statement["rest"][0]["resource"]}
    assert {"ServiceRequest", "Task", "Encounter", "Observation"} <= types


def test_a_method_not_declared_is_refused(coordinator):
    """Deny by default, per method: the board's URL admits GET and POST only. A
    method it does not serve is refused as everywhere (405); one a view serves
    but does not name among its roles is refused to every role (403)."""
    response = f.client_for(coordinator).put("/api/acute/referrals", {}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "request.method_not_allowed"

    class Served(APIView):
        permission_classes = [per_method(GET=COORDINATOR)]

        def get(self, request):
            return Response({})

        def delete(self, request):  # served, but no role is named for it
            return Response({})

    view = Served.as_view()
    bearer = f"Bearer {f.token_for(coordinator)}"
    for method, status in (("get", 200), ("delete", 403), ("patch", 405)):
        request = getattr(APIRequestFactory(), method)("/api/x", HTTP_AUTHORIZATION=bearer)
        assert view(request).status_code == status, method


def into_last_month() -> tuple[dt.date, dt.date]:
    """Move every referral, episode end and visit made so far back into last
    month, as they were minutes apart then; its first and last day."""
    first = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    last = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    target = dt.datetime.combine(first + dt.timedelta(days=10), dt.time(12), tzinfo=LOCAL)
    back = timezone.now() - target
    Referral.objects.update(
        received_at=F("received_at") - back,
        deadline_at=F("deadline_at") - back,
        reached_at=F("reached_at") - back,
    )
    Episode.objects.filter(closed_at__isnull=False).update(closed_at=F("closed_at") - back)
    Visit.objects.filter(on_site_at__isnull=False).update(on_site_at=F("on_site_at") - back)
    return first, last


def _figures_entries(member):
    return AuditEntry.objects.filter(actor_user_id=member.user_id, resource_type="Figures")


def test_analysts_get_whole_months_with_small_counts_suppressed_and_every_release_audited(
    coordinator,
):
    """R6: an analyst's figures are aggregates with small counts suppressed,
    and each release is audited; the coordinator's operational totals stay exact."""
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    nurse_through_to_outcome(nurse, referral.pk, coordinator, shift)
    # Six more whose deadlines passed a minute ago with nobody at the door.
    now = timezone.now()
    for _ in range(6):
        missed = f.acute_referral(by=coordinator, person=f.citizen(municipality_code="159"))
        Referral.objects.filter(pk=missed.pk).update(
            received_at=now - dt.timedelta(minutes=2), deadline_at=now - dt.timedelta(minutes=1)
        )
    analyst = f.staff(Role.ANALYST, f.acute_function())
    # Analysts get months that have ended (decision 0035): all of it last month.
    first, last = into_last_month()

    exact = f.client_for(coordinator).get(f"/api/acute/figures?start={first}&end={last}")
    assert exact.status_code == 200
    assert _figures_entries(coordinator).filter(purpose="operations").count() == 1

    released = f.client_for(analyst).get(
        f"/api/acute/figures?start={first}&end={last}&period=month"
    )
    assert released.status_code == 200
    rows = released.json()["results"]
    overall = next(
        r for r in rows if r["figure"] == "reached_within_deadline" and r["dimension"] == "all"
    )
    # 7 referrals, 1 reached in time: the total is shown, the lone one is not.
    assert (overall["count"], overall["met"], overall["share"]) == (7, None, None)
    by_municipality = {
        r["value"]: r["count"]
        for r in rows
        if r["figure"] == "reached_within_deadline" and r["dimension"] == "municipality"
    }
    # One referral in one municipality and six in the other: hiding the one
    # alone would let the total give it away, so both are hidden.
    assert set(by_municipality.values()) == {None}
    outcome = next(r for r in rows if r["figure"] == "episode_outcome")
    assert outcome["count"] is None and outcome["share"] is None
    arrival = next(r for r in rows if r["figure"] == "minutes_referral_to_arrival")
    assert arrival["mean_minutes"] is None
    entry = _figures_entries(analyst).get()
    assert entry.purpose == "analysis" and entry.detail["min_cell"] == 5

    for query, code in (
        (f"start={first}&end={last}&period=day", "figures.period_not_allowed"),
        (
            f"start={first + dt.timedelta(days=1)}&end={last}&period=month",
            "figures.range_not_whole_months",
        ),
        (
            f"start={first}&end={last - dt.timedelta(days=1)}&period=month",
            "figures.range_not_whole_months",
        ),
    ):
        refused = f.client_for(analyst).get(f"/api/acute/figures?{query}")
        assert refused.status_code == 400 and refused.json()["error"]["code"] == code
    assert _figures_entries(analyst).filter(outcome="permitted").count() == 1
    assert _figures_entries(analyst).filter(outcome="denied").count() == 3


def _shift_body(nurse, starts_at: dt.datetime, ends_at: dt.datetime) -> dict:
    return {
        "nurse": nurse.user_id,
        # The kind its hours make it: the tests run at any time of day.
        "kind": shift_kind_for(starts_at, ends_at),
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
        "skills": ["catheter"],
        "base_name": "Gentofte base",
        "base_latitude": 55.75,
        "base_longitude": 12.54,
    }


@pytest.mark.parametrize(
    ("starts_in", "lasts", "code"),
    [
        (dt.timedelta(days=1), dt.timedelta(hours=25), "shift.too_long"),
        (dt.timedelta(days=1), dt.timedelta(hours=0), "shift.ends_before_start"),
        (dt.timedelta(days=-8), dt.timedelta(hours=8), "shift.too_far_back"),
        (dt.timedelta(days=-(2026 * 365)), dt.timedelta(hours=8), "shift.too_far_back"),
        (dt.timedelta(days=367), dt.timedelta(hours=8), "shift.too_far_ahead"),
    ],
)
def test_a_shift_outside_what_a_rota_holds_is_refused_naming_the_field(
    coordinator, starts_in, lasts, code
):
    nurse = f.staff(Role.ACUTE_NURSE, coordinator.organisation)
    starts_at = timezone.now() + starts_in
    response = f.client_for(coordinator).post(
        "/api/acute/shifts", _shift_body(nurse, starts_at, starts_at + lasts), format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert not nurse.user.acute_shifts.exists()


def test_a_coordinator_puts_a_nurse_on_tomorrows_rota(coordinator):
    nurse = f.staff(Role.ACUTE_NURSE, coordinator.organisation)
    starts_at = timezone.now().replace(microsecond=0) + dt.timedelta(days=1)
    response = f.client_for(coordinator).post(
        "/api/acute/shifts",
        _shift_body(nurse, starts_at, starts_at + dt.timedelta(hours=8)),
        format="json",
    )
    assert response.status_code == 201, response.content
    [shift] = nurse.user.acute_shifts.all()
    assert (shift.starts_at, shift.ends_at) == (starts_at, starts_at + dt.timedelta(hours=8))


@pytest.mark.parametrize("status", ["en_route", "on_visit"])
def test_en_route_and_on_a_visit_follow_her_visits_not_a_hand_set_status(status: str) -> None:
    """Set by hand, the board would show her busy with no visit (or free on
    one); the statuses she sets herself are available, on a break and off."""
    nurse, shift = f.acute_nurse_on_shift()
    client = f.client_for(nurse)
    refused = client.post(f"/api/acute/shifts/{shift.pk}/status", {"status": status}, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "shift.status_from_visits"
    shift.refresh_from_db()
    assert shift.status == "available"
    for allowed in ("on_break", "off", "available"):
        answer = client.post(
            f"/api/acute/shifts/{shift.pk}/status", {"status": allowed}, format="json"
        )
        assert answer.status_code == 200 and answer.json()["status"] == allowed
