"""R9 on the pages: a member of staff whose role a page about a citizen's
object refuses (a visit, a referral, an order, a deadline warning) made an
attempt on that citizen, and it is recorded as denied on her trail — who,
role, organisation, what, purpose, reason — just as on ``/api/``
(tests/core/test_api_role_refusals_audited.py). The page says the same "not
available" whether or not the object exists. A form on the nurse's visit page
sent for a visit she may not act on is an attempt on its citizen however the
form was filled in. A refusal whose entry cannot be written is still a
refusal: never a 500, never data, and the lost entry logged without a CPR
number."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import DatabaseError
from django.test import Client
from django.urls import get_resolver, resolve

from acute.clinical.models import PhysicianAlert
from acute.models import DeadlineWarning
from consent.audit import services as audit_services
from consent.audit.models import AuditEntry
from consent.models import BreakGlass
from core.logging import CprScrubFilter
from core.models import Role
from core.refusals import Concerns
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


Objects = dict[str, int]


@dataclass(frozen=True)
class Door:
    method: str
    url: Callable[[Scene, Objects], str]
    resource_type: str
    action: str
    form: Callable[[Scene, Objects], dict[str, Any]] | None = None
    purpose: str = "treatment"


def _visit(tail: str) -> Callable[[Scene, Objects], str]:
    return lambda s, o: f"/nurse/visits/{s.visit.pk}/{tail}"


def _order(tail: str) -> Callable[[Scene, Objects], str]:
    return lambda s, o: f"/physician/orders/{o['order']}/{tail}"


PAGES = {
    "referral page": Door(
        "get", lambda s, o: f"/coordinator/referrals/{s.referral.pk}/", "ServiceRequest", "read"
    ),
    "referral assigned": Door(
        "post",
        lambda s, o: f"/coordinator/referrals/{s.referral.pk}/assign/",
        "ServiceRequest",
        "create",
    ),
    "referral triaged": Door(
        "post",
        lambda s, o: f"/coordinator/referrals/{s.referral.pk}/triage/",
        "ServiceRequest",
        "create",
    ),
    "visit page": Door("get", _visit(""), "Encounter", "read"),
    "visit step": Door("post", _visit("step/"), "Encounter", "create", lambda s, o: {"step": "x"}),
    "visit note": Door("post", _visit("note/"), "Encounter", "create"),
    "vital signs": Door("post", _visit("vitals/"), "Observation", "create"),
    "lab interpretation": Door("get", _visit("interpret/"), "Observation", "read"),
    "lab result": Door("post", _visit("lab/"), "Observation", "create"),
    "phone order": Door("post", _visit("order/"), "MedicationRequest", "create"),
    "dose given": Door("post", _visit("give/"), "MedicationAdministration", "create"),
    "procedure": Door("post", _visit("procedure/"), "Procedure", "create"),
    "delegation": Door("post", _visit("delegation/"), "Delegation", "create"),
    "visit completed": Door("post", _visit("complete/"), "Encounter", "create"),
    "break-the-glass": Door(
        "post",
        _visit("break-glass/"),
        "Patient",
        "break_glass",
        lambda s, o: {"reason": "Bevidstløs", "basis": "vital_interest"},
        purpose="emergency",
    ),
    "order confirmed": Door("post", _order("confirm/"), "MedicationRequest", "create"),
    "order rejected": Door("post", _order("reject/"), "MedicationRequest", "create"),
    "order stopped": Door("post", _order("stop/"), "MedicationRequest", "create"),
    "order corrected": Door("get", _order("correct/"), "MedicationRequest", "read"),
    "prescription sent": Door("post", _order("prescription-sent/"), "MedicationRequest", "create"),
    "written order": Door(
        "post",
        lambda s, o: "/physician/orders/new/",
        "MedicationRequest",
        "create",
        lambda s, o: {"visit_id": str(s.visit.pk)},
    ),
    "alert seen": Door(
        "post",
        lambda s, o: f"/physician/alerts/{o['alert']}/acknowledge/",
        "Flag",
        "create",
    ),
    "warning acknowledged": Door(
        "post",
        lambda s, o: f"/coordinator/warnings/{o['warning']}/acknowledge/",
        "Flag",
        "create",
    ),
}


@pytest.fixture
def world() -> tuple[Scene, Objects]:
    scene = visit_scene()
    answer = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders", PHONE_ORDER, format="json"
    )
    assert answer.status_code == 201, answer.content
    warning = DeadlineWarning.objects.create(
        referral=scene.referral, kind=DeadlineWarning.Kind.AT_RISK
    )
    critical = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": "NPU03230", "value": "7.2", "unit": "mmol/L"}]},
        format="json",
    )
    assert critical.status_code == 201, critical.content
    alert = PhysicianAlert.objects.get(lab_result_id=critical.json()["results"][0]["id"])
    return scene, {"order": answer.json()["id"], "warning": warning.pk, "alert": alert.pk}


def _signed_in(membership: Any) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def _ask(client: Client, door: Door, url: str, form: dict[str, Any] | None) -> Any:
    if door.method == "get":
        return client.get(url)
    return client.post(url, form or {})


def _elsewhere(url: str, scene: Scene, objects: Objects) -> str:
    return nowhere_instead(
        url,
        (
            scene.referral.pk,
            scene.visit.pk,
            objects["order"],
            objects["warning"],
            objects["alert"],
        ),
    )


def _said(response: Any) -> str:
    """A page as read, without what differs on every answer (the forms' token)."""
    return re.sub(r'value="[^"]*"|"X-CSRFToken": "[^"]*"', "", response.content.decode())


def _refused_roles(url: str) -> list[str]:
    """The roles the page's own declaration refuses."""
    access = resolve(url).func.page_access  # type: ignore[attr-defined]
    assert isinstance(access, frozenset), url
    return [role for role in f.ALL_ROLES if role not in access]


@pytest.mark.parametrize("name", list(PAGES))
def test_every_role_a_page_refuses_leaves_one_denied_entry_on_the_citizen_named(
    world: tuple[Scene, Objects], name: str
) -> None:
    scene, objects = world
    door = PAGES[name]
    url = door.url(scene, objects)
    form = door.form(scene, objects) if door.form else None
    organisation = f.acute_function()
    refused = _refused_roles(url)
    assert len(refused) >= 6, refused
    for role in refused:
        member = f.staff(role, organisation)
        client = _signed_in(member)
        before = newest()
        response = _ask(client, door, url, form)
        assert response.status_code == 403, (role, url)
        assert entries_after(before) == [role_refused(scene.citizen.pk, member, door)], (
            f"{role} {door.method.upper()} {url}"
        )
        # Refused alike where nothing exists: the page discloses nothing, and
        # the entry names no citizen.
        before = newest()
        elsewhere = _elsewhere(url, scene, objects)
        other_form = {**form, "visit_id": str(NOWHERE)} if form and "visit_id" in form else form
        other = _ask(client, door, elsewhere, other_form)
        assert (other.status_code, _said(other)) == (403, _said(response))
        assert [
            (e.citizen_id, e.outcome, e.reason_code, e.resource_type)
            for e in AuditEntry.objects.filter(pk__gt=before)
        ] == [(None, "denied", "role_not_permitted", door.resource_type)]


def test_a_permitted_role_is_no_refusal_entry(world: tuple[Scene, Objects]) -> None:
    scene, _objects = world
    client = _signed_in(scene.nurse)
    before = newest()
    assert client.get(f"/nurse/visits/{scene.visit.pk}/").status_code == 200
    assert not AuditEntry.objects.filter(pk__gt=before, outcome="denied").exists()


# --- the visit page's forms, on a visit she may not act on ------------------


def _denied_on(scene: Scene, before: int) -> list[tuple[str, str]]:
    return [
        (e.action, e.reason_code)
        for e in AuditEntry.objects.filter(
            pk__gt=before, citizen_id=scene.citizen.pk, outcome="denied"
        ).order_by("pk")
    ]


@pytest.mark.parametrize(
    ("tail", "form"),
    [
        ("step/", {"step": "no-such-step"}),
        ("give/", {"order_id": "not a number"}),
        ("give/", {}),
    ],
)
def test_a_form_on_a_colleagues_visit_is_a_denied_attempt_however_it_was_filled_in(
    tail: str, form: dict[str, str]
) -> None:
    """The attempt at the write is recorded on the citizen, and then the page
    that answers it (the visit page, refused as a read): two entries, whether
    the form would have passed or not, as for every other form on the page
    and as through the API, whose gate comes before the body is judged."""
    scene = visit_scene()
    colleague, _shift = f.acute_nurse_on_shift()
    before = newest()
    response = _signed_in(colleague).post(f"/nurse/visits/{scene.visit.pk}/{tail}", form)
    assert response.status_code == 403
    # The write refused is recorded as the write it was, the page after it as a read.
    assert _denied_on(scene, before) == [
        ("update", "not_visit_nurse"),
        ("read", "not_visit_nurse"),
    ]


def test_breaking_the_glass_on_a_colleagues_visit_is_a_denied_attempt_on_its_citizen() -> None:
    scene = visit_scene()
    colleague, _shift = f.acute_nurse_on_shift()
    before = newest()
    response = _signed_in(colleague).post(
        f"/nurse/visits/{scene.visit.pk}/break-glass/",
        {"reason": "Bevidstløs", "basis": "vital_interest"},
    )
    assert response.status_code == 403
    assert _denied_on(scene, before) == [
        ("break_glass", "not_visit_nurse"),
        ("read", "not_visit_nurse"),
    ]
    assert not BreakGlass.objects.filter(citizen=scene.citizen).exists()


def test_breaking_the_glass_on_a_visit_that_is_not_there_is_recorded_on_no_citizen() -> None:
    nurse, _shift = f.acute_nurse_on_shift()
    before = newest()
    response = _signed_in(nurse).post(
        f"/nurse/visits/{NOWHERE}/break-glass/", {"reason": "Bevidstløs", "basis": "vital_interest"}
    )
    assert response.status_code == 403
    assert [
        (e.action, e.citizen_id, e.reason_code)
        for e in AuditEntry.objects.filter(pk__gt=before, outcome="denied").order_by("pk")
    ] == [("break_glass", None, "unknown_visit"), ("read", None, "unknown_visit")]


# --- a refusal whose entry cannot be written ------------------------------------


@pytest.fixture
def platform_log() -> Iterator[io.StringIO]:
    """What the platform's own log handler writes (scrubbing filter and all)."""
    handler = next(
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler)
        and any(isinstance(x, CprScrubFilter) for x in h.filters)
    )
    written = io.StringIO()
    stream = handler.setStream(written)
    try:
        yield written
    finally:
        if stream is not None:
            handler.setStream(stream)


