"""R9 across the platform: a walk over every route that can show a citizen's data.

One citizen is given one object of every kind that has an endpoint — referral,
visit, vital signs, lab results, procedure, delegation, physician orders, the
critical-result alert, a dose given from the bag, shared-record resources of
every category, a Consent, a hand-off in the outbox, a deadline warning and the
audit entries about her — each written through the platform's own API where it
has one, and every such write must leave an entry for her by its writer.

Then every GET route under ``/api/``, ``/fhir/`` and the pages is called, with
the ids of those objects (and hers) in its path parameters and her id in the
usual search parameters, by each role that has access (the nurse with the
visit, the coordinator, the responsible physician, the medicine officer, the
auditor) and by roles that are refused. An answer shows her data when it holds
one of her unique markers (name, address), her reference (``Patient/<id>``,
``"citizen": <id>``) or her internal id, set apart from every other number, bare
in a table cell or CSV column; every such answer must have added an entry for
her by that user during that request. A refusal of a request that reached her
object (not one of the role as a whole) must have been recorded as denied.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from django.db import connection, transaction
from django.db.models import Max
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from acute.clinical.models import LabResult, MedicationOrder, PhysicianAlert
from acute.models import DeadlineWarning, VitalSign
from consent.audit.models import AuditEntry
from core.models import Citizen, Membership, Role
from core.permissions import session_membership_set
from tests import factories as f
from tests.acute.clinical.conftest import PHONE_ORDER, Scene, visit_scene
from tests.acute.test_api import REFERRAL
from tests.consent import bodies

pytestmark = pytest.mark.django_db

CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
# A named group, with the literal prefix its values start with (``lab\-`` in
# ``(?P<resource_id>lab\-[^/]+)``) kept in the route as text: ``lab-<resource_id>``.
GROUP = re.compile(r"\(\?P<(\w+)>((?:[A-Za-z]+\\-)?)[^)]*\)")
MARKERS = ("Walpurgis", "Revisionsen", "Kontrolvej 917")
# Routes that never show a citizen: Django's admin (no citizen model is
# registered there), the language switch, log-in and log-out.
NOT_CITIZEN_DATA = ("admin/", "i18n/", "login/", "logout/", "healthz")
# Searches take the citizen in the query string, in the style of each area.
SEARCHES = {
    "fhir/": ("patient={id}", "patient=Patient/{id}", "subject=Patient/{id}"),
    "api/": ("citizen={id}", "patient={id}"),
    "": ("citizen={id}",),
}


def _route(pattern: URLPattern | URLResolver) -> str | None:
    route = getattr(pattern.pattern, "_route", None)
    if route is not None:
        return route
    regex = GROUP.sub(
        lambda m: m.group(2).replace("\\-", "-") + f"<{m.group(1)}>", pattern.pattern.regex.pattern
    )
    regex = regex.strip("^$").replace("\\$", "$")
    if any(c in regex for c in "*+[]()?|"):  # the catch-all "unknown" views
        return None
    return regex


def _walk(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        route = _route(pattern)
        if route is None:
            continue
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + route)
        else:
            yield prefix + route


def all_routes() -> list[str]:
    return sorted(
        {r for r in _walk(get_resolver().url_patterns) if not r.startswith(NOT_CITIZEN_DATA)}
    )


# --- the citizen and one object of every kind -----------------------------------


@dataclass
class Seeded:
    person: Citizen
    scene: Scene
    nurse: Membership  # on the visit: the care relationship (R1)
    coordinator: Membership
    physician: Membership  # the citizen's GP, responsible for the referral
    officer: Membership
    auditor: Membership
    refused: list[Membership]  # roles and people without access to her
    ids: dict[str, list[str]] = field(default_factory=dict)
    records: list[tuple[str, str]] = field(default_factory=list)  # (type, id)
    writes: list[str] = field(default_factory=list)

    def add(self, kind: str, *values: object) -> None:
        self.ids.setdefault(kind, []).extend(str(v) for v in values)


def _last_entry_id() -> int:
    return AuditEntry.objects.aggregate(last=Max("id"))["last"] or 0


def _entries_since(before: int, person: Citizen, member: Membership, **more: str) -> list[str]:
    return list(
        AuditEntry.objects.filter(
            id__gt=before, citizen_id=person.pk, actor_user_id=member.user_id, **more
        ).values_list("outcome", flat=True)
    )


def _entries_of(response: Any, person: Citizen, member: Membership) -> list[str]:
    """The outcomes of the entries about her by ``member`` that the request
    answered by ``response`` wrote (each entry keeps its request's id, which
    the answer carries in ``X-Request-ID``)."""
    request_id = response["X-Request-ID"]
    assert request_id, response
    return list(
        AuditEntry.objects.filter(
            request_id=request_id, citizen_id=person.pk, actor_user_id=member.user_id
        ).values_list("outcome", flat=True)
    )


def _writer(seeded: Seeded) -> Callable[..., dict[str, Any]]:
    """A write through the API that must succeed and leave a permitted entry for
    the citizen by its writer, in the same request."""

    def write(member: Membership, method: str, url: str, body: Any = None, **kw: Any) -> Any:
        before = _last_entry_id()
        client = f.client_for(member)
        if kw.pop("fhir", False):
            response = getattr(client, method)(url, data=json.dumps(body), content_type=bodies.FHIR)
        elif kw.pop("form", False):
            response = getattr(client, method)(url, body)
        else:
            response = getattr(client, method)(url, body, format="json")
        assert 200 <= response.status_code < 300, (url, response.status_code, response.content)
        assert "permitted" in _entries_since(before, seeded.person, member), (
            f"{member.role} {method.upper()} {url} wrote the citizen's data without an entry"
        )
        seeded.writes.append(f"{method.upper()} {url}")
        return response.json() if response.content else {}

    return write


# Her internal id, unlike any other number on a page, so that a bare id in a
# table cell or a CSV column is recognised as her too.
DISTINCT_ID = 730_917_000


def _distinct_citizen_ids() -> None:
    """Move the citizen ids on: citizens created from here get ids above
    ``DISTINCT_ID``, never one that exists."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('core_citizen', 'id'),"
                " GREATEST(%s, (SELECT COALESCE(MAX(id), 0) FROM core_citizen)))",
                [DISTINCT_ID],
            )
        elif connection.vendor == "sqlite":  # AUTOINCREMENT keeps its counter here
            cursor.execute(
                "UPDATE sqlite_sequence SET seq = MAX(seq, %s) WHERE name = 'core_citizen'",
                [DISTINCT_ID],
            )
            if cursor.rowcount == 0:
                cursor.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES ('core_citizen', %s)",
                    [DISTINCT_ID],
                )


