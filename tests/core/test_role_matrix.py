"""Deny by default, proven for every ``/api/`` operation and every role (R9).

The table below says, from the product's who-does-what (PRODUCT.md, "Who
uses it"), which roles may use each operation of the OpenAPI description —
not read off the views' permission classes. Every operation the schema has
must be in it, so a new endpoint is placed here before it ships. Then, for
every operation, every role the table does not name (and a caller who is
not signed in) is refused — 401 without an actor, 403 for a role, 404 where
the gate answers "not found or not allowed" — with the refusal's code in the
error envelope, never a 500 and never the content; and where the request
names a citizen (an object of hers in the path, her id in the body or the
query) the refusal is on her audit log as denied, by that member of staff.
A role the table names is not refused for its role.

The pages are held to a compact table of their own: each page prefix and the
roles it is for; every other role gets the one "not available" page.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from acute.clinical.models import LabResult, PhysicianAlert
from acute.models import DeadlineWarning
from consent.analyses import analysis_run
from consent.analyses.catalogue import ANALYSES
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.models import Membership, Role
from integrations.models import CareMessage, CareThread, InboundMessage, OutboundMessage, Partner
from tests import factories as f
from tests.acute.clinical.conftest import PHONE_ORDER, visit_scene
from tests.core.refusal_doors import NOWHERE, newest

pytestmark = pytest.mark.django_db

NURSE = Role.ACUTE_NURSE
COORDINATOR = Role.COORDINATOR
PHYSICIAN = Role.PHYSICIAN
HOME_NURSE = Role.HOME_NURSE
OFFICER = Role.MEDICINE_OFFICER
AUDITOR = Role.AUDITOR
ANALYST = Role.ANALYST
ADMINISTRATOR = Role.ADMINISTRATOR

EVERY_ROLE = frozenset(Role.values)
# Who treats the citizen: the clinicians of "Who uses it".
CLINICIANS = frozenset({NURSE, COORDINATOR, PHYSICIAN, HOME_NURSE})
# Who handles the acute function's medicine: the officer keeps the cabinet,
# the nurse carries a bag, the coordinator sees what there is to send.
STOCK_READERS = frozenset({NURSE, COORDINATOR, OFFICER})


@dataclass(frozen=True)
class May:
    """Who may use one operation; how its request names a citizen —
    ``"path"`` (an object of hers in the URL), ``"body"`` (her id in the
    JSON), ``"query"`` (her id in the query string) — or whether, naming no
    one, it serves citizens' data all the same (``lists``: a list or an
    analysis of them), so that a refused attempt is recorded (R9); and the
    code a refused role is told, where the service, not the role check,
    refuses it."""

    roles: frozenset[str]
    names: str = ""
    lists: bool = False
    refusal: str = "auth.forbidden"
    status: int = 403

    @property
    def recorded(self) -> bool:
        return bool(self.names) or self.lists


def may(
    *roles: str,
    names: str = "",
    lists: bool = False,
    refusal: str = "auth.forbidden",
    status: int = 403,
) -> May:
    return May(frozenset(roles), names, lists, refusal, status)


# Open to anyone: signing in, and the transparency log's public face.
PUBLIC = {
    ("POST", "/api/auth/token"),
    ("POST", "/api/auth/oauth/token"),
    ("POST", "/api/auth/oauth/revoke"),
    ("GET", "/api/audit/log/checkpoint"),
    ("GET", "/api/audit/log/consistency"),
    ("POST", "/api/audit/log/cosignatures"),
}

TABLE: dict[tuple[str, str], May] = {
    # --- who am I: every member of staff --------------------------------------------
    ("GET", "/api/auth/whoami"): May(EVERY_ROLE),
    ("POST", "/api/auth/logout"): May(EVERY_ROLE),
    # --- referrals: the coordinator takes and triages them; a GP (physician) and
    # the municipality's home nursing refer; the nurse reads the one she goes to.
    ("GET", "/api/acute/referrals"): may(COORDINATOR, lists=True),
    ("POST", "/api/acute/referrals"): may(COORDINATOR, PHYSICIAN, HOME_NURSE, names="body"),
    ("GET", "/api/acute/referrals/{id}"): may(NURSE, COORDINATOR, names="path"),
    ("POST", "/api/acute/referrals/{id}/accept"): may(COORDINATOR, names="path"),
    ("POST", "/api/acute/referrals/{id}/decline"): may(COORDINATOR, names="path"),
    ("POST", "/api/acute/referrals/{id}/assign"): may(COORDINATOR, names="path"),
    ("GET", "/api/acute/referrals/{id}/suggestions"): may(COORDINATOR, names="path"),
    ("POST", "/api/acute/referrals/{id}/urgency"): may(COORDINATOR, names="path"),
    ("POST", "/api/acute/referrals/{id}/withdraw"): may(COORDINATOR, names="path"),
    # --- deadlines (R10): the coordinator watches them
    ("GET", "/api/acute/warnings"): may(COORDINATOR, lists=True),
    ("POST", "/api/acute/warnings/{id}/acknowledge"): may(COORDINATOR, names="path"),
    # --- shifts: the coordinator plans them; the nurse says where she is and
    # whether she is free, as the coordinator may for her.
    ("GET", "/api/acute/shifts"): may(COORDINATOR),
    ("POST", "/api/acute/shifts"): may(COORDINATOR),
    ("POST", "/api/acute/shifts/{id}/position"): may(NURSE),
    ("POST", "/api/acute/shifts/{id}/status"): may(NURSE, COORDINATOR),
    # --- the visit: the nurse goes and documents; the coordinator follows it
    # and may withdraw it.
    ("GET", "/api/acute/visits"): may(NURSE, lists=True),
    ("GET", "/api/acute/visits/{id}"): may(NURSE, COORDINATOR, names="path"),
    ("POST", "/api/acute/visits/{id}/accept"): may(NURSE, names="path"),
    ("POST", "/api/acute/visits/{id}/decline"): may(NURSE, names="path"),
    ("POST", "/api/acute/visits/{id}/en-route"): may(NURSE, names="path"),
    ("POST", "/api/acute/visits/{id}/on-site"): may(NURSE, names="path"),
    ("POST", "/api/acute/visits/{id}/complete"): may(NURSE, names="path"),
    ("POST", "/api/acute/visits/{id}/notes"): may(NURSE, names="path"),
    ("GET", "/api/acute/visits/{id}/vital-signs"): may(NURSE, COORDINATOR, names="path"),
    ("POST", "/api/acute/visits/{id}/vital-signs"): may(NURSE, names="path"),
    ("POST", "/api/acute/visits/{id}/withdraw"): may(COORDINATOR, names="path"),
    # --- the episode's end and hand-back (R11): the coordinator
    ("POST", "/api/acute/episodes/{id}/complete"): may(COORDINATOR, names="path"),
    ("POST", "/api/acute/episodes/{id}/follow-ups"): may(COORDINATOR, names="path"),
    # --- follow-up figures: the coordinator's and the analysts' (aggregates)
    ("GET", "/api/acute/figures"): may(COORDINATOR, ANALYST, lists=True),
    # --- on the visit (R7, R8): the nurse takes tests, records delegations,
    # procedures and the physician's phone order; the physician writes, confirms,
    # cancels orders and sends the prescription; critical results alert her.
    ("GET", "/api/clinical/catalogue"): may(NURSE, COORDINATOR, PHYSICIAN),
    ("GET", "/api/clinical/visits/{visit_id}"): may(NURSE, COORDINATOR, PHYSICIAN, names="path"),
    ("POST", "/api/clinical/visits/{visit_id}/results"): may(NURSE, names="path"),
    ("POST", "/api/clinical/visits/{visit_id}/delegations"): may(NURSE, names="path"),
    ("POST", "/api/clinical/visits/{visit_id}/procedures"): may(NURSE, names="path"),
    ("POST", "/api/clinical/visits/{visit_id}/phone-orders"): may(NURSE, names="path"),
    ("POST", "/api/clinical/visits/{visit_id}/written-orders"): may(PHYSICIAN, names="path"),
    ("POST", "/api/clinical/results/{result_id}/correct"): may(NURSE, names="path"),
    ("POST", "/api/clinical/results/{result_id}/withdraw"): may(NURSE, names="path"),
    ("GET", "/api/clinical/orders/mine"): may(PHYSICIAN, lists=True),
    ("GET", "/api/clinical/orders/overdue"): may(COORDINATOR, PHYSICIAN, lists=True),
    ("POST", "/api/clinical/orders/{order_id}/confirm"): may(PHYSICIAN, names="path"),
    ("POST", "/api/clinical/orders/{order_id}/cancel"): may(PHYSICIAN, names="path"),
    ("POST", "/api/clinical/orders/{order_id}/prescription-sent"): may(PHYSICIAN, names="path"),
    # A confirmation or prescription of a physician who is no user, received
    # by another route: the coordinator records it (R8, decision 0037).
    ("POST", "/api/clinical/orders/{order_id}/received"): may(COORDINATOR, names="path"),
    # A withdrawal phoned in by a physician who is no user, recorded for her.
    ("POST", "/api/clinical/orders/{order_id}/withdrawal-phoned"): may(COORDINATOR, names="path"),
    ("GET", "/api/clinical/alerts"): may(PHYSICIAN, lists=True),
    ("GET", "/api/clinical/board/alerts"): may(COORDINATOR, lists=True),
    ("POST", "/api/clinical/alerts/{alert_id}/acknowledge"): may(
        COORDINATOR, PHYSICIAN, names="path"
    ),
    # --- the medicine cabinet (R8): the officer keeps it; the nurse counts and
    # moves her bag and gives a dose against an order.
    ("GET", "/api/cabinet/medicines"): May(STOCK_READERS),
    ("POST", "/api/cabinet/medicines"): may(OFFICER),
    ("POST", "/api/cabinet/cabinets"): may(OFFICER),
    ("GET", "/api/cabinet/locations"): May(STOCK_READERS),
    ("GET", "/api/cabinet/locations/{location_id}/balance"): May(STOCK_READERS),
    ("GET", "/api/cabinet/stock"): May(STOCK_READERS),
    ("GET", "/api/cabinet/my-bag"): may(NURSE),
    ("POST", "/api/cabinet/receipts"): may(OFFICER),
    ("POST", "/api/cabinet/transfers"): may(NURSE),
    ("POST", "/api/cabinet/removals"): may(NURSE, OFFICER),
    ("POST", "/api/cabinet/waste"): may(NURSE, OFFICER),
    ("POST", "/api/cabinet/administrations"): may(NURSE, names="body"),
    ("GET", "/api/cabinet/administrations/suggested-lot"): may(NURSE),
    ("GET", "/api/cabinet/counts"): may(NURSE, OFFICER),
    ("POST", "/api/cabinet/counts"): may(NURSE, OFFICER),
    ("GET", "/api/cabinet/counts/{count_id}"): may(NURSE, OFFICER),
    ("POST", "/api/cabinet/counts/{count_id}/lines"): may(NURSE, OFFICER),
    ("POST", "/api/cabinet/counts/{count_id}/lines/{line_id}/recount"): may(NURSE, OFFICER),
    ("POST", "/api/cabinet/counts/{count_id}/submit"): may(NURSE, OFFICER),
    ("POST", "/api/cabinet/counts/{count_id}/approve"): may(OFFICER),
    ("GET", "/api/cabinet/lots/{lot_id}/history"): may(OFFICER),
    ("POST", "/api/cabinet/lots/{lot_id}/recall"): may(OFFICER),
    ("GET", "/api/cabinet/register/{medicine_id}"): may(OFFICER),
    ("GET", "/api/cabinet/reports/monthly-use"): may(OFFICER),
    ("GET", "/api/cabinet/notifications"): may(OFFICER),
    ("POST", "/api/cabinet/notifications/{notification_id}/acknowledge"): may(OFFICER),
    # --- the shared record: break-the-glass is a clinician's (R4); analyses are
    # the named analysts' alone (R6).
    ("POST", "/api/consent/break-glass"): May(CLINICIANS, names="body", refusal="break_glass.role"),
    ("GET", "/api/consent/analyses"): may(ANALYST, lists=True),
    ("POST", "/api/consent/analyses/{name}"): may(ANALYST, lists=True, refusal="analysis.role"),
    # An answer is the analysts' who were given it: to anyone else it does not exist.
    ("GET", "/api/consent/analyses/runs/{release_id}"): may(
        ANALYST, lists=True, refusal="not_found", status=404
    ),
    ("GET", "/api/consent/analyses/runs/{release_id}/csv"): may(
        ANALYST, lists=True, refusal="not_found", status=404
    ),
    # --- the audit log (R5, R9): the auditor's
    ("GET", "/api/audit/entries"): may(AUDITOR, names="query"),
    ("GET", "/api/audit/entries/{entry_id}"): may(AUDITOR, names="path"),
    ("POST", "/api/audit/entries/{entry_id}/review"): may(AUDITOR, names="path"),
    ("GET", "/api/audit/export"): may(AUDITOR, names="query"),
    ("GET", "/api/audit/verify"): may(AUDITOR),
    ("GET", "/api/audit/log/entries/{entry_id}/inclusion"): may(AUDITOR, names="path"),
    # --- hand-offs (R11, R12): the coordinator's board of messages; the nurse
    # reads and answers a partner's CareCommunication about her visit's citizen.
    ("GET", "/api/integrations/outbox"): may(COORDINATOR, lists=True),
    ("GET", "/api/integrations/outbox/{id}"): may(COORDINATOR, names="path"),
    ("POST", "/api/integrations/outbox/{id}/resend"): may(COORDINATOR, names="path"),
    ("POST", "/api/integrations/outbox/{id}/handled"): may(COORDINATOR, names="path"),
    ("GET", "/api/integrations/inbox/refused"): may(COORDINATOR),
    ("POST", "/api/integrations/inbox/refused/{id}/noted"): may(COORDINATOR, names="path"),
    ("GET", "/api/integrations/care-threads/unmatched"): may(COORDINATOR, lists=True),
    ("GET", "/api/integrations/care-threads/{id}"): may(NURSE, COORDINATOR, names="path"),
    ("POST", "/api/integrations/care-threads/{id}/reply"): may(NURSE, COORDINATOR, names="path"),
    ("POST", "/api/integrations/care-threads/{id}/handled"): may(COORDINATOR, names="path"),
}

METHODS = ("get", "post", "put", "patch", "delete")


def schema_operations() -> dict[tuple[str, str], dict[str, Any]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method.upper(), path): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_every_operation_of_the_schema_is_in_the_table() -> None:
    """A new endpoint fails here until it is placed in the table."""
    operations = set(schema_operations())
    assert sorted(operations - set(TABLE) - PUBLIC) == [], "not in the table"
    assert sorted((set(TABLE) | PUBLIC) - operations) == [], "in the table, not in the schema"


def test_the_schema_tells_integrators_the_roles_of_the_table() -> None:
    """``x-roles`` is the contract's word on who may call: it says what the table says."""
    differ = []
    for key, operation in schema_operations().items():
        documented = operation.get("x-roles")
        wanted = None if key in PUBLIC else sorted(TABLE[key].roles)
        if documented != wanted:
            differ.append(f"{key}: documented {documented}, the table {wanted}")
    assert differ == []


