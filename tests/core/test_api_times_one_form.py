"""Every instant an ``/api/`` answer writes is in UTC, written one way,
``…Z`` (core.times.api_instant): through REST framework's fields, the
renderer, and every answer built by hand. A client comparing two times as
text, or a person reading them, never meets one instant written ``…Z`` in
one answer, ``…+00:00`` in another and ``…+01:00`` in a third.

The walk reads every GET operation of the schema as each role it admits,
with the demo's data and a visit under way (results, a phone order, an
outbound message), its path ids taken from what earlier answers named."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from consent.audit.log import sequence_batch
from core.models import Membership, Role
from core.renderers import UtcJSONEncoder
from core.times import api_instant
from integrations.models import Partner
from tests import factories as f
from tests.acute.clinical.conftest import PHONE_ORDER, visit_scene

pytestmark = pytest.mark.django_db

# A date-time with a time of day, anywhere in a value (a CSV cell, a link).
_WITH_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})?"
)
_UTC_Z = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z")
_DEMO_USERS = {
    Role.COORDINATOR: "coordinator",
    Role.ACUTE_NURSE: "nurse1",
    Role.PHYSICIAN: "physician",
    Role.HOME_NURSE: "homenurse",
    Role.MEDICINE_OFFICER: "officer",
    Role.AUDITOR: "auditor",
    Role.ANALYST: "analyst",
    Role.ADMINISTRATOR: "admin",
}
# What a query needs to be answered at all.
_QUERIES = {
    "/api/acute/figures": {"start": "2026-01-01", "end": "2026-12-31"},
    "/api/audit/log/consistency": None,  # a proof between two sizes, no time in it
}


def _times(value: Any, where: str = "", *, audit: bool = False) -> Iterator[tuple[str, str]]:
    """Each date-time with a time of day in ``value``; in an answer of the
    audit trail (``audit``) not in an entry's detail, which is answered as it
    was written and never rewritten: it is hash-chained (docs/decisions/0042)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if not (audit and key == "detail"):
                yield from _times(inner, f"{where}.{key}", audit=audit)
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _times(inner, f"{where}[{i}]", audit=audit)
    elif isinstance(value, str):
        for found in _WITH_TIME.findall(value):
            yield where, found


def _ids(value: Any, keys: set[str]) -> Iterator[int]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in keys and isinstance(inner, int) and not isinstance(inner, bool):
                yield inner
            elif key in keys and isinstance(inner, dict) and isinstance(inner.get("id"), int):
                yield inner["id"]
            yield from _ids(inner, keys)
    elif isinstance(value, list):
        for inner in value:
            yield from _ids(inner, keys)


def _items(body: Any) -> list[Any]:
    """The items of a collection's answer: the list itself, or its first list."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return next((value for value in body.values() if isinstance(value, list)), [])
    return []


def _candidates(template: str, answers: dict[str, list[Any]]) -> list[dict[str, int]]:
    """Path ids for ``template`` from what the answers so far named: the
    items of the collection above it, or any value under the id's name."""
    names = re.findall(r"{(\w+)}", template)
    if not names:
        return [{}]
    name = names[0]
    segment = template.split("/{", 1)[0].rsplit("/", 1)[-1]
    found: list[int] = []
    for path, bodies in answers.items():
        for body in bodies:
            if path.endswith("/" + segment):
                items = _items(body)[:4]
                found += [item["id"] for item in items if isinstance(item, dict) and "id" in item]
            found += list(_ids(body, {name, name.removesuffix("_id")}))[:4]
    return [{name: n} for n in dict.fromkeys(n for n in found if isinstance(n, int))]