def seed() -> Seeded:
    _distinct_citizen_ids()
    scene = visit_scene(on_site=False)
    person = scene.citizen
    Citizen.objects.filter(pk=person.pk).update(
        given_name=MARKERS[0], family_name=MARKERS[1], address_line=MARKERS[2]
    )
    person.refresh_from_db()
    acute = f.acute_function()
    seeded = Seeded(
        person=person,
        scene=scene,
        nurse=scene.nurse,
        coordinator=scene.coordinator,
        physician=scene.physician,
        officer=f.staff(Role.MEDICINE_OFFICER, acute),
        auditor=f.staff(Role.AUDITOR, acute),
        refused=[
            f.staff(Role.ACUTE_NURSE, acute),  # same function, no visit for her
            f.staff(Role.PHYSICIAN, f.gp_practice()),  # not her GP
            f.staff(Role.HOME_NURSE, f.home_nursing("159")),  # another municipality
            f.staff(Role.ANALYST, f.municipality("157")),
        ],
    )
    write = _writer(seeded)
    nurse, coordinator, physician = seeded.nurse, seeded.coordinator, seeded.physician
    visit = scene.visit
    seeded.add("citizen", person.pk)
    seeded.add("referral", scene.referral.pk)
    seeded.add("visit", visit.pk)
    seeded.add("episode", visit.episode_id)
    seeded.add("shift", visit.shift_id)

    # The nurse goes and documents (R7).
    for step in ("accept", "en-route", "on-site"):
        write(nurse, "post", f"/api/acute/visits/{visit.pk}/{step}")

    # A second referral typed in by the coordinator, and triage, once she is
    # at the door (one accepted before she came is reached with her arrival
    # and leaves the board).
    second = write(
        coordinator,
        "post",
        "/api/acute/referrals",
        {**REFERRAL, "source": "gp", "citizen_id": person.pk},
    )
    write(coordinator, "post", f"/api/acute/referrals/{second['id']}/accept")
    seeded.add("referral", second["id"])
    warning = DeadlineWarning.objects.create(
        referral_id=second["id"], kind=DeadlineWarning.Kind.AT_RISK
    )
    seeded.add("warning", warning.pk)
    write(
        nurse,
        "post",
        f"/api/acute/visits/{visit.pk}/vital-signs",
        {"measurements": [{"code": "8867-4", "value": "96"}, {"code": "8310-5", "value": "38.9"}]},
    )
    seeded.add("vital", *VitalSign.objects.filter(visit=visit).values_list("pk", flat=True))
    write(
        nurse, "post", f"/api/acute/visits/{visit.pk}/notes", {"kind": "assessment", "text": "UVI"}
    )
    write(
        nurse,
        "post",
        f"/api/clinical/visits/{visit.pk}/results",
        {
            "results": [
                {"code": "NPU19748", "value": "150", "unit": "mg/L"},
                {"code": "NPU03230", "value": "6.9", "unit": "mmol/L"},  # critical
            ]
        },
    )
    seeded.add("lab", *LabResult.objects.filter(visit=visit).values_list("pk", flat=True))
    seeded.add("alert", *PhysicianAlert.objects.values_list("pk", flat=True))
    procedure = write(
        nurse, "post", f"/api/clinical/visits/{visit.pk}/procedures", {"code": "urinary-catheter"}
    )
    seeded.add("procedure", procedure["id"])
    delegation = write(
        nurse,
        "post",
        f"/api/clinical/visits/{visit.pk}/delegations",
        {
            "code": "NPU02319",
            "physician_name": "Hanne Hansen",
            "physician_authorisation_id": "0A1B2",
            "physician_organisation_name": "Lægehuset",
        },
    )
    seeded.add("delegation", delegation["id"])

    # A physician's phone order for paracetamol, given from the nurse's bag (R8).
    from medicine_cabinet import services as cabinet
    from tests.medicine_cabinet.conftest import actor, receive

    paracetamol = cabinet.medicine_upsert(
        atc_code="N02BE01",
        name="Paracetamol",
        strength="500 mg",
        form="tablet",
        unit="tablet",
        package_size=Decimal("20"),
        dispensing="otc",
        dependence_forming=False,
        minimum_stock=Decimal("0"),
    )
    cupboard = cabinet.cabinet_create(organisation=acute, name="Skab revision")
    bag = cabinet.bag_for_nurse(organisation=acute, nurse=nurse.user)
    lot = receive(seeded.officer, cupboard, paracetamol, "20", batch="REV1")
    cabinet.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=cupboard,
        destination=bag,
        quantity=Decimal("4"),
        unit="tablet",
    )
    seeded.add("medicine", paracetamol.pk)
    seeded.add("location", bag.pk, cupboard.pk)
    seeded.add("lot", lot.pk)
    order = write(
        nurse,
        "post",
        f"/api/clinical/visits/{visit.pk}/phone-orders",
        {
            **PHONE_ORDER,
            "medicine_atc": "N02BE01",
            "medicine_name": "Paracetamol 500 mg tablet",
            "dose": "1",
            "dose_unit": "g",
            "indication": "Feber",
            # Given now: an order's days run from when it was given (R8).
            "ordered_at": timezone.now().isoformat(),
        },
    )
    seeded.add("order", order["id"])
    # A second phone order the physician has not confirmed in time: overdue.
    late = write(nurse, "post", f"/api/clinical/visits/{visit.pk}/phone-orders", PHONE_ORDER)
    MedicationOrder.objects.filter(pk=late["id"]).update(
        confirm_by=timezone.now() - dt.timedelta(hours=1)
    )
    seeded.add("order", late["id"])
    given = write(
        nurse,
        "post",
        "/api/cabinet/administrations",
        {
            "visit": visit.pk,
            "order": order["id"],
            "medicine": paracetamol.pk,
            "quantity": "2",
            "unit": "tablet",
        },
    )
    seeded.add("administration", given["id"])
    write(physician, "post", f"/api/clinical/orders/{order['id']}/confirm")
    write(physician, "post", f"/api/clinical/orders/{order['id']}/prescription-sent")

    # The shared record: one resource of every permitted category (R2), one
    # update, and a refusal that leaves treatment open (R4).
    for body in (
        bodies.diagnosis(person.pk),
        bodies.nursing_problem(person.pk),
        bodies.municipal_help(person.pk, org_id=person.municipality_id),
        bodies.care_plan(person.pk),
        bodies.hospital_contact(person.pk, f.hospital_department().pk),
    ):
        created = write(nurse, "post", f"/fhir/{body['resourceType']}", body, fhir=True)
        seeded.records.append((created["resourceType"], created["id"]))
        seeded.add("record", created["id"])
    kind, record_id = seeded.records[1]
    write(
        nurse,
        "put",
        f"/fhir/{kind}/{record_id}",
        {
            **bodies.nursing_problem(person.pk, text="Risiko for fald"),
            "id": record_id,
            "meta": {**bodies.tag("nursing-problem"), "versionId": "1"},
        },
        fhir=True,
    )
    consent = write(
        nurse, "post", "/fhir/Consent", bodies.refusal(person.pk, purposes=["HOPERAT"]), fhir=True
    )
    seeded.add("consent", consent["id"])

    # A hand-off about her waiting in the outbox, resent by the coordinator.
    from core.fhir.patient import patient_resource
    from integrations.messages import Event, message_bundle
    from integrations.models import OutboundMessage, Partner
    from integrations.outbox import outbox_enqueue

    partner = f.integration_partner(
        Partner.Kind.GP, scene.gp, endpoint_url="http://127.0.0.1:8849/inbox"
    )
    bundle = message_bundle(
        event=Event.CARE_COMMUNICATION,
        sender=acute,
        receiver=partner.organisation,
        receiver_endpoint=partner.endpoint_url,
        focus=[{"resourceType": "Communication", "id": "c", "status": "completed"}],
        supporting=[patient_resource(person)],
    )
    with transaction.atomic():
        message = outbox_enqueue(
            partner=partner, event=Event.CARE_COMMUNICATION, bundle=bundle, citizen=person
        )
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=OutboundMessage.Status.FAILED, last_error_code="http.503"
    )
    seeded.add("outbox", message.pk)
    write(coordinator, "post", f"/api/integrations/outbox/{message.pk}/resend")
    # Finding her by CPR number: the number travels in the body, never the URL.
    found = write(
        coordinator,
        "post",
        "/fhir/Patient/_search",
        {"identifier": f"urn:oid:1.2.208.176.1.2|{person.cpr}"},
        form=True,
    )
    assert found["total"] == 1, found

    # Audit entries about her, permitted and denied, for the auditor's routes.
    f.client_for(seeded.refused[0]).get(f"/fhir/Patient/{person.pk}")
    mine = AuditEntry.objects.filter(citizen_id=person.pk)
    seeded.add("entry", mine.filter(outcome="permitted").latest("id").pk)
    seeded.add("entry", mine.filter(outcome="denied").latest("id").pk)
    return seeded