# --- one world: a citizen with an object of every kind an operation names -------------


@dataclass
class World:
    citizen_id: int
    ids: dict[str, int]
    members: dict[str, Membership]


def _world() -> World:
    scene = visit_scene()
    nurse = f.client_for(scene.nurse)
    order = nurse.post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders", PHONE_ORDER, format="json"
    )
    assert order.status_code == 201, order.content
    results = nurse.post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {
            "results": [
                {"code": "NPU19748", "value": "150", "unit": "mg/L"},
                {"code": "NPU03230", "value": "6.9", "unit": "mmol/L"},  # critical: an alert
            ]
        },
        format="json",
    )
    assert results.status_code == 201, results.content
    person = scene.citizen
    home_nursing = f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing())
    thread = CareThread.objects.create(
        identifier=f"urn:uuid:{uuid.uuid4()}",
        partner=home_nursing,
        citizen=person,
        referral=scene.referral,
        category="nursing",
        topic="Sårpleje",
    )
    CareMessage.objects.create(
        thread=thread,
        identifier=f"urn:uuid:{uuid.uuid4()}",
        header_id=str(uuid.uuid4()),
        direction=CareMessage.Direction.IN,
        text="Hvordan ser såret ud?",
        written_at=timezone.now(),
    )
    refused = InboundMessage.objects.create(
        partner=home_nursing,
        citizen=person,
        bundle_id=str(uuid.uuid4()),
        header_id=str(uuid.uuid4()),
        event="acute-referral",
        outcome=InboundMessage.Outcome.FATAL,
        http_status=400,
        acknowledgement={},
        reason_code="record.psychiatric_diagnosis",
    )
    outbound = OutboundMessage.objects.create(
        partner=home_nursing,
        citizen=person,
        event="care-communication",
        bundle={"resourceType": "Bundle", "id": str(uuid.uuid4())},
        status=OutboundMessage.Status.FAILED,
        last_error_code="http.503",
    )
    warning = DeadlineWarning.objects.create(
        referral=scene.referral, kind=DeadlineWarning.Kind.AT_RISK
    )
    entry = AuditEntry.objects.filter(citizen_id=person.pk).latest("pk")
    acute = f.acute_function()
    analyst = f.staff(ANALYST, acute)
    answer = analysis_run(
        actor=Actor.for_membership(analyst),
        name="contacts-around-acute-episode",
        params={},
        export=False,
    )
    return World(
        citizen_id=person.pk,
        ids={
            "referral": scene.referral.pk,
            "visit": scene.visit.pk,
            "episode": scene.visit.episode_id,
            "shift": scene.visit.shift_id,
            "order": order.json()["id"],
            "result": LabResult.objects.filter(visit=scene.visit).values_list("pk", flat=True)[0],
            "alert": PhysicianAlert.objects.filter(citizen=person).values_list("pk", flat=True)[0],
            "thread": thread.pk,
            "inbound": refused.pk,
            "outbound": outbound.pk,
            "warning": warning.pk,
            "entry": entry.pk,
            "release": answer.release_id,
        },
        # Each role in the organisation it works for; the physician is the
        # citizen's own GP and the nurse the one on her visit: a refusal is
        # the role's, not the want of a care relationship.
        members={
            NURSE: scene.nurse,
            COORDINATOR: scene.coordinator,
            PHYSICIAN: scene.physician,
            HOME_NURSE: f.staff(HOME_NURSE, f.home_nursing("157")),
            OFFICER: f.staff(OFFICER, acute),
            AUDITOR: f.staff(AUDITOR, acute),
            ANALYST: analyst,
            ADMINISTRATOR: f.staff(ADMINISTRATOR, acute),
        },
    )


