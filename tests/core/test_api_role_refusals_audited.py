"""R9 on ``/api/``: a member of staff (or a system) whose role an endpoint
refuses made an attempt on the citizen the request names, and it is recorded
as denied — who, role, organisation, what, purpose, reason — on her trail. The
answer is the same 403 whether or not the object exists; a caller who is not
signed in is no actor and leaves no entry; a permitted request costs no more
statements than before."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from consent.audit.models import AuditEntry
from core.models import ApiToken, Membership, Role, User, hash_token
from core.refusals import Concerns
from portal.signin.services import system_client_register
from tests import factories as f
from tests.acute.clinical.conftest import PHONE_ORDER, Scene, visit_scene
from tests.core.refusal_doors import (
    NOWHERE,
    entries_after,
    newest,
    nowhere_instead,
    role_refused,
    routes,
)

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    method: str
    url: Callable[[Scene, dict[str, int]], str]
    resource_type: str
    action: str
    body: Callable[[Scene, dict[str, int]], dict[str, Any]] | None = None
    purpose: str = "treatment"


ENDPOINTS = {
    "referral read": Endpoint(
        "get", lambda s, o: f"/api/acute/referrals/{s.referral.pk}", "ServiceRequest", "read"
    ),
    "referral triage": Endpoint(
        "post",
        lambda s, o: f"/api/acute/referrals/{s.referral.pk}/decline",
        "ServiceRequest",
        "create",
        lambda s, o: {"reason": "Ikke relevant"},
    ),
    "referral suggestions": Endpoint(
        "get",
        lambda s, o: f"/api/acute/referrals/{s.referral.pk}/suggestions",
        "ServiceRequest",
        "read",
    ),
    "visit read": Endpoint(
        "get", lambda s, o: f"/api/acute/visits/{s.visit.pk}", "Encounter", "read"
    ),
    "visit step": Endpoint(
        "post", lambda s, o: f"/api/acute/visits/{s.visit.pk}/on-site", "Encounter", "create"
    ),
    "visit withdrawn": Endpoint(
        "post",
        lambda s, o: f"/api/acute/visits/{s.visit.pk}/withdraw",
        "Encounter",
        "create",
        lambda s, o: {"reason": "Fejl"},
    ),
    "vital signs": Endpoint(
        "get", lambda s, o: f"/api/acute/visits/{s.visit.pk}/vital-signs", "Observation", "read"
    ),
    "episode completed": Endpoint(
        "post",
        lambda s, o: f"/api/acute/episodes/{s.visit.episode_id}/complete",
        "EpisodeOfCare",
        "create",
    ),
    "clinical visit": Endpoint(
        "get", lambda s, o: f"/api/clinical/visits/{s.visit.pk}", "Encounter", "read"
    ),
    "phone order": Endpoint(
        "post",
        lambda s, o: f"/api/clinical/visits/{s.visit.pk}/phone-orders",
        "MedicationRequest",
        "create",
        lambda s, o: PHONE_ORDER,
    ),
    "order confirmed": Endpoint(
        "post",
        lambda s, o: f"/api/clinical/orders/{o['order']}/confirm",
        "MedicationRequest",
        "create",
    ),
    "order cancelled": Endpoint(
        "post",
        lambda s, o: f"/api/clinical/orders/{o['order']}/cancel",
        "MedicationRequest",
        "create",
        lambda s, o: {"reason": "Fejlordination"},
    ),
    "dose given": Endpoint(
        "post",
        lambda s, o: "/api/cabinet/administrations",
        "MedicationAdministration",
        "create",
        lambda s, o: {"visit": s.visit.pk, "order": o["order"], "medicine": 1, "quantity": "1"},
    ),
}


@pytest.fixture
def world() -> tuple[Scene, dict[str, int]]:
    scene = visit_scene()
    answer = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders", PHONE_ORDER, format="json"
    )
    assert answer.status_code == 201, answer.content
    return scene, {"order": answer.json()["id"]}


def _ask(client: APIClient, endpoint: Endpoint, url: str, body: dict[str, Any] | None) -> Any:
    if endpoint.method == "get":
        return client.get(url)
    return client.post(url, body or {}, format="json")


def _elsewhere(url: str, scene: Scene, objects: dict[str, int]) -> str:
    return nowhere_instead(
        url, (scene.referral.pk, scene.visit.pk, scene.visit.episode_id, objects["order"])
    )


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_every_refused_role_leaves_one_denied_entry_on_the_citizen_named(
    world: tuple[Scene, dict[str, int]], name: str
) -> None:
    scene, objects = world
    endpoint = ENDPOINTS[name]
    url = endpoint.url(scene, objects)
    body = endpoint.body(scene, objects) if endpoint.body else None
    organisation = f.acute_function()
    refused_roles = []
    for role in f.ALL_ROLES:
        member = f.staff(role, organisation)
        before = newest()
        response = _ask(f.client_for(member), endpoint, url, body)
        if response.status_code != 403 or response.json()["error"]["code"] != "auth.forbidden":
            continue
        refused_roles.append(role)
        assert entries_after(before) == [role_refused(scene.citizen.pk, member, endpoint)], (
            f"{role} {endpoint.method.upper()} {url}"
        )
        # Refused alike where nothing exists: the answer discloses nothing,
        # and the entry names no citizen.
        before = newest()
        elsewhere = _elsewhere(url, scene, objects)
        if body is not None and "visit" in body:
            body = {**body, "visit": NOWHERE}
        other = _ask(f.client_for(member), endpoint, elsewhere, body)
        assert (other.status_code, other.json()) == (403, response.json())
        assert [
            (e.citizen_id, e.outcome, e.reason_code)
            for e in AuditEntry.objects.filter(pk__gt=before)
        ] == [(None, "denied", "role_not_permitted")]
        body = endpoint.body(scene, objects) if endpoint.body else None
    # Most roles are refused on every one of these endpoints.
    assert len(refused_roles) >= 4, refused_roles


def _system_token(role: str) -> str:
    """A system's token, as the client-credentials grant issues one."""
    user = User.objects.create(username=f"system-{role}-{dt.datetime.now().timestamp()}")
    membership = Membership.objects.create(
        user=user, organisation=f.acute_function(), role=role, is_default=True
    )
    system, _secret = system_client_register(
        client_id=user.username, name="Test system", membership=membership, scopes="system/*.read"
    )
    raw = secrets.token_urlsafe(24)
    ApiToken.objects.create(
        key_hash=hash_token(raw),
        membership=membership,
        system_client=system,
        scopes="system/*.read",
        expires_at=timezone.now() + dt.timedelta(minutes=5),
    )
    return raw


