"""A step of the visit sent later through ``/api/`` keeps the time she took
it, as one from the tablet's offline queue does (docs/decisions/0013).

Each status step of the API but the decline takes an optional ``at``, read
as every ``/api/`` time is (``core.times``) and judged by the one rule of the
pages' queue (``acute.services.step_time``), with its codes: not more than
five minutes ahead of the server, not more than a day back, not before the
step before it. A refusal changes nothing and is a denied attempt on the
citizen's record (R9). Without ``at`` the step is taken now.

A step she took on her shift and her tablet sent after the shift ended is
judged on her shift: the auditors' flag "outside the shift" judges when she
took it, on every door, and her shift's status follows from then.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from acute.models import Episode, NurseShift, Referral, Visit
from consent.audit.models import AuditEntry, AuditFlag, Flag
from tests import factories as f
from tests.acute.clinical.conftest import Scene, visit_scene
from tests.acute.test_pages import _login
from tests.consent.audit.conftest import flags_scan_placed
from tests.portal.test_offline_sends import REPLAY

pytestmark = pytest.mark.django_db

STEPS = ("accept", "en-route", "on-site")
RECORDED_AS = {"accept": "accepted", "en-route": "en_route", "on-site": "on_site"}


def _sent_an_hour_ago(scene: Scene) -> dt.datetime:
    hour_ago = timezone.now() - dt.timedelta(hours=1)
    Visit.objects.filter(pk=scene.visit.pk).update(assigned_at=hour_ago)
    Episode.objects.filter(pk=scene.visit.episode_id).update(opened_at=hour_ago)
    Referral.objects.filter(pk=scene.referral.pk).update(received_at=hour_ago)
    return hour_ago


def _step(scene: Scene, step: str, body: dict[str, Any] | None = None):
    return f.client_for(scene.nurse).post(
        f"/api/acute/visits/{scene.visit.pk}/{step}", body or {}, format="json"
    )


def _denied(scene: Scene, code: str) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            citizen_id=scene.visit.citizen_id,
            outcome="denied",
            reason_code=code,
            resource_id=f"visit-{scene.visit.pk}",
        )
    )


def test_steps_sent_later_through_the_api_are_recorded_when_she_took_them():
    """R10: her arrival is the referral's reached time, not when the tablet
    found a connection; each step's audit entry says when she took it."""
    scene = visit_scene(on_site=False)
    _sent_an_hour_ago(scene)
    now = timezone.now()
    taken = {
        "accept": now - dt.timedelta(minutes=55),
        "en-route": now - dt.timedelta(minutes=50),
        "on-site": now - dt.timedelta(minutes=40),
    }
    for step in STEPS:
        response = _step(scene, step, {"at": taken[step].isoformat()})
        assert response.status_code == 200, response.json()
    visit = Visit.objects.get(pk=scene.visit.pk)
    assert (visit.accepted_at, visit.en_route_at, visit.on_site_at) == (
        taken["accept"],
        taken["en-route"],
        taken["on-site"],
    )
    assert Referral.objects.get(pk=scene.referral.pk).reached_at == taken["on-site"]
    for step in STEPS:
        entry = AuditEntry.objects.get(
            citizen_id=visit.citizen_id, outcome="permitted", detail__step=RECORDED_AS[step]
        )
        assert dt.datetime.fromisoformat(entry.detail["at"]) == taken[step]
    # The completion too, and the episode it ends ends then.
    finished = now - dt.timedelta(minutes=10)
    response = _step(scene, "complete", {"outcome": "treated_at_home", "at": finished.isoformat()})
    assert response.status_code == 200, response.json()
    visit.refresh_from_db()
    assert (visit.status, visit.completed_at) == (Visit.Status.COMPLETED, finished)
    assert Episode.objects.get(pk=visit.episode_id).closed_at == finished


def test_a_step_without_at_is_taken_now_as_before():
    scene = visit_scene(on_site=False)
    before = timezone.now()
    response = _step(scene, "accept")
    assert response.status_code == 200, response.json()
    visit = Visit.objects.get(pk=scene.visit.pk)
    assert visit.accepted_at is not None and visit.accepted_at >= before
    entry = AuditEntry.objects.get(
        citizen_id=visit.citizen_id, outcome="permitted", detail__step="accepted"
    )
    assert "at" not in entry.detail


def _untrue_times() -> list[tuple[str, str]]:
    now = timezone.now()
    return [
        ((now + dt.timedelta(hours=3)).isoformat(), "offline.time_in_future"),
        ((now - dt.timedelta(hours=26)).isoformat(), "offline.time_too_old"),
        # An hour after it was assigned, yet before it: out of order.
        ((now - dt.timedelta(hours=2)).isoformat(), "visit.step_out_of_order"),
        ("2026-12-07T10:00:00", "time.naive"),
        ("i går", "request.invalid"),
    ]