# ``{id}`` is named by the segment before it.
ID_BY_SEGMENT = {
    "referrals": "referral",
    "visits": "visit",
    "episodes": "episode",
    "shifts": "shift",
    "warnings": "warning",
    "care-threads": "thread",
    "refused": "inbound",
    "outbox": "outbound",
}
ID_BY_PARAMETER = {
    "visit_id": "visit",
    "order_id": "order",
    "result_id": "result",
    "alert_id": "alert",
    "entry_id": "entry",
    "release_id": "release",
}
PARAMETER = re.compile(r"\{(\w+)\}")


def _url(path: str, world: World | None) -> str:
    """The path with the world's objects in it (or, without a world, objects
    that do not exist)."""

    def fill(match: re.Match[str]) -> str:
        name = match[1]
        if name == "name":
            return next(iter(ANALYSES))
        if world is None:
            return str(NOWHERE)
        if name == "id":
            segment = path[: match.start()].rstrip("/").rsplit("/", 1)[-1]
            kind = ID_BY_SEGMENT.get(segment)
        else:
            kind = ID_BY_PARAMETER.get(name)
        return str(world.ids[kind]) if kind else str(NOWHERE)

    url = PARAMETER.sub(fill, path)
    if world is not None and TABLE.get(("GET", path), May(frozenset())).names == "query":
        url += f"?citizen={world.citizen_id}"
    return url