@pytest.fixture
def audit_log_down(world: tuple[Scene, Objects], monkeypatch: pytest.MonkeyPatch) -> str:
    """Every append to the audit log fails as an unreachable database would,
    its message carrying the citizen's CPR number."""
    cpr = world[0].citizen.cpr

    def unreachable(entries: Any) -> Any:
        raise DatabaseError(f"server closed the connection while writing {cpr}")

    monkeypatch.setattr(audit_services, "entries_append", unreachable)
    monkeypatch.setattr(audit_services, "content_append", unreachable)
    return str(cpr)


def test_an_api_refusal_stands_when_its_entry_cannot_be_written(
    world: tuple[Scene, Objects], audit_log_down: str, platform_log: io.StringIO
) -> None:
    scene, _objects = world
    auditor = f.staff(Role.AUDITOR, f.acute_function())
    before = newest()
    response = f.client_for(auditor).get(f"/api/acute/visits/{scene.visit.pk}")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "auth.forbidden"
    assert scene.citizen.family_name not in response.content.decode()
    assert not AuditEntry.objects.filter(pk__gt=before).exists()
    written = platform_log.getvalue()
    assert "could not be recorded in the audit log" in written
    assert "Encounter" in written
    assert audit_log_down not in written


def test_a_page_refusal_stands_when_its_entry_cannot_be_written(
    world: tuple[Scene, Objects], platform_log: io.StringIO, request: pytest.FixtureRequest
) -> None:
    scene, _objects = world
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    client = _signed_in(coordinator)
    # Signed in while the log took her sign-in; it goes down only now.
    audit_log_down = request.getfixturevalue("audit_log_down")
    before = newest()
    response = client.get(f"/nurse/visits/{scene.visit.pk}/")
    assert response.status_code == 403
    assert scene.citizen.family_name not in response.content.decode()
    assert not AuditEntry.objects.filter(pk__gt=before).exists()
    written = platform_log.getvalue()
    assert "could not be recorded in the audit log" in written
    assert audit_log_down not in written