# --- which ids go into which path parameter --------------------------------------

# A parameter named after what it holds, or an ``<pk>`` after the segment that
# names it. A parameter not listed gets every seeded id.
BY_PARAMETER = {
    "citizen_id": "citizen",
    "visit_id": "visit",
    "referral_id": "referral",
    "order_id": "order",
    "alert_id": "alert",
    "entry_id": "entry",
    "location_id": "location",
    "lot_id": "lot",
    "medicine_id": "medicine",
    "consent_id": "consent",
    "administration_id": "administration",
}
BY_SEGMENT = {
    "referrals/": "referral",
    "referral-": "referral",
    "visits/": "visit",
    "visit-": "visit",
    "episodes/": "episode",
    "shifts/": "shift",
    "warnings/": "warning",
    "outbox/": "outbox",
    "vital-": "vital",
    "lab-": "lab",
    "Procedure/": "procedure",
    "MedicationRequest/": "order",
    # The FHIR base names every id ``resource_id``: the type before it says what it is.
    "Patient/": "citizen",
    "AuditEvent/": "entry",
    "Consent/": "consent",
    "MedicationAdministration/": "administration",
    "Condition/": "record",
    "EpisodeOfCare/": "record",
    "CarePlan/": "record",
    "Encounter/": "record",
}
# Stock counts and notifications hold no citizen data: nothing of hers to try.
NO_CITIZEN_OBJECTS = {"count_id", "line_id", "notification_id"}