def _body(key: tuple[str, str], world: World) -> dict[str, Any]:
    """What a write sends: where it names the citizen by its body, hers."""
    if TABLE[key].names != "body":
        return {}
    if key[1] == "/api/cabinet/administrations":
        return {"visit": world.ids["visit"], "order": world.ids["order"], "medicine": 1}
    return {"citizen_id": world.citizen_id, "reason": "Bevidstløs", "basis": "vital_interest"}


def _ask(client: Client, method: str, url: str, body: dict[str, Any]) -> Any:
    if method == "GET":
        return client.get(url, HTTP_ACCEPT="application/json")
    return client.generic(
        method, url, json.dumps(body), content_type="application/json"
    )  # the JSON a client sends


def _operations() -> Iterator[tuple[tuple[str, str], May]]:
    yield from sorted(TABLE.items())


def _code(response: Any) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "(no error envelope)"


def test_every_role_the_table_does_not_name_is_refused_and_recorded() -> None:
    world = _world()
    clients = {role: f.client_for(member) for role, member in world.members.items()}
    anonymous = f.client_for(None)
    wrong: list[str] = []
    for key, rule in _operations():
        method, path = key
        url = _url(path, world)
        body = _body(key, world)
        answer = _ask(anonymous, method, url, body)
        if (answer.status_code, _code(answer)) != (401, "auth.required"):
            wrong.append(f"anonymous {method} {url}: {answer.status_code} {_code(answer)}")
        for role in sorted(EVERY_ROLE - rule.roles):
            member = world.members[role]
            before = newest()
            answer = _ask(clients[role], method, url, body)
            code = _code(answer)
            where = f"{role} {method} {url}"
            if (answer.status_code, code) != (rule.status, rule.refusal):
                wrong.append(
                    f"{where}: {answer.status_code} {code}, not {rule.status} {rule.refusal}"
                )
                continue
            denied = AuditEntry.objects.filter(
                pk__gt=before, outcome="denied", actor_user_id=member.user_id, actor_role=role
            )
            if rule.names and not denied.filter(citizen_id=world.citizen_id).exists():
                wrong.append(f"{where}: refused, but not on the citizen's audit log")
            elif rule.recorded and not denied.exists():
                wrong.append(f"{where}: refused, but not recorded")
    assert wrong == [], "\n".join(wrong)


