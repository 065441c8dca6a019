"""Every clinical time her tablet gives is judged by one rule, whichever door
it comes through (docs/decisions/0013): vital signs, a result, a procedure,
a phone order and a note sent through ``/api/`` more than a
day after they were made are refused as the tablet's offline queue on the
pages refuses them (``offline.time_too_old``), and one ahead of the server's
clock alike (``offline.time_in_future``). Nothing is written, and the
attempt is on the citizen's record (R9).

A note keeps the time she wrote it: the API's ``written_at`` and the time
her tablet queued it on the page, shown in Copenhagen time on her visit."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from acute.models import Episode, Referral, Visit, VisitNote
from consent.audit.models import AuditEntry
from tests import factories
from tests.acute.clinical.conftest import Scene, visit_scene
from tests.acute.clinical.test_untrue_times_audited import WRITES, _nothing_written, _post
from tests.acute.test_pages import _login
from tests.portal.test_offline_sends import REPLAY

pytestmark = pytest.mark.django_db

# A delegation's time is when the physician delegated, not her tablet's: it
# may lie days back in the episode, and is judged against the referral.
TABLET_WRITES = [write for write in WRITES if write != "delegation"]

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def _sent_thirty_hours_ago(scene: Scene) -> None:
    """A long visit: a time 26 hours back lies after she was sent and after
    the citizen was referred, so only its age can refuse it."""
    long_ago = timezone.now() - dt.timedelta(hours=30)
    Visit.objects.filter(pk=scene.visit.pk).update(assigned_at=long_ago)
    Episode.objects.filter(pk=scene.visit.episode_id).update(opened_at=long_ago)
    Referral.objects.filter(pk=scene.referral.pk).update(received_at=long_ago)
    scene.visit.refresh_from_db()


def _denied(scene: Scene, code: str, resource_type: str) -> int:
    return AuditEntry.objects.filter(
        citizen_id=scene.citizen.pk,
        outcome="denied",
        reason_code=code,
        resource_type=resource_type,
        action="create",
    ).count()


@pytest.mark.parametrize("write", TABLET_WRITES)
def test_r9_a_clinical_time_more_than_a_day_back_is_refused_as_the_tablets_queue_refuses_it(
    write,
):
    """26 hours late through the API is what 26 hours late from the page's
    queue is: refused with the same code, not stored as if it were true."""
    scene = visit_scene()
    _sent_thirty_hours_ago(scene)
    response = _post(scene, write, (timezone.now() - dt.timedelta(hours=26)).isoformat())
    assert response.status_code == 400, response.content
    _path, _body, resource_type, _prefix = WRITES[write]
    error = response.json()["error"]
    assert error["code"] == "offline.time_too_old"
    _nothing_written()
    assert _denied(scene, "offline.time_too_old", resource_type) == 1


@pytest.mark.parametrize("write", TABLET_WRITES)
def test_a_clinical_time_within_the_day_is_kept_as_given(write):
    """The bound refuses only what is more than a day old: a time from
    earlier on a long visit is recorded as given."""
    scene = visit_scene()
    _sent_thirty_hours_ago(scene)
    response = _post(scene, write, (timezone.now() - dt.timedelta(hours=20)).isoformat())
    assert response.status_code == 201, response.content


def _note(scene: Scene, **body):
    return factories.client_for(scene.nurse).post(
        f"/api/acute/visits/{scene.visit.pk}/notes",
        {"text": "Sov ved ankomst", **body},
        format="json",
    )


def test_a_note_sent_later_through_the_api_keeps_the_time_she_wrote_it():
    scene = visit_scene()
    written = (timezone.now() - dt.timedelta(minutes=20)).astimezone(COPENHAGEN)
    response = _note(scene, written_at=written.isoformat())
    assert response.status_code == 201, response.content
    assert dt.datetime.fromisoformat(response.json()["written_at"]) == written
    assert VisitNote.objects.get(visit=scene.visit).written_at == written


@pytest.mark.parametrize(
    ("offset", "code"),
    [
        (dt.timedelta(hours=-26), "offline.time_too_old"),
        (dt.timedelta(hours=3), "offline.time_in_future"),
    ],
)
def test_r9_a_note_at_a_time_the_server_cannot_take_is_refused_and_recorded(offset, code):
    scene = visit_scene()
    _sent_thirty_hours_ago(scene)
    response = _note(scene, written_at=(timezone.now() + offset).isoformat())
    assert response.status_code == 400, response.content
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (
        code,
        "written_at",
    )
    assert not VisitNote.objects.filter(visit=scene.visit).exists()
    assert _denied(scene, code, "Encounter") == 1


def test_a_note_queued_on_the_page_keeps_the_time_she_wrote_it_shown_in_copenhagen():
    scene = visit_scene()
    client = _login(scene.nurse)
    written = timezone.now() - dt.timedelta(minutes=40)
    response = client.post(
        f"/nurse/visits/{scene.visit.pk}/note/",
        {
            "kind": "note",
            "text": "Datter ringet op",
            "client_ref": "note-cellar-1",
            "given_offline_at": written.isoformat(),
        },
        **REPLAY,
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    assert VisitNote.objects.get(visit=scene.visit).written_at == written
    page = client.get(f"/nurse/visits/{scene.visit.pk}/").content.decode()
    assert written.astimezone(COPENHAGEN).strftime("%H:%M") in page


def test_r9_a_note_queued_more_than_a_day_ago_is_refused_and_recorded():
    scene = visit_scene()
    _sent_thirty_hours_ago(scene)
    response = _login(scene.nurse).post(
        f"/nurse/visits/{scene.visit.pk}/note/",
        {
            "kind": "note",
            "text": "Datter ringet op",
            "client_ref": "note-cellar-2",
            "given_offline_at": (timezone.now() - dt.timedelta(hours=26)).isoformat(),
        },
        **REPLAY,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "offline.time_too_old"
    assert not VisitNote.objects.filter(visit=scene.visit).exists()
    assert AuditEntry.objects.filter(
        citizen_id=scene.citizen.pk, outcome="denied", reason_code="offline.time_too_old"
    ).exists()


def test_the_assessment_given_with_a_completion_sent_later_is_written_when_she_completed():
    scene = visit_scene()
    _sent_thirty_hours_ago(scene)
    Visit.objects.filter(pk=scene.visit.pk).update(
        on_site_at=timezone.now() - dt.timedelta(minutes=50)
    )
    finished = timezone.now() - dt.timedelta(minutes=10)
    response = factories.client_for(scene.nurse).post(
        f"/api/acute/visits/{scene.visit.pk}/complete",
        json.dumps(
            {"outcome": "treated_at_home", "assessment": "Stabil", "at": finished.isoformat()}
        ),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    note = VisitNote.objects.get(visit=scene.visit, kind=VisitNote.Kind.ASSESSMENT)
    assert note.written_at == finished
