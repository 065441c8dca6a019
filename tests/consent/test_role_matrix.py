"""Every role against every endpoint of the shared record: allowed and refused.

A role that may never read a type (deny by default: the gate lets no such
role at its data) is refused by the endpoint (403) on every read and search,
never answered with an empty searchset; a role that may write but not this
citizen's data gets the same "not found" as for a record that does not
exist. Each refusal is in the audit log (R9)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from consent.analyses import analysis_run
from consent.audit.models import AuditEntry
from consent.models import CareRelationship, ConsentDirective, PatientVersion, RecordResource
from consent.services import care_relationship_open, consent_create, record_resource_create
from core.actors import Actor
from core.models import Citizen, Role
from core.permissions import session_membership_set
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, post, put

CLINICAL = {Role.ACUTE_NURSE, Role.COORDINATOR, Role.PHYSICIAN, Role.HOME_NURSE}
PURPOSE = {
    Role.AUDITOR: "audit",
    Role.ADMINISTRATOR: "operations",
    Role.ANALYST: "analysis",
    Role.MEDICINE_OFFICER: "operations",
}


def _endpoints(
    world: World,
) -> list[tuple[str, Callable[[Any, dict[str, str]], Any], set[str], int, int]]:
    """(name, call, roles allowed, status when allowed, status when refused)."""
    pid = world.person.pk
    dx = world.diagnosis.pk
    out: list[tuple[str, Callable[[Any, dict[str, str]], Any], set[str], int, int]] = []

    def add(name, call, allowed, ok, refused):
        out.append((name, call, set(allowed), ok, refused))

    add("GET Patient", lambda c, h: c.get(f"/fhir/Patient/{pid}", **h), CLINICAL, 200, 403)

    def register(c, h):
        number = f.cpr_number()
        while Citizen.objects.filter(cpr=number).exists():
            number = f.cpr_number()
        return post(c, "/fhir/Patient", bodies.patient(number), **h)

    add("POST Patient", register, {Role.COORDINATOR, Role.HOME_NURSE}, 201, 403)

    def update_patient(c, h):
        version = PatientVersion.objects.filter(citizen_id=pid).count() or 1
        return put(
            c,
            f"/fhir/Patient/{pid}",
            # PUT replaces: the body keeps the citizen's own GP.
            bodies.patient(world.person.cpr, gp_id=world.gp.pk),
            HTTP_IF_MATCH=f'W/"{version}"',
            **h,
        )

    add("PUT Patient", update_patient, CLINICAL, 200, 404)
    add(
        "GET $everything",
        lambda c, h: c.get(f"/fhir/Patient/{pid}/$everything", **h),
        CLINICAL,
        200,
        403,
    )
    add(
        "GET $insight",
        lambda c, h: c.get(f"/fhir/Patient/{pid}/$insight", **h),
        {Role.AUDITOR},
        200,
        404,
    )
    add(
        "POST Patient/_search",
        lambda c, h: c.post("/fhir/Patient/_search", {"identifier": world.person.cpr}, **h),
        CLINICAL,
        200,
        403,
    )
    for type_, make in [
        ("Condition", lambda: bodies.nursing_problem(pid)),
        ("EpisodeOfCare", lambda: bodies.municipal_help(pid, org_id=world.home.pk)),
        ("CarePlan", lambda: bodies.care_plan(pid)),
        ("Encounter", lambda: bodies.hospital_contact(pid, world.department.pk)),
    ]:
        add(
            f"POST {type_}",
            lambda c, h, t=type_, m=make: post(c, f"/fhir/{t}", m(), **h),
            CLINICAL,
            201,
            404,
        )
        add(
            f"GET {type_}?patient",
            lambda c, h, t=type_: c.get(f"/fhir/{t}?patient={pid}", **h),
            CLINICAL,
            200,
            403,
        )
        if type_ == "Encounter":
            continue  # a type-level Encounter search is the acute function's (visits)
        add(
            f"GET {type_} (all patients)",
            lambda c, h, t=type_: c.get(f"/fhir/{t}?_count=5", **h),
            CLINICAL,
            200,
            403,
        )
    # One resource of each other type: read, version read and versioned update.
    for type_, make in [
        ("EpisodeOfCare", lambda: bodies.municipal_help(pid, org_id=world.home.pk)),
        ("CarePlan", lambda: bodies.care_plan(pid)),
        ("Encounter", lambda: bodies.hospital_contact(pid, world.department.pk)),
    ]:
        made = record_resource_create(
            actor=Actor.for_membership(world.nurse), data=make(), purpose="treatment"
        )
        add(
            f"GET {type_}/id",
            lambda c, h, t=type_, i=made.pk: c.get(f"/fhir/{t}/{i}", **h),
            CLINICAL,
            200,
            403,
        )
        add(
            f"GET {type_}/_history",
            lambda c, h, t=type_, i=made.pk: c.get(f"/fhir/{t}/{i}/_history/1", **h),
            CLINICAL,
            200,
            403,
        )

        def update_one(c, h, t=type_, i=made.pk, m=make):
            version = RecordResource.objects.get(pk=i).version_id
            return put(c, f"/fhir/{t}/{i}", m(), HTTP_IF_MATCH=f'W/"{version}"', **h)

        add(f"PUT {type_}/id", update_one, CLINICAL, 200, 404)
    add("GET Condition/id", lambda c, h: c.get(f"/fhir/Condition/{dx}", **h), CLINICAL, 200, 403)
    add(
        "GET Condition/_history",
        lambda c, h: c.get(f"/fhir/Condition/{dx}/_history/1", **h),
        CLINICAL,
        200,
        403,
    )

    def update(c, h):
        version = RecordResource.objects.get(pk=dx).version_id
        return put(
            c, f"/fhir/Condition/{dx}", bodies.diagnosis(pid), HTTP_IF_MATCH=f'W/"{version}"', **h
        )

    add("PUT Condition/id", update, CLINICAL, 200, 404)
    add(
        "GET Consent?patient",
        lambda c, h: c.get(f"/fhir/Consent?patient={pid}", **h),
        CLINICAL | {Role.ADMINISTRATOR},
        200,
        403,
    )
    add(
        "POST Consent",
        lambda c, h: post(c, "/fhir/Consent", bodies.refusal(pid, purposes=["HRESCH"]), **h),
        CLINICAL | {Role.ADMINISTRATOR},
        201,
        404,
    )

    def one_consent() -> ConsentDirective:
        return consent_create(
            actor=Actor.for_membership(world.nurse),
            data=bodies.refusal(pid, purposes=["HRESCH"]),
            purpose="treatment",
        )

    add(
        "GET Consent/id",
        lambda c, h: c.get(f"/fhir/Consent/{one_consent().pk}", **h),
        CLINICAL | {Role.ADMINISTRATOR},
        200,
        403,
    )
    add(
        "POST Consent/$withdraw",
        lambda c, h: post(
            c,
            f"/fhir/Consent/{one_consent().pk}/$withdraw",
            {"resourceType": "Parameters", "parameter": [{"name": "how", "valueCode": "written"}]},
            **h,
        ),
        CLINICAL | {Role.ADMINISTRATOR},
        200,
        404,
    )
    add(
        "POST /fhir transaction",
        lambda c, h: post(
            c,
            "/fhir/",
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {
                        "resource": bodies.care_plan(pid),
                        "request": {"method": "POST", "url": "CarePlan"},
                    }
                ],
            },
            **h,
        ),
        CLINICAL,
        200,
        403,
    )
    add(
        "POST break-glass",
        lambda c, h: c.post(
            "/api/consent/break-glass",
            data=json.dumps(
                {"citizen_id": pid, "reason": "Borgeren er bevidstløs", "basis": "cannot_be_asked"}
            ),
            content_type="application/json",
            **h,
        ),
        CLINICAL,
        201,
        403,
    )
    add("GET analyses", lambda c, h: c.get("/api/consent/analyses", **h), {Role.ANALYST}, 200, 403)
    add(
        "POST analysis",
        lambda c, h: c.post(
            "/api/consent/analyses/diagnosis-and-service",
            {"diagnosis": "E11", "service": "home-nursing"},
            format="json",
            **h,
        ),
        {Role.ANALYST},
        201,
        403,
    )
    # The analyst's answer: anyone else is told it does not exist (R6, R9).
    answer = analysis_run(
        actor=Actor.for_membership(world.analyst),
        name="contacts-around-acute-episode",
        params={},
        export=False,
    ).release_id
    for suffix in ("", "/csv"):
        add(
            f"GET analysis answer{suffix}",
            lambda c, h, suffix=suffix: c.get(f"/api/consent/analyses/runs/{answer}{suffix}", **h),
            {Role.ANALYST},
            200,
            404,
        )
    return out


@pytest.mark.parametrize("role", sorted(Role.values))
def test_every_role_against_every_endpoint(world: World, role: str) -> None:
    care_relationship_open(
        citizen=world.person,
        organisation=world.acute,
        basis=CareRelationship.Basis.REFERRAL,
        source_type="test.referral",
        source_id="matrix",
    )
    membership = world.by_role()[role]
    client = f.client_for(membership)
    headers = {"HTTP_X_PURPOSE_OF_USE": PURPOSE.get(role, "treatment")}
    for name, call, allowed, ok, refused in _endpoints(world):
        denied_before = AuditEntry.objects.filter(outcome="denied").count()
        response = call(client, headers)
        expected = ok if role in allowed else refused
        assert response.status_code == expected, (role, name, response.content[:300])
        fhir_read = name.startswith("GET") and "analys" not in name
        if role not in allowed and (expected == 404 or fhir_read):
            assert AuditEntry.objects.filter(outcome="denied").count() > denied_before, (role, name)
        if role not in allowed and fhir_read:
            assert response.json()["resourceType"] == "OperationOutcome", (role, name)


def test_anonymous_is_refused_everywhere(world: World) -> None:
    client = f.client_for(None)
    for name, call, _, _, _ in _endpoints(world):
        assert call(client, {}).status_code == 401, name


def test_a_search_by_a_role_outside_care_is_refused_and_audited(world: World) -> None:
    for membership in (world.analyst, world.auditor, world.administrator):
        got = f.client_for(membership).get("/fhir/Condition?code=I10")
        assert got.status_code == 403 and got.json()["resourceType"] == "OperationOutcome"
        entry = AuditEntry.objects.filter(actor_user_id=membership.user_id).latest("id")
        assert (entry.action, entry.outcome, entry.reason_code) == (
            "search",
            "denied",
            "role_not_permitted",
        )


@pytest.mark.parametrize("role", sorted(Role.values))
def test_every_role_against_the_insight_pages(world: World, role: str) -> None:
    """The shared record's pages (R5): auditors only; every other role is refused,
    and a refusal that names the citizen is recorded."""
    membership = world.by_role()[role]
    client = f.client_for(None)
    client.force_login(membership.user)
    session = client.session
    session_membership_set(session, membership)
    session.save()
    allowed = role == Role.AUDITOR
    assert client.get("/consent/insight/").status_code == (200 if allowed else 403)
    found = client.post("/consent/insight/", {"cpr": world.person.cpr})
    assert found.status_code == (302 if allowed else 403)
    page = client.get(f"/consent/insight/{world.person.pk}/")
    # Other roles reach the gate, which refuses as "not found" and records it.
    assert page.status_code == (200 if allowed else 404)
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk).latest("id")
    assert (entry.action, entry.purpose) == ("export", "audit")
    assert entry.outcome == ("permitted" if allowed else "denied")
    assert entry.actor_user_id == membership.user_id