def test_every_role_the_table_names_is_let_in() -> None:
    """The table is no wish list: each role it names gets past the role check
    (here on objects that do not exist, so nothing is changed)."""
    acute = f.acute_function()
    organisations = {PHYSICIAN: f.gp_practice(), HOME_NURSE: f.home_nursing("157")}
    members = {role: f.staff(role, organisations.get(role, acute)) for role in EVERY_ROLE}
    clients = {role: f.client_for(member) for role, member in members.items()}
    shut_out = []
    for (method, path), rule in _operations():
        url = _url(path, None)
        for role in sorted(rule.roles):
            # Signing out ends the token: a token of its own.
            client = f.client_for(members[role]) if path == "/api/auth/logout" else clients[role]
            answer = _ask(client, method, url, {})
            if answer.status_code in (401, 403) and _code(answer).startswith("auth."):
                shut_out.append(f"{role} {method} {url}: {answer.status_code} {_code(answer)}")
    assert shut_out == [], "\n".join(shut_out)


# --- the pages ------------------------------------------------------------------------

# Each page prefix and the roles it is for, longest prefix first where they nest.
PAGES: dict[str, frozenset[str]] = {
    "/nurse/": frozenset({NURSE}),
    "/coordinator/": frozenset({COORDINATOR}),
    "/referrals/new/": frozenset({PHYSICIAN, HOME_NURSE}),
    "/physician/": frozenset({PHYSICIAN}),
    "/cabinet/": frozenset({OFFICER}),
    "/audit/": frozenset({AUDITOR}),
    "/consent/insight/": frozenset({AUDITOR}),
    "/analyses/": frozenset({ANALYST}),
    # A partner's message is read on the board; the nurse answers it from her visit.
    "/care-threads/{id}/reply/": frozenset({NURSE, COORDINATOR}),
    "/care-threads/": frozenset({COORDINATOR}),
}
# The pages that list citizens' data without naming one in their address: a
# role refused there is recorded all the same (R9), as on the API's lists.
PAGES_LISTING_CITIZENS = (
    "/nurse/visits/",
    "/nurse/shift/",
    "/physician/orders/",
    "/coordinator/",
    "/coordinator/live/",
    "/audit/",
)
# Every member of staff, whatever the role: the start page, help, the role
# switch and the session's keep-alive.
ANY_STAFF = ("/", "/help/", "/role/", "/session/")
NOT_PAGES = ("/api/", "/fhir", "/admin/", "/healthz", "/metrics", "/login/", "/logout/", "/i18n/")


