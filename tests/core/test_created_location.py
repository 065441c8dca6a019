"""``201 Created`` on /api/ says where the new resource is read (``Location``,
core/created.py): every view that answers 201 declares what it creates, the
schema documents the header, and the header leads to the resource's own GET.
A resource with no URL of its own gets no Location."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import resolve, reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from acute.models import Episode
from core.created import creates_of
from core.models import Role
from medicine_cabinet import services as cabinet_services
from tests import factories as f
from tests.acute.test_api import REFERRAL, _shift_body
from tests.core.test_openapi import _api_routes

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(json.dumps(generated, default=str))


def _creates_with_url() -> list[tuple[str, str, Any]]:
    found = []
    for path, method, view in _api_routes():
        creates = creates_of(view)
        if method == "post" and creates is not None and creates.url_name:
            found.append((path, method, view))
    return found


def test_every_view_that_answers_201_says_what_it_creates(schema: dict[str, Any]) -> None:
    undeclared, undocumented, documented_without_url = [], [], []
    for path, method, view in _api_routes():
        answers = schema["paths"][path][method]["responses"]
        if "201" not in answers:
            continue
        creates = creates_of(view)
        if creates is None:
            undeclared.append(f"{method.upper()} {path} ({view.__name__})")
            continue
        headers = answers["201"].get("headers", {})
        if creates.url_name and headers.get("Location", {}).get("required") is not True:
            undocumented.append(f"{method.upper()} {path}")
        if not creates.url_name and "Location" in headers:
            documented_without_url.append(f"{method.upper()} {path}")
    assert undeclared == []
    assert undocumented == []
    assert documented_without_url == []
    # The creates with a URL of their own, as the API has them.
    assert {path for path, _method, _view in _creates_with_url()} == {
        "/api/acute/referrals",
        "/api/acute/referrals/{id}/assign",
        "/api/acute/episodes/{id}/follow-ups",
        "/api/cabinet/counts",
        "/api/consent/analyses/{name}",
    }


def test_each_declared_location_is_a_get_under_api() -> None:
    """The URL name leads to the resource's own GET on /api/, not to a page
    that shares the name (``cabinet-count`` was both)."""
    for _path, _method, view in _creates_with_url():
        creates = creates_of(view)
        assert creates is not None and creates.url_name
        url = reverse(creates.url_name, kwargs={creates.kwarg: 1})
        assert url.startswith("/api/"), (view.__name__, url)
        target = getattr(resolve(url).func, "cls", None)
        assert target is not None and hasattr(target, "get"), (view.__name__, url)


def _location(response: Any) -> str:
    assert response.status_code == 201, response.content
    location = response["Location"]
    assert location.startswith("http://testserver/api/"), location
    return urlsplit(location).path


def test_a_referral_created_is_read_at_its_location() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    client = f.client_for(coordinator)
    created = client.post(
        "/api/acute/referrals",
        {**REFERRAL, "citizen_id": f.citizen().pk, "source": "gp"},
        format="json",
    )
    path = _location(created)
    assert path == f"/api/acute/referrals/{created.json()['id']}"
    read = client.get(path)
    assert read.status_code == 200 and read.json()["id"] == created.json()["id"]


def test_a_visit_assigned_or_planned_is_read_at_its_location() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    client = f.client_for(coordinator)
    _nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    assigned = client.post(
        f"/api/acute/referrals/{referral.pk}/assign", {"shift": shift.pk}, format="json"
    )
    assert _location(assigned) == f"/api/acute/visits/{assigned.json()['id']}"
    assert client.get(_location(assigned)).json()["id"] == assigned.json()["id"]

    other = f.acute_referral(by=coordinator)
    episode = Episode.objects.get(pk=other.episode_id)
    planned = client.post(
        f"/api/acute/episodes/{episode.pk}/follow-ups",
        {"shift": shift.pk, "planned_for": (timezone.now() + dt.timedelta(hours=1)).isoformat()},
        format="json",
    )
    assert _location(planned) == f"/api/acute/visits/{planned.json()['id']}"


def test_a_count_started_is_read_at_its_location() -> None:
    officer = f.staff(Role.MEDICINE_OFFICER, f.acute_function())
    cabinet = cabinet_services.cabinet_create(organisation=officer.organisation, name="Skab 1")
    client = f.client_for(officer)
    started = client.post("/api/cabinet/counts", {"location": cabinet.pk}, format="json")
    path = _location(started)
    assert path == f"/api/cabinet/counts/{started.json()['id']}"
    read = client.get(path)
    assert read.status_code == 200 and read.json()["id"] == started.json()["id"]


def test_a_resource_with_no_url_of_its_own_gets_no_location() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    nurse = f.staff(Role.ACUTE_NURSE, coordinator.organisation)
    starts_at = timezone.now() + dt.timedelta(days=1)
    created = f.client_for(coordinator).post(
        "/api/acute/shifts",
        _shift_body(nurse, starts_at, starts_at + dt.timedelta(hours=8)),
        format="json",
    )
    assert created.status_code == 201, created.content
    assert not created.has_header("Location")


def test_a_create_sent_again_with_its_key_is_told_the_first_location() -> None:
    """docs/api.md: the replay of a keyed write carries the first answer's Location."""
    client = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    body = {**REFERRAL, "citizen_id": f.citizen().pk, "source": "gp"}
    first = client.post("/api/acute/referrals", body, format="json", HTTP_IDEMPOTENCY_KEY="gp-1")
    again = client.post("/api/acute/referrals", body, format="json", HTTP_IDEMPOTENCY_KEY="gp-1")
    assert again.status_code == 409
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