@pytest.mark.parametrize("step", [*STEPS, "complete"])
@pytest.mark.parametrize("case", range(5))
def test_r9_a_step_at_a_time_the_server_cannot_take_is_refused_with_the_pages_code(step, case):
    """The codes of the tablet's queue on the pages; nothing moves, and the
    attempt is on the citizen's record."""
    scene = visit_scene(on_site=False)
    _sent_an_hour_ago(scene)
    before = {"accept": (), "en-route": ("accept",), "on-site": ("accept", "en-route")}
    for earlier in before.get(step, STEPS):
        assert _step(scene, earlier).status_code == 200
    Visit.objects.filter(pk=scene.visit.pk).update(
        accepted_at=timezone.now() - dt.timedelta(minutes=59)
    )
    status = Visit.objects.get(pk=scene.visit.pk).status
    sent_at, code = _untrue_times()[case]
    body = {"at": sent_at, **({"outcome": "treated_at_home"} if step == "complete" else {})}
    response = _step(scene, step, body)
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == code
    visit = Visit.objects.get(pk=scene.visit.pk)
    assert visit.status == status
    assert Episode.objects.get(pk=visit.episode_id).status == Episode.Status.OPEN
    denied = _denied(scene, code)
    assert len(denied) == 1
    assert denied[0].detail["step"] == (RECORDED_AS.get(step) or "completed")


def test_the_rule_of_a_time_is_the_pages_rule():
    """One rule for both doors: the page's queued step and the API's ``at``
    ahead of the clock are refused alike."""
    ahead = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    scene = visit_scene(on_site=False)
    api = _step(scene, "accept", {"at": ahead}).json()["error"]
    other = visit_scene(on_site=False)
    page = (
        _login(other.nurse)
        .post(
            f"/nurse/visits/{other.visit.pk}/step/",
            {"step": "accept", "client_ref": "step-accept-ahead", "given_offline_at": ahead},
            HTTP_ACCEPT_LANGUAGE="da",
            **REPLAY,
        )
        .json()["error"]
    )
    assert api["code"] == page["code"] == "offline.time_in_future"
    assert api["message"] == page["message"]


def test_the_schema_describes_at_on_each_step_but_the_decline():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    for step in (*STEPS, "complete", "decline"):
        operation = schema["paths"][f"/api/acute/visits/{{id}}/{step}"]["post"]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        properties = components[ref.rsplit("/", 1)[1]]["properties"]
        if step == "decline":
            assert "at" not in properties
            continue
        at = properties["at"]
        assert at["format"] == "date-time"
        for code in ("offline.time_in_future", "offline.time_too_old", "visit.step_out_of_order"):
            assert code in at["description"]


# --- a step taken on her shift, sent after it ended --------------------------------


def _shift_ended_ten_minutes_ago(shift: NurseShift) -> None:
    NurseShift.objects.filter(pk=shift.pk).update(ends_at=timezone.now() - dt.timedelta(minutes=10))


def _off_shift_flagged(citizen_id: int) -> set[int]:
    flags_scan_placed()
    return set(
        AuditFlag.objects.filter(
            kind=Flag.OFF_SHIFT,
            entry_id__in=AuditEntry.objects.filter(citizen_id=citizen_id).values("id"),
        ).values_list("entry_id", flat=True)
    )


def _arrival_entries(citizen_id: int, since: int) -> list[AuditEntry]:
    """The arrival's entries: the gate's decision on the write and the step."""
    return list(
        AuditEntry.objects.filter(
            citizen_id=citizen_id, id__gt=since, outcome="permitted", action="update"
        )
    )


def _last_entry() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_an_arrival_sent_through_the_api_after_her_shift_ended_was_on_her_shift():
    """Arrived at 10:00 (on her shift, which ends at 10:30), sent at 10:40:
    recorded at 10:00, not flagged as outside her shift, and she is on the
    visit since 10:00."""
    scene = visit_scene(on_site=False)
    _sent_an_hour_ago(scene)
    now = timezone.now()
    for step, minutes in (("accept", 55), ("en-route", 50)):
        at = (now - dt.timedelta(minutes=minutes)).isoformat()
        assert _step(scene, step, {"at": at}).status_code == 200
    shift = scene.visit.shift
    _shift_ended_ten_minutes_ago(shift)
    since = _last_entry()
    arrived = now - dt.timedelta(minutes=40)
    response = _step(scene, "on-site", {"at": arrived.isoformat()})
    assert response.status_code == 200, response.json()
    visit = Visit.objects.get(pk=scene.visit.pk)
    assert (visit.status, visit.on_site_at) == (Visit.Status.ON_SITE, arrived)
    shift.refresh_from_db()
    assert (shift.status, shift.status_changed_at) == (NurseShift.Status.ON_VISIT, arrived)
    arrival = _arrival_entries(visit.citizen_id, since)
    assert {e.detail.get("step") for e in arrival} == {"on_site", None}
    flagged = _off_shift_flagged(visit.citizen_id)
    assert not flagged & {e.id for e in arrival}
    # What she reads now, after her shift, is outside it.
    since = _last_entry()
    assert f.client_for(scene.nurse).get(f"/api/acute/visits/{visit.pk}").status_code == 200
    read = AuditEntry.objects.filter(citizen_id=visit.citizen_id, id__gt=since, action="read")
    assert {e.id for e in read} <= _off_shift_flagged(visit.citizen_id)


