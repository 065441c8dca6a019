"""The coordinator's board shows the open clinical alerts of her acute
function — a critical result, a late dose, an escalated phone order — in
Danish, with the citizen's name (never her CPR number), when it was raised
(Danish time) and a link to the referral, as the API's board list does and
with its audit (R9: one entry per citizen shown, each time the board is
drawn). She marks one seen there, through the API's access check and
service. Before, the board page showed no clinical alert at all: only the
API listed them."""

from __future__ import annotations

import pytest
from django.test import Client

from acute.clinical.models import PhysicianAlert
from consent.audit.models import AuditEntry
from consent.models import ConsentDirective
from core.models import Organisation, Role
from core.templatetags.platform import clock
from tests import factories
from tests.acute.clinical.conftest import Scene, visit_scene
from tests.acute.clinical.test_results import post_results

pytestmark = pytest.mark.django_db


def _login(membership) -> Client:
    client = Client()
    assert factories.log_in(client, membership).status_code == 302
    return client


def _critical() -> tuple[Scene, PhysicianAlert]:
    scene = visit_scene()
    response = post_results(scene, {"code": "NPU03230", "value": "6.9", "unit": "mmol/L"})
    assert response.status_code == 201, response.json()
    return scene, PhysicianAlert.objects.get(kind=PhysicianAlert.Kind.CRITICAL_RESULT)


def _item(html: str, alert: PhysicianAlert) -> str:
    at = html.index(f'id="clinical-alert-{alert.pk}"')
    return html[at : html.index("</li>", at)]


def test_r9_the_board_shows_a_critical_result_in_danish_with_name_time_and_referral() -> None:
    scene, alert = _critical()
    client = _login(scene.coordinator)
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0

    html = client.get("/coordinator/live/").content.decode()

    item = _item(html, alert)
    assert "Kritisk prøvesvar \N{EN DASH} Kalium; plasma: 6,9 mmol/L (kritisk høj)." in item
    assert "Kritisk resultat" in item  # the kind, in Danish
    assert f"{scene.citizen.given_name} {scene.citizen.family_name}" in item
    assert scene.citizen.cpr not in html
    assert clock(alert.raised_at) in item  # Danish time
    assert f'href="/coordinator/referrals/{scene.referral.pk}/"' in item
    assert 'action="/coordinator/alerts/' in item and ">Set</button>" in item
    # The full page draws the same list.
    assert f'id="clinical-alert-{alert.pk}"' in client.get("/coordinator/").content.decode()
    listed = AuditEntry.objects.filter(
        id__gt=before,
        resource_type="Flag",
        reason_code="acute_function_oversight",
        citizen_id=scene.citizen.pk,
        actor_user_id=scene.coordinator.user_id,
        outcome="permitted",
    )
    assert listed.count() == 2  # one per drawing of the board


def test_r1_another_acute_function_s_coordinator_does_not_see_it_nor_mark_it() -> None:
    scene, alert = _critical()
    elsewhere = factories.organisation(Organisation.Kind.ACUTE_FUNCTION, "Vestegnens Akutfunktion")
    coordinator = factories.staff(Role.COORDINATOR, elsewhere)
    client = _login(coordinator)

    html = client.get("/coordinator/live/").content.decode()
    marked = client.post(f"/coordinator/alerts/{alert.pk}/acknowledge/")

    assert f'id="clinical-alert-{alert.pk}"' not in html
    assert scene.citizen.family_name not in html
    assert marked.status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    denied = AuditEntry.objects.filter(
        outcome="denied", resource_type="Flag", resource_id=str(alert.pk)
    )
    assert [(e.citizen_id, e.actor_user_id) for e in denied] == [
        (scene.citizen.pk, coordinator.user_id)
    ]