def _kind(route: str, name: str, start: int) -> str | None:
    """Which seeded kind fits a parameter: ``None`` for every seeded id."""
    if name in BY_PARAMETER:
        return BY_PARAMETER[name]
    before = route[:start]
    return next((kind for seg, kind in BY_SEGMENT.items() if before.endswith(seg)), None)


def urls_for(route: str, seeded: Seeded) -> list[tuple[str, frozenset[str]]]:
    """The route with each combination of fitting seeded ids, with the kinds put
    in; a route without parameters bare and with her id in each search parameter."""
    params = list(CONVERTER.finditer(route))
    if not params:
        base = "/" + route
        area = next(a for a in SEARCHES if route.startswith(a))
        queries = [f"{base}?{q.format(id=seeded.person.pk)}" for q in SEARCHES[area]]
        return [(url, frozenset({"search"})) for url in [base, *queries]]
    names = [m.group(2) for m in params]
    if any(n in NO_CITIZEN_OBJECTS for n in names):
        return []
    combos: list[tuple[list[str], frozenset[str]]] = []
    if "resource_type" in names:  # the shared record's generic FHIR routes
        for resource_type, record_id in seeded.records:
            given = {"resource_type": resource_type, "resource_id": record_id, "vid": "1"}
            combos.append(([given[n] for n in names], frozenset({"record"})))
    else:
        options = []
        for m in params:
            fits = _kind(route, m.group(2), m.start())
            if fits is None:
                options.append([(v, k) for k, vs in seeded.ids.items() for v in vs])
            else:
                options.append([(v, fits) for v in seeded.ids[fits]])
        for combo in itertools.product(*options):
            combos.append(([v for v, _ in combo], frozenset(k for _, k in combo)))
    urls = [("/" + _fill(route, values), kinds) for values, kinds in combos]
    return list(dict.fromkeys(urls))


