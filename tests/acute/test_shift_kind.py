"""A shift's kind matches its hours: day 07-15, evening 15-23, night 23-07
(Copenhagen, the rota of the settings and the demo data). A "night" shift
from 08:00 to 16:00 was put on the rota, counted as night cover on the
board and in the figures while the night had none."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from acute import services
from acute.demo import HOURS, _shift_window
from acute.models import NurseShift
from core.actors import Actor
from core.errors import InvalidInput
from core.models import Membership, Role
from tests import factories as f

pytestmark = pytest.mark.django_db

LOCAL = ZoneInfo("Europe/Copenhagen")


@pytest.fixture
def coordinator() -> Membership:
    return f.staff(Role.COORDINATOR, f.acute_function())


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=LOCAL)


def _body(nurse: Membership, kind: str, starts_at: dt.datetime, ends_at: dt.datetime) -> dict:
    return {
        "nurse": nurse.user_id,
        "kind": kind,
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
        "skills": [],
        "base_name": "Gentofte base",
        "base_latitude": 55.75,
        "base_longitude": 12.54,
    }


def _post(coordinator: Membership, body: dict) -> Any:
    return f.client_for(coordinator).post("/api/acute/shifts", body, format="json")


def _next_clock_change(month: int) -> dt.date:
    """The next last Sunday of ``month`` (3: summer time begins, 10: it ends)
    at least two days ahead, so that its night is within the rota's year."""
    soon = timezone.localdate() + dt.timedelta(days=2)
    for year in (soon.year, soon.year + 1):
        last = dt.date(year, month + 1, 1) - dt.timedelta(days=1)
        sunday = last - dt.timedelta(days=(last.weekday() - 6) % 7)
        if sunday >= soon:
            return sunday
    raise AssertionError("no clock change within two years")


@pytest.mark.parametrize(
    ("kind", "start_h", "end_h", "hours"),
    [
        ("night", 8, 16, "23:00 og 07:00"),
        ("day", 15, 23, "07:00 og 15:00"),
        ("evening", 23, 7, "15:00 og 23:00"),
        ("day", 23, 7, "07:00 og 15:00"),
    ],
)
def test_a_shift_whose_kind_does_not_match_its_hours_is_refused_in_danish(
    coordinator: Membership, kind: str, start_h: int, end_h: int, hours: str
) -> None:
    nurse = f.staff(Role.ACUTE_NURSE, coordinator.organisation)
    day = timezone.localdate() + dt.timedelta(days=2)
    ends_day = day + dt.timedelta(days=1) if end_h < start_h else day
    response = _post(coordinator, _body(nurse, kind, _at(day, start_h), _at(ends_day, end_h)))
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("shift.kind_mismatch", "kind")
    assert hours in error["message"] and "vagttype" in error["message"]
    assert not NurseShift.objects.filter(nurse=nurse.user).exists()


@pytest.mark.parametrize(
    ("kind", "start_h", "end_h"),
    [
        ("day", 7, 15),
        ("evening", 15, 23),
        # Across midnight.
        ("night", 23, 7),
        ("night", 22, 8),
        # Half day, half evening: either name is true.
        ("day", 11, 19),
        ("evening", 11, 19),
        # A long night shift from the evening on.
        ("night", 19, 7),
    ],
)
def test_a_shift_in_its_kinds_hours_is_put_on_the_rota(
    coordinator: Membership, kind: str, start_h: int, end_h: int
) -> None:
    nurse = f.staff(Role.ACUTE_NURSE, coordinator.organisation)
    day = timezone.localdate() + dt.timedelta(days=2)
    ends_day = day + dt.timedelta(days=1) if end_h < start_h else day
    response = _post(coordinator, _body(nurse, kind, _at(day, start_h), _at(ends_day, end_h)))
    assert response.status_code == 201, response.content
    assert NurseShift.objects.get(nurse=nurse.user).kind == kind


@pytest.mark.parametrize(("month", "real_hours"), [(3, 7), (10, 9)])
def test_the_night_the_clocks_change_is_a_night_shift_of_7_or_9_hours(
    coordinator: Membership, month: int, real_hours: int
) -> None:
    sunday = _next_clock_change(month)
    starts_at, ends_at = _at(sunday - dt.timedelta(days=1), 23), _at(sunday, 7)
    assert ends_at.astimezone(dt.UTC) - starts_at.astimezone(dt.UTC) == dt.timedelta(
        hours=real_hours
    )
    nurse = f.staff(Role.ACUTE_NURSE, coordinator.organisation)
    assert _post(coordinator, _body(nurse, "night", starts_at, ends_at)).status_code == 201
    # The day after it is still a day shift, its hours counted from the new offset.
    other = f.staff(Role.ACUTE_NURSE, coordinator.organisation)
    day = _post(coordinator, _body(other, "day", _at(sunday, 7), _at(sunday, 15)))
    assert day.status_code == 201, day.content
    late = _post(coordinator, _body(other, "night", _at(sunday, 15), _at(sunday, 23)))
    assert late.json()["error"]["code"] == "shift.kind_mismatch"


def test_every_door_goes_through_the_one_check_and_the_demo_rota_passes_it(
    coordinator: Membership,
) -> None:
    """The service refuses it for the API, the demo data and any command alike."""
    nurse = f.staff(Role.ACUTE_NURSE, coordinator.organisation)
    day = timezone.localdate() + dt.timedelta(days=2)
    with pytest.raises(InvalidInput) as refused:
        services.shift_create(
            nurse=nurse.user,
            acute_function=coordinator.organisation,
            kind="night",
            starts_at=_at(day, 8),
            ends_at=_at(day, 16),
            skills=[],
            base_name="Base",
            base_latitude=55.75,
            base_longitude=12.54,
            actor=Actor.system("demo"),
        )
    assert refused.value.code == "shift.kind_mismatch"
    for offset, kind in enumerate(HOURS):
        starts_at, ends_at = _shift_window(day + dt.timedelta(days=offset), kind)
        shift = services.shift_create(
            nurse=nurse.user,
            acute_function=coordinator.organisation,
            kind=kind,
            starts_at=starts_at,
            ends_at=ends_at,
            skills=[],
            base_name="Base",
            base_latitude=55.75,
            base_longitude=12.54,
            actor=Actor.system("demo"),
        )
        assert shift.kind == kind