def _page_routes() -> list[str]:
    found: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", prefix + str(pattern.pattern))
                if not route.startswith(NOT_PAGES) and "^" not in route:
                    found.append(route)

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


def _page_roles(route: str) -> frozenset[str] | None:
    shape = re.sub(r"\{\w+\}", "{id}", route)
    for prefix in sorted(PAGES, key=len, reverse=True):
        if shape.startswith(prefix):
            return PAGES[prefix]
    return EVERY_ROLE if route in ANY_STAFF else None


def _main(html: str) -> str:
    match = re.search(r"<main.*?</main>", html, re.S)
    assert match, html[:300]
    return match.group(0)


def test_every_page_is_in_the_table() -> None:
    assert [route for route in _page_routes() if _page_roles(route) is None] == []


def test_every_role_a_page_is_not_for_gets_the_not_available_page() -> None:
    """Not a 500, not the content: the page an unknown address shows."""
    world = _world()
    wrong = []
    for role, member in sorted(world.members.items()):
        client = Client()
        assert f.log_in(client, member).status_code == 302
        unknown = _main(client.get("/no-such-page/").content.decode())
        for route in _page_routes():
            roles = _page_roles(route)
            assert roles is not None
            if role in roles:
                continue
            url = re.sub(r"\{\w+\}", str(world.citizen_id), route)
            if "/visits/" in route:
                url = re.sub(r"\{\w+\}", str(world.ids["visit"]), route, count=1)
                url = re.sub(r"\{\w+\}", str(world.ids["result"]), url)
            before = newest()
            answer = client.get(url)
            tries = [("GET", answer)]
            if answer.status_code == 405:  # a form's address: what it is sent
                tries = [
                    ("POST", client.post(url, form))
                    for form in ({}, {"analysis": next(iter(ANALYSES))})
                ]
            for method, answer in tries:
                if (
                    answer.status_code not in (403, 404)
                    or _main(answer.content.decode()) != unknown
                ):
                    wrong.append(f"{role} {method} {url}: {answer.status_code}")
            if route in PAGES_LISTING_CITIZENS and not AuditEntry.objects.filter(
                pk__gt=before, outcome="denied", actor_user_id=member.user_id
            ):
                wrong.append(f"{role} GET {url}: refused, but not recorded")
    assert wrong == [], "\n".join(wrong)