def _fill(route: str, values: list[str]) -> str:
    it = iter(values)
    return CONVERTER.sub(lambda _m: next(it), route)


def probe_for(route: str) -> str:
    """The route naming objects that do not exist: refused there too means the
    role itself is refused, before any object is looked at."""
    return "/" + CONVERTER.sub(
        lambda m: "Condition" if m.group(2) == "resource_type" else "999999999", route
    )


# --- what counts as showing her data -------------------------------------------------


def shows_citizen(response: Any, url: str, person: Citizen) -> bool:
    """Her markers or her reference in the answer (not merely the request's
    own query string echoed back, as pages do in their links)."""
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    body = raw.decode("utf-8", errors="replace")
    for name, value in parse_qsl(urlsplit(url).query):
        for form in {value, quote(value, safe=""), quote(value), html.escape(value)}:
            body = body.replace(f"{name}={form}", "")
    if response.get("Content-Type", "").startswith("text/csv"):
        rows = list(csv.DictReader(io.StringIO(body)))
        columns = [c for c in (rows[0] if rows else {}) if "citizen" in c]
        if any(row[c] == str(person.pk) for row in rows for c in columns):
            return True
    if any(marker in body for marker in MARKERS):
        return True
    pk = person.pk
    if pk > DISTINCT_ID and re.search(rf"(?<![\d.]){pk}(?!\d)", body):
        return True
    return bool(
        re.search(rf"Patient/{pk}(?!\d)", body)
        or re.search(rf'"(?:citizen|citizen_id)":\s*{pk}(?!\d)', body)
        or re.search(rf'"citizen":\s*\{{"id":\s*{pk}(?!\d)', body)
    )


def _page_client(member: Membership) -> Client:
    client = Client()
    client.force_login(member.user)
    session = client.session
    session_membership_set(session, member)
    session.save()
    return client


def _clients(member: Membership) -> tuple[Any, Client]:
    return f.client_for(member), _page_client(member)