def test_an_arrival_from_the_tablets_queue_after_her_shift_ended_was_on_her_shift():
    """The same through the pages' offline queue."""
    scene = visit_scene(on_site=False)
    _sent_an_hour_ago(scene)
    client = _login(scene.nurse)
    now = timezone.now()
    steps = (("accept", 55), ("set_off", 50))
    for step, minutes in steps:
        response = client.post(
            f"/nurse/visits/{scene.visit.pk}/step/",
            {
                "step": step,
                "client_ref": f"step-{step}-shift-end",
                "given_offline_at": (now - dt.timedelta(minutes=minutes)).isoformat(),
            },
            **REPLAY,
        )
        assert response.status_code == 200, response.content.decode()[:2000]
    shift = scene.visit.shift
    _shift_ended_ten_minutes_ago(shift)
    since = _last_entry()
    arrived = now - dt.timedelta(minutes=40)
    response = client.post(
        f"/nurse/visits/{scene.visit.pk}/step/",
        {
            "step": "arrive",
            "client_ref": "step-arrive-shift-end",
            "given_offline_at": arrived.isoformat(),
        },
        **REPLAY,
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    visit = Visit.objects.get(pk=scene.visit.pk)
    assert visit.on_site_at == arrived
    shift.refresh_from_db()
    assert shift.status_changed_at == arrived
    arrival = _arrival_entries(visit.citizen_id, since)
    assert {e.detail.get("step") for e in arrival} == {"on_site", None}
    assert not _off_shift_flagged(visit.citizen_id) & {e.id for e in arrival}


COPENHAGEN_WINTER = dt.timezone(dt.timedelta(hours=1))
KIRIBATI = dt.timezone(dt.timedelta(hours=14))


@pytest.mark.parametrize("door", ["api", "page"])
@pytest.mark.parametrize("zone", [COPENHAGEN_WINTER, KIRIBATI, dt.UTC])
def test_a_steps_time_is_written_in_utc_whatever_offset_and_door_it_came_by(door, zone):
    """The audit entry of a step sent later says when she took it in UTC, as
    the store gives every time back: the API wrote it with the offset it was
    sent with in Copenhagen's zone (+01:00), the page in UTC, so the log held
    one instant written two ways depending on the door."""
    scene = visit_scene(on_site=False)
    _sent_an_hour_ago(scene)
    taken = (timezone.now() - dt.timedelta(minutes=30)).replace(microsecond=0)
    sent = taken.astimezone(zone).isoformat()
    if door == "api":
        response = _step(scene, "accept", {"at": sent})
    else:
        response = _login(scene.nurse).post(
            f"/nurse/visits/{scene.visit.pk}/step/",
            {"step": "accept", "client_ref": "step-accept-utc", "given_offline_at": sent},
            **REPLAY,
        )
    assert response.status_code in (200, 302), response.content[:500]
    entry = AuditEntry.objects.get(
        citizen_id=scene.visit.citizen_id, outcome="permitted", detail__step="accepted"
    )
    assert entry.detail["at"] == taken.astimezone(dt.UTC).isoformat()


def test_the_observation_a_write_answers_with_reads_as_it_is_read_back():
    """The vital signs' answer carries the Observation written; its time is in
    UTC (``…Z``) as on a later read, not in the zone the time was sent in."""
    scene = visit_scene()
    measured = (timezone.now() - dt.timedelta(minutes=1)).replace(microsecond=0)
    client = f.client_for(scene.nurse)
    response = client.post(
        f"/api/acute/visits/{scene.visit.pk}/vital-signs",
        {
            "measurements": [{"code": "8867-4", "value": "96"}],
            "measured_at": measured.astimezone(COPENHAGEN_WINTER).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.content[:500]
    written = response.json()["results"][0]
    assert written["effectiveDateTime"] == measured.strftime("%Y-%m-%dT%H:%M:%SZ")