def _clients() -> dict[str, list[APIClient]]:
    scene = visit_scene()
    f.integration_partner(Partner.Kind.GP, scene.gp, endpoint_url="http://127.0.0.1:8678/inbox")
    nurse = f.client_for(scene.nurse)
    visit = scene.visit.pk
    for path, body in (
        (
            f"/api/clinical/visits/{visit}/results",
            {"results": [{"code": "NPU03230", "value": "3.1", "unit": "mmol/L"}]},
        ),
        (
            f"/api/acute/visits/{visit}/vital-signs",
            {"measurements": [{"code": "8867-4", "value": "96"}]},
        ),
        (f"/api/clinical/visits/{visit}/phone-orders", PHONE_ORDER),
    ):
        response = nurse.post(path, body, format="json")
        assert response.status_code == 201, (path, response.json())
    clients: dict[str, list[APIClient]] = {}
    for membership in (scene.nurse, scene.coordinator):
        clients.setdefault(membership.role, []).append(f.client_for(membership))
    for role, username in _DEMO_USERS.items():
        demo = Membership.objects.filter(user__username=username, role=role).first()
        assert demo is not None, username
        clients.setdefault(role, []).append(f.client_for(demo))
    # The scene's auditor, who reads the visit's entries.
    auditor = f.staff(Role.AUDITOR, scene.coordinator.organisation)
    clients[Role.AUDITOR].insert(0, f.client_for(auditor))
    # The entries placed in the log and signed: the verification answers the
    # checkpoint's time through a serializer's date-time field.
    assert sequence_batch() > 0
    return clients


def test_api_instant_is_utc_with_z() -> None:
    summer = dt.timezone(dt.timedelta(hours=2))
    at = dt.datetime(2026, 10, 25, 2, 30, 15, 250000, tzinfo=summer)
    assert api_instant(at) == "2026-10-25T00:30:15.250000Z"
    assert api_instant(at.replace(microsecond=0)) == "2026-10-25T00:30:15Z"
    assert api_instant(None) is None
    # The renderer writes a time as the hand-built answers do.
    assert UtcJSONEncoder().encode({"at": at}) == '{"at": "2026-10-25T00:30:15.250000Z"}'


def test_every_instant_the_api_answers_is_utc_with_z() -> None:
    call_command("demo_data", stdout=io.StringIO())
    clients = _clients()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = sorted((path, ops["get"]) for path, ops in schema["paths"].items() if "get" in ops)
    operations.sort(key=lambda item: item[0].count("{"))
    answers: dict[str, list[Any]] = {}
    found: list[tuple[str, str, str]] = []
    for template, operation in operations:
        if template in _QUERIES and _QUERIES[template] is None:
            continue
        for role in operation.get("x-roles") or [Role.AUDITOR]:
            for client in clients.get(role, []):
                for ids in _candidates(template, answers):
                    path = template.format(**ids)
                    response = client.get(path, _QUERIES.get(template) or {})
                    if response.status_code != 200:
                        continue
                    if response["Content-Type"].startswith("application/json"):
                        body: Any = response.json()
                        answers.setdefault(template, []).append(body)
                    else:
                        body = response.content.decode()
                    audit = template.startswith("/api/audit/")
                    found += [(path, w, v) for w, v in _times(body, audit=audit)]

    answered = set(answers)
    # A representative walk: the board, a referral and its visit, the
    # cabinet, the clinical visit, the outbox and the audit trail answered.
    assert answered >= {
        "/api/acute/referrals",
        "/api/acute/referrals/{id}",
        "/api/acute/visits/{id}",
        "/api/acute/visits/{id}/vital-signs",
        "/api/clinical/visits/{visit_id}",
        "/api/cabinet/stock",
        "/api/integrations/outbox",
        "/api/integrations/outbox/{id}",
        "/api/audit/entries",
    }, sorted(answered)
    walked = {path for path, _, _ in found}
    assert len(found) > 30, found
    assert any(p.startswith("/api/integrations/outbox/") for p in walked), walked
    assert any(p.startswith("/api/audit/entries") for p in walked), walked
    assert any(where.endswith(".signed_at") for _, where, _ in found), found
    other = [(path, where, value) for path, where, value in found if not _UTC_Z.fullmatch(value)]
    assert other == []
