"""No write route answers a 5xx, whatever it is sent.

Every route that takes a POST, PUT, PATCH or DELETE is found from the URL
resolver: API and FHIR views by the methods their class declares, pages by
asking each one (a page that does not refuse a POST with 405 takes one). Each
must have an entry in ``WRITES`` below — a valid body and the persona allowed
to send it — or the inventory test fails, so a new route is covered the day it
is added.

For each route, hypothesis mutates the valid body: one to three elements
anywhere in it (the whole body included) are replaced by hostile values —
decimals of every wrong size, NaN, ``-0``, NUL, lone surrogates, nesting
deeper than any route takes, the wrong JSON type, CPR-shaped text, very long
text, unusual Unicode, FHIR elements of the wrong shape — or dropped, or joined
by unknown ones. The request carries a real token (or session) of a persona
the route admits, so it reaches the service layer. Every answer is below 500,
and every refusal says why in a form a program reads: the error envelope on
``/api/``, an OperationOutcome on ``/fhir/``, a ``data-code`` on a page.

Each request runs in a savepoint rolled back after it, so every example starts
from the same scene. The run is derandomised (``tests/conftest.py`` registers
the ``write-routes`` profile): the same examples on every machine.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from acute.deadlines import shift_kind_for
from core.fhir.patient import patient_resource
from core.models import Membership, Role
from core.permissions import session_membership_set
from integrations.models import CareMessage, CareThread, InboundMessage, Partner
from integrations.simulators import helpline_referral
from integrations.transport import signed_headers
from tests import factories as f
from tests.acute.clinical.conftest import PHONE_ORDER
from tests.acute.test_api import REFERRAL
from tests.consent import bodies
from tests.consent.audit.test_every_endpoint_audits import Seeded, seed

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

WRITE_METHODS = ("post", "put", "patch", "delete")


# --- the routes --------------------------------------------------------------------


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if prefix + str(pattern.pattern) == "admin/":
                continue  # Django's own admin, not the platform's
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def _view_class(callback: Any) -> type | None:
    return getattr(callback, "cls", None) or getattr(callback, "view_class", None)


def class_view_writes() -> set[tuple[str, str]]:
    """(METHOD, route) for every method an API or FHIR view class declares."""
    found = set()
    for route, callback in _walk(get_resolver().url_patterns):
        cls = _view_class(callback)
        if cls is not None:
            found |= {(m.upper(), route) for m in WRITE_METHODS if hasattr(cls, m)}
    return found


def page_routes() -> list[tuple[str, Any]]:
    return [(r, cb) for r, cb in _walk(get_resolver().url_patterns) if _view_class(cb) is None]


# --- values no route should choke on ----------------------------------------------

DECIMAL_TEXT = [
    "1" + "0" * 30,
    "9" * 40,
    "1e400",
    "-1e400",
    "1e-400",
    "NaN",
    "-NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "-0",
    "-0.000",
    "-1",
    "0.0000001",
    "1.23456789",
    "0x1F",
    "1_000",
    "1,5",
    "١٢٣",  # Arabic-Indic digits
    "\uff19",  # a full-width digit
]
NUMBERS: list[Any] = [10**30, int("9" * 40), -1, 0, -0.0, 0.1, 1e308, 2**63, -(2**63) - 1]
TEXT = [
    "a\x00b",
    "\x00",
    "\ud800",
    "x\udfffy",
    "0103411234",
    "010341-1234",
    "x" * 20_000,
    "\u202eevil",
    "e\u0301\u0301\u0301",
    "\U0001d518\U0001d52b\U0001d526 \U0001f469\u200d\u2695\ufe0f",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "",
    " ",
    "2026-02-30",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+14:00",
    "Patient/999999999999999999999",
]
SHAPES: list[Any] = [
    None,
    True,
    False,
    [],
    {},
    [None],
    [1, "a"],
    {"a": None},
    {"resourceType": "NoSuchThing"},
    {"resourceType": "Patient"},
    [{"resourceType": "Condition"}],
    "x",
]


def _deep(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


json_scalars = st.one_of(
    st.sampled_from(DECIMAL_TEXT + NUMBERS + TEXT),
    st.text(max_size=40),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)
json_values = st.one_of(
    json_scalars,
    st.sampled_from(SHAPES),
    st.builds(_deep, st.sampled_from([30, 70, 500])),
    st.recursive(
        json_scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=6,
    ),
)
form_values = st.one_of(
    st.sampled_from([str(v) for v in DECIMAL_TEXT + NUMBERS + TEXT]),
    st.text(max_size=40),
    st.integers().map(str),
)


def _paths(value: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield here
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*here, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*here, index))


def _container(body: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        body = body[part]
    return body


def mutate(draw: Callable[..., Any], template: Any, *, form: bool) -> Any:
    body = json.loads(json.dumps(template))  # a fresh copy
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(body))
        if form:  # a form is flat: its keys
            paths = [p for p in paths if len(p) == 1]
        path = draw(st.sampled_from(paths)) if paths else ()
        action = draw(st.sampled_from(["replace", "replace", "replace", "drop", "add"]))
        # A copy: a later mutation must not change the shared sample values.
        value = copy.deepcopy(draw(form_values if form else json_values))
        if not path:
            if form:
                continue
            body = value
            continue
        parent = _container(body, path)
        if action == "drop":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = value
        else:
            parent[path[-1]] = value
    return body


# --- the inventory: one valid request per write route ------------------------------


@dataclass
class Scene:
    seeded: Seeded
    ids: dict[str, Any] = field(default_factory=dict)
    members: dict[str, Membership] = field(default_factory=dict)
    partner: Partner | None = None


@dataclass(frozen=True)
class Write:
    """A valid request to one route: who sends it, to which URL, with what."""

    persona: str  # a key of Scene.members
    url: str  # formatted with Scene.ids
    body: Callable[[Scene], Any]
    kind: str = "json"  # json | fhir | form | signed


def _ids(scene: Scene) -> dict[str, Any]:
    return scene.ids


WRITES: dict[tuple[str, str], Write] = {
    # --- core
    ("POST", "api/auth/token"): Write(
        "anonymous", "/api/auth/token", lambda s: {"username": "nobody", "password": "x"}
    ),
    ("POST", "api/auth/logout"): Write("nurse", "/api/auth/logout", lambda s: {}),
    ("POST", "api/auth/oauth/token"): Write(
        "anonymous",
        "/api/auth/oauth/token",
        lambda s: {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
        kind="form",
    ),
    ("POST", "api/auth/oauth/revoke"): Write(
        "anonymous",
        "/api/auth/oauth/revoke",
        lambda s: {"token": "x", "client_id": "nobody", "client_secret": "x"},
        kind="form",
    ),
    ("POST", "api/^.*$"): Write("nurse", "/api/no/such/route", lambda s: {"a": 1}),
    # A witness's delivery: open to anyone, kept only when it verifies.
    ("POST", "api/audit/log/cosignatures"): Write(
        "anonymous",
        "/api/audit/log/cosignatures",
        lambda s: {
            "witness": "witness.local/w1",
            "checkpoint": "tvaerakut.local/audit/2026\n1\n" + "A" * 43 + "=\n",
            "cosignature": "\u2014 witness.local/w1 AAAA\n",
        },
    ),
    ("PUT", "api/^.*$"): Write("nurse", "/api/no/such/route", lambda s: {"a": 1}),
    ("PATCH", "api/^.*$"): Write("nurse", "/api/no/such/route", lambda s: {"a": 1}),
    ("DELETE", "api/^.*$"): Write("nurse", "/api/no/such/route", lambda s: {"a": 1}),
    # --- consent and audit
    ("POST", "api/consent/break-glass"): Write(
        "outsider",
        "/api/consent/break-glass",
        lambda s: {"citizen_id": s.ids["citizen"], "reason": "Bevidstløs", "basis": "vital"},
    ),
    # An analysis is run by a POST of its question (R6): it spends the budget.
    ("POST", "api/consent/^analyses/(?P<name>[a-z0-9-]+)$"): Write(
        "analyst",
        "/api/consent/analyses/diagnosis-and-service",
        lambda s: {"diagnosis": "E11", "service": "home-nursing"},
    ),
    ("POST", "api/audit/entries/<id:entry_id>/review"): Write(
        "auditor", "/api/audit/entries/{entry}/review", lambda s: {"comment": "Set"}
    ),
    # --- acute
    ("POST", "api/acute/referrals"): Write(
        "coordinator",
        "/api/acute/referrals",
        lambda s: {
            **REFERRAL,
            "source": "gp",
            "citizen_id": s.ids["citizen"],
            "requested_start": (timezone.now() + dt.timedelta(days=1)).isoformat(),
            "requested_end": (timezone.now() + dt.timedelta(days=1, hours=3)).isoformat(),
        },
    ),
    ("POST", "api/acute/referrals/<id:pk>/accept"): Write(
        "coordinator", "/api/acute/referrals/{referral2}/accept", lambda s: {}
    ),
    ("POST", "api/acute/referrals/<id:pk>/decline"): Write(
        "coordinator", "/api/acute/referrals/{referral2}/decline", lambda s: {"reason": "Nej"}
    ),
    ("POST", "api/acute/referrals/<id:pk>/assign"): Write(
        "coordinator",
        "/api/acute/referrals/{referral2}/assign",
        lambda s: {"shift": s.ids["shift"], "hold_override_reason": "Haster"},
    ),
    ("POST", "api/acute/referrals/<id:pk>/urgency"): Write(
        "coordinator",
        "/api/acute/referrals/{referral2}/urgency",
        lambda s: {"urgency": "next_day", "reason": "Ringet op, hun har det bedre"},
    ),
    ("POST", "api/acute/referrals/<id:pk>/withdraw"): Write(
        "coordinator",
        "/api/acute/referrals/{referral2}/withdraw",
        lambda s: {"reason": "called_off", "note": "Lægen ringede"},
    ),
    ("POST", "api/clinical/results/<id:result_id>/withdraw"): Write(
        "nurse", "/api/clinical/results/{lab}/withdraw", lambda s: {"reason": "Forkert glas"}
    ),
    ("POST", "api/clinical/results/<id:result_id>/correct"): Write(
        "nurse",
        "/api/clinical/results/{lab}/correct",
        lambda s: {"reason": "Tastefejl", "value": "15", "unit": "mg/L"},
    ),
    **{
        ("POST", f"api/acute/visits/<id:pk>/{step}"): Write(
            "nurse", f"/api/acute/visits/{{visit}}/{step}", lambda s: {"reason": "Travlt"}
        )
        for step in ("accept", "decline", "en-route", "on-site")
    },
    ("POST", "api/acute/visits/<id:pk>/withdraw"): Write(
        "coordinator", "/api/acute/visits/{visit}/withdraw", lambda s: {"reason": "Fejl"}
    ),
    ("POST", "api/acute/visits/<id:pk>/complete"): Write(
        "nurse",
        "/api/acute/visits/{visit}/complete",
        lambda s: {"outcome": "treated_at_home", "assessment": "UVI", "close_episode": True},
    ),
    ("POST", "api/acute/visits/<id:pk>/notes"): Write(
        "nurse", "/api/acute/visits/{visit}/notes", lambda s: {"kind": "note", "text": "Rolig"}
    ),
    ("POST", "api/acute/visits/<id:pk>/vital-signs"): Write(
        "nurse",
        "/api/acute/visits/{visit}/vital-signs",
        lambda s: {
            "measurements": [{"code": "8867-4", "value": "96"}, {"code": "8310-5", "value": 38.9}],
            "measured_at": timezone.now().isoformat(),
        },
    ),
    ("POST", "api/acute/episodes/<id:pk>/follow-ups"): Write(
        "coordinator",
        "/api/acute/episodes/{episode}/follow-ups",
        lambda s: {"shift": s.ids["shift"], "planned_for": "2030-01-01T10:00:00+01:00"},
    ),
    ("POST", "api/acute/episodes/<id:pk>/complete"): Write(
        "coordinator",
        "/api/acute/episodes/{episode}/complete",
        lambda s: {"outcome": "treated_at_home", "note": "Ok"},
    ),
    ("POST", "api/acute/shifts"): Write(
        "coordinator",
        "/api/acute/shifts",
        lambda s: {
            "nurse": s.members["nurse"].user_id,
            "kind": shift_kind_for(
                timezone.now() + dt.timedelta(days=30),
                timezone.now() + dt.timedelta(days=30, hours=8),
            ),
            "starts_at": (timezone.now() + dt.timedelta(days=30)).isoformat(),
            "ends_at": (timezone.now() + dt.timedelta(days=30, hours=8)).isoformat(),
            "skills": ["catheter"],
            "max_load": 3,
            "base_name": "Base",
            "base_latitude": 55.75,
            "base_longitude": 12.54,
        },
    ),
    ("POST", "api/acute/shifts/<id:pk>/status"): Write(
        "nurse", "/api/acute/shifts/{shift}/status", lambda s: {"status": "available"}
    ),
    ("POST", "api/acute/shifts/<id:pk>/position"): Write(
        "nurse",
        "/api/acute/shifts/{shift}/position",
        lambda s: {"latitude": 55.74, "longitude": 12.53},
    ),
    ("POST", "api/acute/warnings/<id:pk>/acknowledge"): Write(
        "coordinator", "/api/acute/warnings/{warning}/acknowledge", lambda s: {}
    ),
    # --- clinical
    ("POST", "api/clinical/visits/<id:visit_id>/results"): Write(
        "nurse",
        "/api/clinical/visits/{visit}/results",
        lambda s: {"results": [{"code": "NPU19748", "value": "150", "unit": "mg/L"}]},
    ),
    ("POST", "api/clinical/visits/<id:visit_id>/procedures"): Write(
        "nurse",
        "/api/clinical/visits/{visit}/procedures",
        lambda s: {"code": "urinary-catheter", "status": "completed", "note": "Ok"},
    ),
    ("POST", "api/clinical/visits/<id:visit_id>/delegations"): Write(
        "nurse",
        "/api/clinical/visits/{visit}/delegations",
        lambda s: {
            "code": "NPU02319",
            "physician_name": "Hanne Hansen",
            "physician_authorisation_id": "0A1B2",
            "physician_organisation_name": "Lægehuset",
        },
    ),
    ("POST", "api/clinical/visits/<id:visit_id>/phone-orders"): Write(
        "nurse",
        "/api/clinical/visits/{visit}/phone-orders",
        lambda s: {**PHONE_ORDER, "total_quantity": "3600", "doses_per_day": 3},
    ),
    ("POST", "api/clinical/visits/<id:visit_id>/written-orders"): Write(
        "physician",
        "/api/clinical/visits/{visit}/written-orders",
        lambda s: {k: v for k, v in PHONE_ORDER.items() if not k.startswith(("ordered_", "read_"))},
    ),
    ("POST", "api/clinical/orders/<id:order_id>/confirm"): Write(
        "physician", "/api/clinical/orders/{late_order}/confirm", lambda s: {}
    ),
    ("POST", "api/clinical/orders/<id:order_id>/prescription-sent"): Write(
        "physician", "/api/clinical/orders/{order}/prescription-sent", lambda s: {}
    ),
    ("POST", "api/clinical/orders/<id:order_id>/cancel"): Write(
        "physician", "/api/clinical/orders/{late_order}/cancel", lambda s: {"reason": "Fejl"}
    ),
    ("POST", "api/clinical/orders/<id:order_id>/received"): Write(
        "coordinator",
        "/api/clinical/orders/{order}/received",
        lambda s: {"confirmation": True, "seen_by": "fmk", "note": "Set i FMK"},
    ),
    ("POST", "api/clinical/orders/<id:order_id>/withdrawal-phoned"): Write(
        "coordinator",
        "/api/clinical/orders/{order}/withdrawal-phoned",
        lambda s: {"phoned_by": "Hanne Hansen", "reason": "Lægen ringede: fejl"},
    ),
    ("POST", "api/clinical/alerts/<id:alert_id>/acknowledge"): Write(
        "physician", "/api/clinical/alerts/{alert}/acknowledge", lambda s: {}
    ),
    # --- the medicine cabinet
    ("POST", "api/cabinet/medicines"): Write(
        "officer",
        "/api/cabinet/medicines",
        lambda s: f.medicine_body(minimum_stock="10", amount_per_unit="500", amount_unit="mg"),
    ),
    ("POST", "api/cabinet/cabinets"): Write(
        "officer", "/api/cabinet/cabinets", lambda s: {"name": "Skab 2", "count_interval_days": 7}
    ),
    ("POST", "api/cabinet/receipts"): Write(
        "officer",
        "/api/cabinet/receipts",
        lambda s: {
            "cabinet": s.ids["cupboard"],
            "medicine": s.ids["medicine"],
            "batch_number": "B1",
            "expires_on": "2031-01-01",
            "quantity": "20",
            "unit": "tablet",
            "supplier": "Apotek",
            "delivery_reference": "F-1",
        },
    ),
    ("POST", "api/cabinet/transfers"): Write(
        "nurse",
        "/api/cabinet/transfers",
        lambda s: {
            "lot": s.ids["lot"],
            "from_location": s.ids["cupboard"],
            "to_location": s.ids["bag"],
            "quantity": "1",
            "unit": "tablet",
        },
    ),
    ("POST", "api/cabinet/waste"): Write(
        "officer",
        "/api/cabinet/waste",
        lambda s: {
            "location": s.ids["cupboard"],
            "lot": s.ids["lot"],
            "quantity": "1",
            "unit": "tablet",
            "reason_code": "damaged",
            "note": "Knust",
        },
    ),
    ("POST", "api/cabinet/removals"): Write(
        "officer",
        "/api/cabinet/removals",
        lambda s: {"location": s.ids["cupboard"], "lot": s.ids["lot"], "why": "recalled"},
    ),
    ("POST", "api/cabinet/lots/<id:lot_id>/recall"): Write(
        "officer", "/api/cabinet/lots/{lot}/recall", lambda s: {"reason": "Tilbagekaldt"}
    ),
    ("POST", "api/cabinet/counts"): Write(
        "officer", "/api/cabinet/counts", lambda s: {"location": s.ids["cupboard"]}
    ),
    ("POST", "api/cabinet/counts/<id:count_id>/lines"): Write(
        "officer",
        "/api/cabinet/counts/{count}/lines",
        lambda s: {"lot": s.ids["lot"], "quantity": "15"},
    ),
    ("POST", "api/cabinet/counts/<id:count_id>/lines/<id:line_id>/recount"): Write(
        "officer",
        "/api/cabinet/counts/{count}/lines/{line}/recount",
        lambda s: {"quantity": "16", "reason_code": "", "note": "Talt igen"},
    ),
    ("POST", "api/cabinet/counts/<id:count_id>/submit"): Write(
        "officer", "/api/cabinet/counts/{count}/submit", lambda s: {}
    ),
    ("POST", "api/cabinet/counts/<id:count_id>/approve"): Write(
        "officer", "/api/cabinet/counts/{count}/approve", lambda s: {"note": "Godkendt"}
    ),
    ("POST", "api/cabinet/notifications/<id:notification_id>/acknowledge"): Write(
        "officer", "/api/cabinet/notifications/{notification}/acknowledge", lambda s: {}
    ),
    ("POST", "api/cabinet/administrations"): Write(
        "nurse",
        "/api/cabinet/administrations",
        lambda s: {
            "visit": s.ids["visit"],
            "order": s.ids["order"],
            "medicine": s.ids["medicine"],
            "quantity": "1",
            "unit": "tablet",
            "confirmed_dose": "500",
        },
    ),
    # --- hand-offs
    ("POST", "api/integrations/outbox/<id:pk>/resend"): Write(
        "coordinator", "/api/integrations/outbox/{outbox}/resend", lambda s: {}
    ),
    ("POST", "api/integrations/outbox/<id:pk>/handled"): Write(
        "coordinator", "/api/integrations/outbox/{outbox}/handled", lambda s: {}
    ),
    ("POST", "api/integrations/inbox/refused/<id:pk>/noted"): Write(
        "coordinator", "/api/integrations/inbox/refused/{refused}/noted", lambda s: {}
    ),
    ("POST", "api/integrations/care-threads/<id:pk>/reply"): Write(
        "coordinator",
        "/api/integrations/care-threads/{care_thread}/reply",
        lambda s: {"text": "Blodprøverne tages i aften."},
    ),
    ("POST", "api/integrations/care-threads/<id:pk>/handled"): Write(
        "coordinator", "/api/integrations/care-threads/{unmatched_thread}/handled", lambda s: {}
    ),
    # --- FHIR
    ("POST", "fhir/ServiceRequest"): Write(
        "physician",
        "/fhir/ServiceRequest",
        lambda s: _service_request(s.seeded.person.cpr),
        kind="fhir",
    ),
    ("POST", "fhir/"): Write(
        "nurse",
        "/fhir/",
        lambda s: {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
                for r in (bodies.care_plan(s.ids["citizen"]), bodies.diagnosis(s.ids["citizen"]))
            ],
        },
        kind="fhir",
    ),
    # FHIR's [base] without its closing slash: the same transaction.
    ("POST", "fhir"): Write(
        "nurse",
        "/fhir",
        lambda s: {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
                for r in (bodies.care_plan(s.ids["citizen"]), bodies.diagnosis(s.ids["citizen"]))
            ],
        },
        kind="fhir",
    ),
    ("POST", "fhir/Patient"): Write(
        "coordinator", "/fhir/Patient", lambda s: bodies.patient(f.cpr_number()), kind="fhir"
    ),
    ("POST", "fhir/Patient/_search"): Write(
        "coordinator",
        "/fhir/Patient/_search",
        lambda s: {"identifier": f"urn:oid:1.2.208.176.1.2|{s.seeded.person.cpr}"},
        kind="form",
    ),
    ("PUT", r"fhir/^Patient/(?P<resource_id>[^/]+)$"): Write(
        "coordinator",
        "/fhir/Patient/{citizen}",
        lambda s: {
            **bodies.patient(s.seeded.person.cpr),
            "id": str(s.ids["citizen"]),
            "meta": {"versionId": "1"},
        },
        kind="fhir",
    ),
    ("POST", "fhir/Consent"): Write(
        "nurse",
        "/fhir/Consent",
        lambda s: bodies.refusal(
            s.ids["citizen"],
            purposes=["HOPERAT"],
            period={"start": "2026-01-01"},
            data_period={"start": "2020-01-01", "end": "2025-01-01"},
            organisations=[s.seeded.person.municipality_id],
        ),
        kind="fhir",
    ),
    ("POST", r"fhir/^Consent/(?P<consent_id>[0-9]+)/\$withdraw$"): Write(
        "nurse",
        "/fhir/Consent/{consent}/$withdraw",
        lambda s: {
            "resourceType": "Parameters",
            "parameter": [{"name": "how", "valueCode": "oral"}],
        },
        kind="fhir",
    ),
    ("POST", "fhir/Condition"): Write(
        "nurse",
        "/fhir/Condition",
        lambda s: bodies.diagnosis(s.ids["citizen"], note=[{"text": "Kendt"}]),
        kind="fhir",
    ),
    ("POST", "fhir/CarePlan"): Write(
        "nurse", "/fhir/CarePlan", lambda s: bodies.care_plan(s.ids["citizen"]), kind="fhir"
    ),
    ("POST", "fhir/EpisodeOfCare"): Write(
        "nurse",
        "/fhir/EpisodeOfCare",
        lambda s: bodies.municipal_help(s.ids["citizen"], org_id=s.seeded.person.municipality_id),
        kind="fhir",
    ),
    ("POST", "fhir/Encounter"): Write(
        "nurse",
        "/fhir/Encounter",
        lambda s: bodies.hospital_contact(s.ids["citizen"], s.seeded.person.municipality_id),
        kind="fhir",
    ),
    **{
        ("PUT", f"fhir/^{record_type}/(?P<resource_id>[^/]+)$"): Write(
            "nurse",
            f"/fhir/{record_type}/{{record}}",
            lambda s: {
                **bodies.nursing_problem(s.ids["citizen"], text="Risiko for fald"),
                "id": str(s.ids["record"]),
                "meta": {**bodies.tag("nursing-problem"), "versionId": "2"},
            },
            kind="fhir",
        )
        for record_type in ("Condition", "EpisodeOfCare", "CarePlan", "Encounter")
    },
    # FHIR's POST search (a form body, the GET search's meaning) on every searchable type.
    **{
        ("POST", f"fhir/{search_type}/_search"): Write(
            "nurse",
            f"/fhir/{search_type}/_search",
            lambda s: {"patient": s.ids["citizen"]},
            kind="form",
        )
        for search_type in (
            "Condition",
            "EpisodeOfCare",
            "CarePlan",
            "Encounter",
            "Consent",
            "Observation",
            "Procedure",
            "MedicationRequest",
            "MedicationAdministration",
        )
    },
    ("POST", "fhir/AuditEvent/_search"): Write(
        "auditor", "/fhir/AuditEvent/_search", lambda s: {"patient": s.ids["citizen"]}, kind="form"
    ),
    ("POST", "fhir/$process-message"): Write(
        "partner",
        "/fhir/$process-message",
        lambda s: helpline_referral(
            sender_code=s.partner.code if s.partner else "",
            patient=patient_resource(s.seeded.person),
            reason="Dehydrering",
            case_id="1813-77",
        ),
        kind="signed",
    ),
    **{
        (method, "fhir/^(?P<rest>(?s:.*))$"): Write(
            "nurse", "/fhir/NoSuchType/1", lambda s: {"resourceType": "Basic"}, kind="fhir"
        )
        for method in ("POST", "PUT", "PATCH", "DELETE")
    },
    # --- pages
    ("POST", "i18n/setlang/"): Write(
        "nurse", "/i18n/setlang/", lambda s: {"language": "da", "next": "/"}, kind="form"
    ),
    ("POST", "login/"): Write(
        "anonymous", "/login/", lambda s: {"username": "nobody", "password": "x"}, kind="form"
    ),
    # Without a password step first, the code steps send the visitor back to the login.
    ("POST", "login/code/"): Write(
        "anonymous", "/login/code/", lambda s: {"otp": "123456"}, kind="form"
    ),
    ("POST", "login/code/enrol/"): Write(
        "anonymous", "/login/code/enrol/", lambda s: {"otp": "123456"}, kind="form"
    ),
    ("POST", "login/role/"): Write(
        "anonymous", "/login/role/", lambda s: {"membership": "1"}, kind="form"
    ),
    ("POST", "role/"): Write("nurse", "/role/", lambda s: {"membership": "1"}, kind="form"),
    ("POST", "logout/"): Write("nurse", "/logout/", lambda s: {}, kind="form"),
    ("POST", "consent/insight/"): Write(
        "auditor", "/consent/insight/", lambda s: {"cpr": s.seeded.person.cpr}, kind="form"
    ),
    ("POST", "audit/entries/<id:entry_id>/review"): Write(
        "auditor", "/audit/entries/{entry}/review", lambda s: {"comment": "Set"}, kind="form"
    ),
    # An alarm the platform has not raised: refused 404, nothing recorded as
    # acknowledged, whatever the body.
    ("POST", "audit/witness-alarms/<id:refusal_id>/acknowledge"): Write(
        "auditor", "/audit/witness-alarms/999999/acknowledge", lambda s: {}, kind="form"
    ),
    # The auditor's search by CPR number or name: in the body, answered at once.
    ("POST", "audit/"): Write(
        "auditor",
        "/audit/",
        lambda s: {"cpr": s.seeded.person.cpr, "name": "", "purpose": "treatment"},
        kind="form",
    ),
    ("POST", "analyses/run"): Write(
        "analyst",
        "/analyses/run",
        lambda s: {"analysis": "contacts-around-acute-episode", "days": "30"},
        kind="form",
    ),
    ("POST", "nurse/shift/status/"): Write(
        "nurse", "/nurse/shift/status/", lambda s: {"status": "available"}, kind="form"
    ),
    ("POST", "nurse/shift/position/"): Write(
        "nurse",
        "/nurse/shift/position/",
        lambda s: {"place": "", "latitude": "55,74", "longitude": "12.53"},
        kind="form",
    ),
    ("POST", "nurse/bag/take/"): Write(
        "nurse",
        "/nurse/bag/take/",
        lambda s: {"stock": f"{s.ids['cupboard']}:{s.ids['lot']}", "quantity": "1"},
        kind="form",
    ),
    ("POST", "nurse/bag/return/"): Write(
        "nurse",
        "/nurse/bag/return/",
        lambda s: {"lot": str(s.ids["lot"]), "cabinet": str(s.ids["cupboard"]), "quantity": "1"},
        kind="form",
    ),
    ("POST", "coordinator/referrals/new/"): Write(
        "coordinator",
        "/coordinator/referrals/new/",
        lambda s: {
            **REFERRAL,
            "source": "gp",
            "cpr": s.seeded.person.cpr,
            "accept": "on",
            "requested_date": (timezone.localdate() + dt.timedelta(days=1)).isoformat(),
            "requested_from": "09:00",
            "requested_to": "12:00",
        },
        kind="form",
    ),
    ("POST", "coordinator/referrals/new/citizen/"): Write(
        "coordinator",
        "/coordinator/referrals/new/citizen/",
        lambda s: {"cpr": s.seeded.person.cpr},
        kind="form",
    ),
    ("POST", "coordinator/referrals/<id:referral_id>/assign/"): Write(
        "coordinator",
        "/coordinator/referrals/{referral2}/assign/",
        lambda s: {"shift_id": str(s.ids["shift"]), "hold_override_reason": "Haster"},
        kind="form",
    ),
    ("POST", "coordinator/referrals/<id:referral_id>/triage/"): Write(
        "coordinator",
        "/coordinator/referrals/{referral2}/triage/",
        lambda s: {"decision": "decline", "reason": "Nej"},
        kind="form",
    ),
    ("POST", "coordinator/referrals/<id:referral_id>/urgency/"): Write(
        "coordinator",
        "/coordinator/referrals/{referral2}/urgency/",
        lambda s: {"urgency": "next_day", "reason": "Ringet op, hun har det bedre"},
        kind="form",
    ),
    ("POST", "coordinator/referrals/<id:referral_id>/withdraw/"): Write(
        "coordinator",
        "/coordinator/referrals/{referral2}/withdraw/",
        lambda s: {"reason": "called_off", "note": "Lægen ringede", "confirm": "1"},
        kind="form",
    ),
    ("POST", "coordinator/referrals/<id:referral_id>/episode/"): Write(
        "coordinator",
        "/coordinator/referrals/{referral}/episode/",
        lambda s: {"outcome": "referral_lapsed", "note": "Bortfaldet"},
        kind="form",
    ),
    ("POST", "coordinator/warnings/<id:warning_id>/acknowledge/"): Write(
        "coordinator", "/coordinator/warnings/{warning}/acknowledge/", lambda s: {}, kind="form"
    ),
    ("POST", "coordinator/alerts/<id:alert_id>/acknowledge/"): Write(
        "coordinator", "/coordinator/alerts/{alert}/acknowledge/", lambda s: {}, kind="form"
    ),
    ("POST", "coordinator/orders/<id:order_id>/received/"): Write(
        "coordinator",
        "/coordinator/orders/{order}/received/",
        lambda s: {"confirmation": "on", "seen_by": "phone", "note": "Lægen ringede"},
        kind="form",
    ),
    ("POST", "coordinator/orders/<id:order_id>/withdrawal-phoned/"): Write(
        "coordinator",
        "/coordinator/orders/{order}/withdrawal-phoned/",
        lambda s: {"phoned_by": "Hanne Hansen", "phoned_at": "", "reason": "Lægen ringede"},
        kind="form",
    ),
    ("POST", "coordinator/outbox/<id:message_id>/resend/"): Write(
        "coordinator", "/coordinator/outbox/{outbox}/resend/", lambda s: {}, kind="form"
    ),
    ("POST", "coordinator/outbox/<id:message_id>/handled/"): Write(
        "coordinator", "/coordinator/outbox/{outbox}/handled/", lambda s: {}, kind="form"
    ),
    ("POST", "coordinator/refused/<id:message_id>/noted/"): Write(
        "coordinator", "/coordinator/refused/{refused}/noted/", lambda s: {}, kind="form"
    ),
    ("POST", "referrals/new/"): Write(
        "physician",
        "/referrals/new/",
        lambda s: {**REFERRAL, "source": "gp", "cpr": s.seeded.person.cpr},
        kind="form",
    ),
    ("POST", "physician/alerts/<id:alert_id>/acknowledge/"): Write(
        "physician", "/physician/alerts/{alert}/acknowledge/", lambda s: {}, kind="form"
    ),
    ("POST", "physician/orders/<id:order_id>/confirm/"): Write(
        "physician", "/physician/orders/{late_order}/confirm/", lambda s: {}, kind="form"
    ),
    ("POST", "physician/orders/new/"): Write(
        "physician",
        "/physician/orders/new/",
        lambda s: {
            "visit_id": str(s.ids["visit"]),
            "medicine_atc": "N02AA01",
            "medicine_name": "Morfin",
            "dose": "2,5",
            "dose_unit": "mg",
            "route": "subkutant",
            "frequency": "engangsdosis",
            "duration": "1 dag",
            "indication": "Smerter",
        },
        kind="form",
    ),
    ("POST", "physician/orders/<id:order_id>/reject/"): Write(
        "physician",
        "/physician/orders/{late_order}/reject/",
        lambda s: {"reason": "Fejl"},
        kind="form",
    ),
    ("POST", "physician/orders/<id:order_id>/stop/"): Write(
        "physician",
        "/physician/orders/{late_order}/stop/",
        lambda s: {"reason": "Allergisk reaktion"},
        kind="form",
    ),
    ("POST", "physician/orders/<id:order_id>/correct/"): Write(
        "physician",
        "/physician/orders/{late_order}/correct/",
        lambda s: {
            "medicine_atc": "J01CA08",
            "medicine_name": "Pivmecillinam",
            "dose": "200",
            "dose_unit": "mg",
            "route": "oral",
            "frequency": "3 gange dagligt",
            "duration": "3 dage",
            "indication": "Cystitis",
            "reason": "Dosis hørt forkert",
        },
        kind="form",
    ),
    ("POST", "physician/orders/<id:order_id>/prescription-sent/"): Write(
        "physician", "/physician/orders/{order}/prescription-sent/", lambda s: {}, kind="form"
    ),
    ("POST", "cabinet/receive/"): Write(
        "officer",
        "/cabinet/receive/",
        lambda s: {
            "cabinet": str(s.ids["cupboard"]),
            "medicine": str(s.ids["medicine"]),
            "batch_number": "B2",
            "expires_on": "2031-01-01",
            "quantity": "20",
            "unit": "tablet",
            "supplier": "Apotek",
            "delivery_reference": "F-2",
        },
        kind="form",
    ),
    ("POST", "cabinet/recall/"): Write(
        "officer",
        "/cabinet/recall/",
        lambda s: {"lot": str(s.ids["lot"]), "reason": "Tilbagekaldt"},
        kind="form",
    ),
    ("POST", "cabinet/counts/start/"): Write(
        "officer", "/cabinet/counts/start/", lambda s: {"location": str(s.ids["bag"])}, kind="form"
    ),
    ("POST", "cabinet/counts/<id:count_id>/do/"): Write(
        "officer",
        "/cabinet/counts/{count}/do/",
        lambda s: {"action": "save", f"lot_{s.ids['lot']}": "15"},
        kind="form",
    ),
    ("POST", "nurse/visits/<id:visit_id>/step/"): Write(
        "nurse", "/nurse/visits/{visit}/step/", lambda s: {"step": "arrive"}, kind="form"
    ),
    ("POST", "nurse/visits/<id:visit_id>/decline/"): Write(
        "nurse", "/nurse/visits/{visit}/decline/", lambda s: {"reason": "Optaget"}, kind="form"
    ),
    ("POST", "care-threads/<id:thread_id>/reply/"): Write(
        "coordinator",
        "/care-threads/{care_thread}/reply/",
        lambda s: {"text": "Blodprøverne tages i aften.", "on": f"referral-{s.ids['referral']}"},
        kind="form",
    ),
    ("POST", "care-threads/<id:thread_id>/handled/"): Write(
        "coordinator", "/care-threads/{unmatched_thread}/handled/", lambda s: {}, kind="form"
    ),
    ("POST", "nurse/visits/<id:visit_id>/note/"): Write(
        "nurse",
        "/nurse/visits/{visit}/note/",
        lambda s: {"kind": "note", "text": "Rolig", "client_ref": "r1"},
        kind="form",
    ),
    ("POST", "nurse/visits/<id:visit_id>/vitals/"): Write(
        "nurse",
        "/nurse/visits/{visit}/vitals/",
        lambda s: {"vital_8867-4": "96", "vital_8310-5": "38,9", "client_ref": "r2"},
        kind="form",
    ),
    ("POST", "nurse/visits/<id:visit_id>/lab/"): Write(
        "nurse",
        "/nurse/visits/{visit}/lab/",
        lambda s: {"code": "NPU19748", "value": "150", "unit": "mg/L", "client_ref": "r3"},
        kind="form",
    ),
    ("POST", "nurse/visits/<id:visit_id>/results/<id:result_id>/fix/"): Write(
        "nurse",
        "/nurse/visits/{visit}/results/{lab}/fix/",
        lambda s: {"reason": "Tastefejl", "value": "15"},
        kind="form",
    ),
    ("POST", "nurse/visits/<id:visit_id>/order/"): Write(
        "nurse",
        "/nurse/visits/{visit}/order/",
        lambda s: {
            **{k: str(v) for k, v in PHONE_ORDER.items() if not isinstance(v, bool)},
            "ordered_by_organisation_name": "Lægehuset",
            "read_back": "on",
            "read_back_confirmed": "on",
            "doses_per_day": "3",
            "duration_days": "3",
            "total_quantity": "3600",
        },
        kind="form",
    ),
    ("POST", "nurse/visits/<id:visit_id>/give/"): Write(
        "nurse",
        "/nurse/visits/{visit}/give/",
        lambda s: {
            "order_id": str(s.ids["order"]),
            "medicine_id": str(s.ids["medicine"]),
            "quantity": "1",
            "confirmed_dose": "500",
            "unit": "tablet",
        },
        kind="form",
    ),
    ("POST", "nurse/visits/<id:visit_id>/procedure/"): Write(
        "nurse",
        "/nurse/visits/{visit}/procedure/",
        lambda s: {"code": "urinary-catheter", "status": "completed", "note": "Ok"},
        kind="form",
    ),
    ("POST", "nurse/visits/<id:visit_id>/delegation/"): Write(
        "nurse",
        "/nurse/visits/{visit}/delegation/",
        lambda s: {
            "code": "NPU02319",
            "physician_name": "Hanne Hansen",
            "physician_authorisation_id": "0A1B2",
            "physician_organisation_name": "Lægehuset",
            "delegated_at": "2026-01-01T10:00",
        },
        kind="form",
    ),
    ("POST", "nurse/visits/<id:visit_id>/complete/"): Write(
        "nurse",
        "/nurse/visits/{visit}/complete/",
        lambda s: {"outcome": "treated_at_home", "assessment": "UVI", "note": ""},
        kind="form",
    ),
    ("POST", "nurse/visits/<id:visit_id>/episode/"): Write(
        "nurse",
        "/nurse/visits/{visit}/episode/",
        lambda s: {"outcome": "citizen_not_found", "note": "Ingen lukkede op"},
        kind="form",
    ),
    ("POST", "nurse/visits/<id:visit_id>/break-glass/"): Write(
        "nurse",
        "/nurse/visits/{visit}/break-glass/",
        lambda s: {"reason": "Bevidstløs", "basis": "vital"},
        kind="form",
    ),
}


def _service_request(cpr: str) -> dict[str, Any]:
    from tests.acute.test_api import service_request

    return service_request(cpr)


# --- the scene -------------------------------------------------------------------------


def build_scene() -> Scene:
    """One citizen with one object of every kind (the audit walk's seed), a
    second referral waiting for triage, an open stock count with a line, a
    notification, and a 1813 partner with its secret."""
    from acute.models import Referral
    from medicine_cabinet.models import Location, Notification, StockCount

    seeded = seed()
    scene = Scene(seeded)
    ids: dict[str, Any] = {
        kind: int(values[0]) for kind, values in seeded.ids.items() if values[0].isdigit()
    }
    bag, cupboard = (int(v) for v in seeded.ids["location"][:2])
    if Location.objects.get(pk=bag).kind != Location.Kind.BAG:
        bag, cupboard = cupboard, bag
    ids.update(bag=bag, cupboard=cupboard)
    ids["late_order"] = int(seeded.ids["order"][1])
    ids["record_type"], ids["record"] = seeded.records[1]
    officer = f.client_for(seeded.officer)
    count = officer.post("/api/cabinet/counts", {"location": cupboard}, format="json").json()
    line = officer.post(
        f"/api/cabinet/counts/{count['id']}/lines",
        {"lot": ids["lot"], "quantity": "15"},
        format="json",
    ).json()
    ids.update(count=count["id"], line=line["id"])
    notification = Notification.objects.create(
        organisation=seeded.officer.organisation,
        kind=Notification.Kind.COUNT_OVERDUE,
        key="fuzz",
        message="Optælling mangler",
        stock_count=StockCount.objects.get(pk=count["id"]),
    )
    ids["notification"] = notification.pk
    second = Referral.objects.filter(citizen=seeded.person).exclude(pk=ids["referral"]).first()
    assert second is not None
    ids["referral2"] = second.pk
    scene.ids = ids
    scene.members = {
        "nurse": seeded.nurse,
        "coordinator": seeded.coordinator,
        "physician": seeded.physician,
        "officer": seeded.officer,
        "auditor": seeded.auditor,
        "analyst": f.staff(Role.ANALYST, f.acute_function()),
        "outsider": seeded.refused[0],
    }
    scene.partner = f.integration_partner(Partner.Kind.HELPLINE_1813, f.organisation("helpline"))
    ids["care_thread"] = _care_thread(seeded.person).pk
    # About a citizen without an open referral: the coordinator's board's (decision 0031).
    ids["unmatched_thread"] = _care_thread(f.citizen()).pk
    ids["refused"] = InboundMessage.objects.create(
        partner=scene.partner,
        bundle_id=str(uuid.uuid4()),
        header_id=str(uuid.uuid4()),
        event="acute-referral",
        outcome=InboundMessage.Outcome.FATAL,
        http_status=400,
        acknowledgement={},
        reason_code="record.psychiatric_diagnosis",
    ).pk
    return scene


def _care_thread(person: Any) -> Any:
    """A home nursing's CareCommunication about the citizen, to reply to."""
    nursing = f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing())
    thread = CareThread.objects.create(
        identifier=f"urn:uuid:{uuid.uuid4()}",
        partner=nursing,
        citizen=person,
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
    return thread


# --- sending ---------------------------------------------------------------------------


def _form_bytes(body: dict[str, Any]) -> bytes:
    pairs = [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in body.items()]
    return urlencode(pairs, encoding="utf-8", errors="surrogatepass").encode("ascii")


def _page_client(member: Membership) -> Client:
    client = Client()
    client.force_login(member.user)
    session = client.session
    session_membership_set(session, member)
    session.save()
    return client


class Sender:
    def __init__(self, scene: Scene):
        self.scene = scene
        self.api: dict[str, Any] = {}
        self.pages: dict[str, Client] = {}

    def client(self, persona: str, page: bool) -> Any:
        if persona in ("anonymous", "partner"):
            return Client()
        member = self.scene.members[persona]
        if page:
            if persona not in self.pages:
                self.pages[persona] = _page_client(member)
            return self.pages[persona]
        if persona not in self.api:
            self.api[persona] = f.client_for(member)
        return self.api[persona]

    def send(self, method: str, write: Write, body: Any) -> Any:
        url = write.url.format(**self.scene.ids)
        page = not url.startswith(("/api/", "/fhir/"))
        client = self.client(write.persona, page)
        extra: dict[str, str] = {}
        if write.kind == "form":
            raw = _form_bytes(body) if isinstance(body, dict) else b""
            content_type = "application/x-www-form-urlencoded"
        else:
            raw = json.dumps(body).encode("utf-8", errors="surrogatepass")
            content_type = "application/json" if write.kind == "json" else "application/fhir+json"
        if write.kind == "signed":
            partner = self.scene.partner
            assert partner is not None
            headers = signed_headers(sender=partner.code, secret=partner.secret, body=raw)
            extra = {
                "HTTP_" + k.upper().replace("-", "_"): v
                for k, v in headers.items()
                if k.lower() != "content-type"
            }
        # Each request from the same scene: rolled back after it is answered.
        with transaction.atomic():
            response = getattr(client, method.lower())(
                url, data=raw, content_type=content_type, **extra
            )
            transaction.set_rollback(True)
        # A logged-out session or a revoked token would end the persona's run.
        if "logout" in url:
            self.api.pop(write.persona, None)
            self.pages.pop(write.persona, None)
        return response


def problem_with(response: Any, url: str) -> str | None:
    """What is wrong with an answer: a 5xx, or a refusal a program cannot read."""
    status = response.status_code
    if status >= 500:
        return f"{status}"
    if status < 400:
        return None
    content = response.content
    if url.startswith("/api/auth/oauth/"):
        # RFC 6749 §5.2: OAuth's own error shape, with the platform's code beside it.
        try:
            body = json.loads(content)
        except ValueError:
            return f"{status} not JSON"
        if isinstance(body, dict) and body.get("error") and body.get("code"):
            return None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            return None if body["error"].get("code") else f"{status} without a code"
        return f"{status} without an OAuth error"
    if url.startswith("/api/"):
        try:
            code = json.loads(content)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return f"{status} without the error envelope"
        return None if isinstance(code, str) and code else f"{status} without a code"
    if url.startswith("/fhir/") or url == "/fhir":
        try:
            body = json.loads(content)
        except ValueError:
            return f"{status} not JSON"
        kind = body.get("resourceType") if isinstance(body, dict) else None
        if kind == "OperationOutcome":
            return None
        if kind == "Bundle" and "$process-message" in url and "OperationOutcome" in str(body):
            return None  # a message's acknowledgement carries the outcome
        return f"{status} without an OperationOutcome"
    if status == 405 or b'data-code="' in content:
        return None
    if response.get("Content-Type", "").startswith("application/json"):
        body = json.loads(content)  # the tablet's own calls (its position) get JSON
        return None if isinstance(body, dict) and body.get("code") else f"{status} without a code"
    return f"{status} page without a data-code"


def _shown(body: Any) -> str:
    return json.dumps(body, ensure_ascii=True)[:300]


# --- the tests -------------------------------------------------------------------------


def declared_methods(callback: Any) -> list[str] | None:
    """The methods a page declares with ``core.permissions.serves``, wherever
    it sits among its decorators; None for a page that declares none (served
    GET and HEAD only, by the page gate)."""
    declared = getattr(callback, "page_methods", None)
    return None if declared is None else sorted(declared)


# Pages that declare no methods and only read (a POST to them is 405).
READING_PAGES = {
    "healthz",
    "",
    "nurse/shift/",
    "coordinator/referrals/<id:referral_id>/",
    "coordinator/figures/",
    "physician/orders/",
    "cabinet/",
    "cabinet/counts/",
    "cabinet/counts/<id:count_id>/",
    "nurse/visits/",
    "nurse/visits/<id:visit_id>/",
    "nurse/visits/<id:visit_id>/interpret/",
    "coordinator/",
    "coordinator/live/",
}


def test_every_write_route_is_in_the_inventory() -> None:
    """API and FHIR routes by the methods their class declares; pages by the
    methods they declare. A page that declares none must be listed as reading
    or as writing: a new one fails here until someone says which."""
    found = class_view_writes()
    undeclared = []
    for route, callback in page_routes():
        methods = declared_methods(callback)
        if methods is None:
            if route not in READING_PAGES and ("POST", route) not in WRITES:
                undeclared.append(route)
            elif route not in READING_PAGES:
                found.add(("POST", route))
        else:
            found |= {(m, route) for m in methods if m.lower() in WRITE_METHODS}
    assert undeclared == [], "pages that neither declare their methods nor are listed"
    assert sorted(found - set(WRITES)) == [], "write routes without an entry in WRITES"
    assert sorted(set(WRITES) - found) == [], "entries in WRITES for routes that are gone"


def fuzzer(
    sender: Sender, method: str, write: Write, template: Any, url: str, failures: list[str]
) -> Callable[[], None]:
    """Hypothesis over one route: mutated bodies, every answer checked."""

    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        body = mutate(data.draw, template, form=write.kind == "form")
        try:
            response = sender.send(method, write, body)
        except Exception as error:  # noqa: BLE001 - a 500: reported with its cause
            failures.append(f"{method} {url}: {type(error).__name__}: {str(error)[:200]}")
            return
        problem = problem_with(response, url)
        if problem:
            failures.append(f"{method} {url}: {problem} for {_shown(body)}")

    return fuzz


def test_no_write_route_answers_5xx_or_an_unreadable_refusal() -> None:
    scene = build_scene()
    sender = Sender(scene)
    failures: list[str] = []
    refused_persona: list[str] = []

    for (method, route), write in sorted(WRITES.items()):
        template = write.body(scene)
        url = write.url.format(**scene.ids)
        first = sender.send(method, write, template)
        if first.status_code in (401, 403) and write.persona not in ("anonymous", "outsider"):
            refused_persona.append(f"{method} {route} as {write.persona}: {first.status_code}")
        problem = problem_with(first, url)
        if problem:
            failures.append(f"{method} {url} (valid body): {problem}")

        fuzzer(sender, method, write, template, url, failures)()

    report = [*dict.fromkeys(failures), *(f"persona refused: {r}" for r in refused_persona)]
    assert report == [], "\n".join(report)