@dataclass
class Walk:
    seeded: Seeded
    not_get: set[str] = field(default_factory=set)
    reached: dict[str, set[str]] = field(default_factory=dict)  # route -> roles shown her
    kinds_reached: set[str] = field(default_factory=set)
    shown: dict[str, str] = field(default_factory=dict)  # url -> route
    unrecorded: list[str] = field(default_factory=list)
    undenied: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    # One API client and one signed-in browser a member, for all her routes.
    clients: dict[int, tuple[Any, Client]] = field(default_factory=dict)

    def clients_of(self, member: Membership) -> tuple[Any, Client]:
        if member.pk not in self.clients:
            self.clients[member.pk] = _clients(member)
        return self.clients[member.pk]

    def get(self, member: Membership, clients: tuple[Any, Client], url: str) -> Any:
        client = clients[0] if url.startswith(("/api/", "/fhir/")) else clients[1]
        self.requests += 1
        try:
            return client.get(url)
        except Exception as error:  # noqa: BLE001 - a 500 is reported with its route
            self.errors.append(f"{member.role} GET {url}: {error!r}")
            return None

    def visit(self, member: Membership, route: str) -> None:
        """Every fitting URL of one route, as one member with access."""
        person = self.seeded.person
        clients = self.clients_of(member)
        for url, kinds in urls_for(route, self.seeded):
            response = self.get(member, clients, url)
            if response is None:
                continue
            if response.status_code == 405:
                self.not_get.add(route)
                return
            if response.status_code == 403 and "search" in kinds:
                return  # a list this role may not use at all
            if not 200 <= response.status_code < 300:
                continue
            if not shows_citizen(response, url, person):
                continue
            self.reached.setdefault(route, set()).add(member.role)
            self.kinds_reached |= kinds
            self.shown[url] = route
            if "permitted" not in _entries_of(response, person, member):
                self.unrecorded.append(f"{member.role} GET {url}")

    def refuse(self, member: Membership) -> None:
        """Every URL that showed her, as a member who should not see her: she is
        either not shown, or shown and recorded; a refusal of her object (not of
        the role as a whole) is recorded as denied."""
        person = self.seeded.person
        clients = self.clients_of(member)
        role_refused: dict[str, bool] = {}
        for url, route in sorted(self.shown.items()):
            response = self.get(member, clients, url)
            if response is None:
                continue
            if 200 <= response.status_code < 300:
                if shows_citizen(response, url, person) and "permitted" not in _entries_of(
                    response, person, member
                ):
                    self.unrecorded.append(f"{member.role} (outsider) GET {url}")
                continue
            if response.status_code not in (403, 404) or not CONVERTER.search(route):
                continue  # a list refused to the role, or a search with her left out
            if route not in role_refused:
                probe = self.get(member, clients, probe_for(route))
                role_refused[route] = probe is not None and probe.status_code == 403
            if role_refused[route]:
                continue
            if "denied" not in _entries_of(response, person, member):
                self.undenied.append(f"{member.role} GET {url} -> {response.status_code}")


# Kinds of objects whose own routes must show her, or the walk proves nothing.
MUST_REACH = {
    "search",
    "citizen",
    "referral",
    "visit",
    "vital",
    "lab",
    "procedure",
    "order",
    "administration",
    "record",
    "consent",
    "outbox",
    "entry",
}


# Lists and pages of each role that must show her, or the seeding has gone stale.
MUST_SHOW = {
    "api/acute/referrals",
    "api/acute/visits",
    "api/clinical/alerts",
    "api/clinical/board/alerts",
    "api/clinical/orders/mine",
    "api/clinical/orders/overdue",
    "api/integrations/outbox",
    "api/audit/entries",
    "api/audit/export",
    "fhir/AuditEvent",
    "fhir/Patient/<citizen_id>/$everything",
    "fhir/Patient/<citizen_id>/$insight",
    "nurse/visits/",
    "nurse/visits/<id:visit_id>/",
    "coordinator/",
    "coordinator/referrals/<id:referral_id>/",
    "physician/orders/",
    "audit/",
    "audit/entries/<id:entry_id>",
    "audit/export.csv",
    "consent/insight/<id:citizen_id>/",
}


def test_every_answer_showing_a_citizen_was_recorded() -> None:
    seeded = seed()
    walk = Walk(seeded)
    routes = all_routes()
    allowed = [seeded.nurse, seeded.coordinator, seeded.physician, seeded.officer, seeded.auditor]
    for member in allowed:
        for route in routes:
            if route not in walk.not_get:
                walk.visit(member, route)
    for member in seeded.refused:
        walk.refuse(member)

    assert not walk.errors, "routes that failed:\n" + "\n".join(walk.errors)
    assert not walk.unrecorded, "citizen data served without an audit entry:\n" + "\n".join(
        walk.unrecorded
    )
    assert not walk.undenied, "refusals of her data not recorded as denied:\n" + "\n".join(
        walk.undenied
    )
    assert walk.kinds_reached >= MUST_REACH, MUST_REACH - walk.kinds_reached
    assert set(walk.reached) >= MUST_SHOW, MUST_SHOW - set(walk.reached)
    assert len(seeded.writes) >= 20, seeded.writes