@pytest.mark.parametrize("role", [Role.ACUTE_NURSE, Role.PHYSICIAN, Role.AUDITOR])
def test_r9_other_roles_are_refused_the_board_and_the_mark(role: str) -> None:
    _scene, alert = _critical()
    other = factories.staff(role, factories.acute_function())
    client = _login(other)

    board = client.get("/coordinator/live/")
    marked = client.post(f"/coordinator/alerts/{alert.pk}/acknowledge/")

    assert board.status_code == 403 and marked.status_code == 403
    assert "Kalium" not in board.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    assert AuditEntry.objects.filter(
        outcome="denied", actor_user_id=other.user_id, resource_type="Flag"
    ).exists()


def test_r9_the_coordinator_marks_an_alert_seen_on_the_board_as_through_the_api() -> None:
    scene, alert = _critical()
    client = _login(scene.coordinator)

    marked = client.post(f"/coordinator/alerts/{alert.pk}/acknowledge/", follow=True)

    assert marked.redirect_chain[-1][0].endswith("/coordinator/")
    assert "Advarslen er markeret som set." in marked.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_by == scene.coordinator.user and alert.acknowledged_at is not None
    assert AuditEntry.objects.filter(
        action="update",
        resource_type="Flag",
        resource_id=str(alert.pk),
        actor_user_id=scene.coordinator.user_id,
        outcome="permitted",
    ).exists()
    html = client.get("/coordinator/live/").content.decode()
    assert f'id="clinical-alert-{alert.pk}"' not in html
    assert "Ingen åbne kliniske advarsler." in html
    api = factories.client_for(scene.coordinator).get("/api/clinical/board/alerts").json()
    assert api["alerts"] == []


def test_r4_a_citizen_who_refused_the_function_is_not_named_nor_her_alert_told() -> None:
    """The critical result stays on the board — someone must act on it —
    but the coordinator the citizen's refusal covers reads only that an
    alert of that kind waits and since when (as decision 0031 lists a
    partner's message), on the page and the API alike; nothing of the
    citizen is recorded as read. She may still mark it seen."""
    scene, alert = _critical()
    directive = ConsentDirective.objects.create(
        citizen=scene.citizen,
        provision=ConsentDirective.Provision.DENY,
        given_how=ConsentDirective.GivenHow.choices[0][0],
        recorded_by=scene.coordinator.user,
        recorded_by_organisation=scene.coordinator.organisation,
    )
    directive.recipient_organisations.set([factories.acute_function()])
    client = _login(scene.coordinator)
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0

    item = _item(client.get("/coordinator/live/").content.decode(), alert)
    [row] = (
        factories.client_for(scene.coordinator).get("/api/clinical/board/alerts").json()["alerts"]
    )

    assert "Borgeren har frabedt sig videregivelse til dig" in item
    assert "Kritisk resultat" in item and clock(alert.raised_at) in item
    assert scene.citizen.family_name not in item and "Kalium" not in item
    assert "/coordinator/referrals/" not in item
    assert row["id"] == alert.pk and row["citizen_refused"] is True
    assert (row["citizen"], row["message"], row["visit"], row["lab_result"]) == (
        None,
        None,
        None,
        None,
    )
    assert not AuditEntry.objects.filter(
        id__gt=before, citizen_id=scene.citizen.pk, outcome="permitted"
    ).exists()
    marked = client.post(f"/coordinator/alerts/{alert.pk}/acknowledge/")
    assert marked.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None
    # The API's answer to her mark says nothing of the citizen either.
    api = factories.client_for(scene.coordinator).post(
        f"/api/clinical/alerts/{alert.pk}/acknowledge"
    )
    assert api.status_code == 200, api.json()
    assert api.json()["citizen_refused"] is True
    assert api.json()["citizen"] is None and api.json()["message"] is None


def test_the_board_adds_one_query_for_its_alerts_however_many_there_are() -> None:
    """The alerts come with their citizen and visit in the list's one query;
    only the audit's one entry per citizen grows with them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    scene, _alert = _critical()
    client = _login(scene.coordinator)

    def count() -> int:
        client.get("/coordinator/live/")
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/coordinator/live/").status_code == 200
        return len(ctx)

    one = count()
    for _ in range(3):
        post_results(scene, {"code": "NPU03230", "value": "1.9", "unit": "mmol/L"})
    assert PhysicianAlert.objects.count() == 4  # one per critical result
    assert count() == one