def test_a_system_token_refused_on_the_api_is_recorded_on_the_citizen_it_names(
    world: tuple[Scene, dict[str, int]],
) -> None:
    """A system reaches only ``/fhir/``; its attempt on ``/api/`` (here a
    break-the-glass for a citizen, in a role that could otherwise ask) is
    refused and recorded as outside its scopes."""
    scene, _objects = world
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {_system_token(Role.ACUTE_NURSE)}")
    before = newest()
    response = client.post(
        "/api/consent/break-glass",
        {"citizen_id": scene.citizen.pk, "reason": "Bevidstløs", "basis": "vital_interest"},
        format="json",
    )
    assert response.status_code == 403
    assert [
        (e.citizen_id, e.outcome, e.reason_code, e.action, e.purpose, e.resource_type)
        for e in AuditEntry.objects.filter(pk__gt=before)
    ] == [(scene.citizen.pk, "denied", "scope_not_granted", "break_glass", "emergency", "Patient")]
    before = newest()
    assert client.get(f"/api/acute/visits/{scene.visit.pk}").status_code == 403
    assert [
        (e.citizen_id, e.reason_code, e.resource_type)
        for e in AuditEntry.objects.filter(pk__gt=before)
    ] == [(scene.citizen.pk, "scope_not_granted", "Encounter")]


def test_a_body_that_is_no_json_names_no_citizen_and_is_still_refused() -> None:
    auditor = f.staff(Role.AUDITOR, f.acute_function())
    before = newest()
    response = f.client_for(auditor).post(
        "/api/cabinet/administrations", "{not json", content_type="application/json"
    )
    assert response.status_code == 403
    assert [(e.citizen_id, e.reason_code) for e in AuditEntry.objects.filter(pk__gt=before)] == [
        (None, "role_not_permitted")
    ]


def test_an_unauthenticated_request_is_no_entry(world: tuple[Scene, dict[str, int]]) -> None:
    scene, _objects = world
    before = newest()
    assert APIClient().get(f"/api/acute/visits/{scene.visit.pk}").status_code == 401
    assert not AuditEntry.objects.filter(pk__gt=before).exists()


# A visit read by the nurse on it: her token, the visit, the citizen, the
# entry (on SQLite the entry's own statements besides).
VISIT_READ_STATEMENTS = 4


def test_a_permitted_read_costs_no_statement_more(
    world: tuple[Scene, dict[str, int]], django_assert_max_num_queries: Any
) -> None:
    """The citizen a refused request names is looked up only for a refusal."""
    scene, _objects = world
    client = f.client_for(scene.nurse)
    url = f"/api/acute/visits/{scene.visit.pk}"
    assert client.get(url).status_code == 200
    with django_assert_max_num_queries(VISIT_READ_STATEMENTS + f.audit_extra_queries()):
        assert client.get(url).status_code == 200


# Routes whose object is no citizen's: a shift, a lot, a count, a medicine, a
# stock notification, an audit entry (the auditor's API, refused to every
# other role and recorded only as the auditor reads), an analysis.
ABOUT_NO_CITIZEN = (
    "api/acute/shifts/",
    "api/cabinet/",
    "api/audit/",
    "api/consent/^analyses/",
    "api/consent/analyses/runs/",
)


def test_every_api_route_naming_an_object_says_whose_it_is() -> None:
    """A new endpoint on a citizen's object that forgets its ``Concerns``
    would refuse a role without a trace: each ``/api/`` route with an id in
    its path declares one, or is about no citizen."""
    silent = [
        route
        for route, view in routes(get_resolver(), lambda callback: getattr(callback, "cls", None))
        if route.startswith("api/")
        and "<" in route
        and not route.startswith(ABOUT_NO_CITIZEN)
        and not isinstance(getattr(view, "concerns", None), Concerns)
    ]
    assert silent == []