def test_no_page_session_without_its_sign_in_entry(
    world: tuple[Scene, Objects], audit_log_down: str
) -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    f.totp_device(coordinator.user)
    client = Client()
    client.post("/login/", {"username": coordinator.user.username, "password": f.PASSWORD})
    response = client.post("/login/code/", {"otp": f.totp_code(coordinator.user)})
    assert response.status_code == 503
    assert "kunne ikke" in response.content.decode()
    # Not logged in: the start page sends her to the login.
    start = client.get("/")
    assert start.status_code == 302 and start["Location"].startswith("/login/")


# --- every page on a citizen's object says whose it is -----------------------

# Pages whose object is no citizen's: an audit entry (the auditor's own pages,
# recorded as she reads), a stock count; and the insight report, open to all
# staff so that the gate, not the role list, refuses and records.
ABOUT_NO_CITIZEN = ("audit/", "cabinet/", "consent/insight/")


def test_every_page_naming_an_object_says_whose_it_is() -> None:
    """A new page on a citizen's object that forgets its ``concerns`` would
    refuse a role without a trace: each page with an id in its path that a
    role can be refused declares one, or is about no citizen."""
    pages = routes(
        get_resolver(),
        lambda callback: callback if hasattr(callback, "page_access") else None,
    )
    assert any(route.startswith("nurse/visits/<") for route, _view in pages)
    silent = [
        route
        for route, view in pages
        if "<" in route
        and isinstance(view.page_access, frozenset)
        and not route.startswith(ABOUT_NO_CITIZEN)
        and not isinstance(getattr(view, "concerns", None), Concerns)
    ]
    assert silent == []
