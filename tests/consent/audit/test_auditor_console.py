"""The auditors' console as an auditor (and everyone else) meets it: the age
of the last witnessed checkpoint and the witnesses' alarms (R9, decision
0012), exports that open safely in a Danish spreadsheet, and every other
role refused on every auditor page and endpoint with the refusal recorded."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.utils import timezone

from consent.audit.log import checkpoint_latest, sequence_batch
from consent.audit.models import AuditEntry, LogCheckpoint, LogCosignature
from consent.audit.services import Action, Outcome, Purpose, audit_record
from core.actors import Actor
from core.models import Citizen, Role
from core.spreadsheet import BOM
from tests import factories

pytestmark = pytest.mark.django_db

OTHER_ROLES = [r for r in factories.ALL_ROLES if r != Role.AUDITOR]


def _logged_in(membership) -> Client:
    client = Client()
    assert factories.log_in(client, membership).status_code == 302
    return client


def _auditor_console() -> str:
    auditor = factories.staff(Role.AUDITOR, factories.acute_function())
    # Django's timesince joins number and unit with a no-break space.
    return _logged_in(auditor).get("/audit/").content.decode().replace("\xa0", " ")


def _cosigned(minutes_ago: int) -> dt.datetime:
    """The log's latest checkpoint, cosigned by a witness ``minutes_ago``."""
    audit_record(
        actor=Actor.system("tests.console"),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=None,
    )
    sequence_batch()
    checkpoint = checkpoint_latest()
    assert checkpoint is not None
    at = timezone.now() - dt.timedelta(minutes=minutes_ago, seconds=10)
    LogCosignature.objects.create(checkpoint=checkpoint, witness="witness.test/w1", cosigned_at=at)
    return at


def _latest() -> LogCheckpoint:
    checkpoint = checkpoint_latest()
    assert checkpoint is not None
    return checkpoint


# --- the witnesses' word -------------------------------------------------------------


def test_a_checkpoint_witnessed_four_minutes_ago_is_shown_without_a_warning() -> None:
    at = _cosigned(4)
    page = _auditor_console()
    assert "Seneste bevidnede checkpoint: for 4 minutter siden" in page
    assert f"{timezone.localtime(at):%H:%M})." in page  # Copenhagen time
    assert 'data-warning="witness-stale"' not in page


def test_a_checkpoint_witnessed_six_minutes_ago_is_shown_with_a_warning() -> None:
    at = _cosigned(6)
    page = _auditor_console()
    assert "Seneste bevidnede checkpoint: for 6 minutter siden" in page
    assert f"{timezone.localtime(at):%H:%M})." in page
    assert 'data-warning="witness-stale"' in page
    assert "Intet vidne har medunderskrevet i mere end 5 minutter." in page


def test_a_log_no_witness_has_cosigned_is_warned_about() -> None:
    audit_record(
        actor=Actor.system("tests.console"),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=None,
    )
    sequence_batch()
    page = _auditor_console()
    assert 'data-warning="witness-stale"' in page
    assert "Intet vidne har endnu medunderskrevet et checkpoint af auditloggen." in page


def test_a_witness_refusal_is_an_alarm_in_danish_on_every_console_page() -> None:
    _cosigned(1)
    LogCosignature.objects.create(
        checkpoint=_latest(),
        witness="witness.test/w2",
        cosigned_at=timezone.now(),
        refused=True,
        problem="the log shrank from 6 to 5 entries",
    )
    auditor = factories.staff(Role.AUDITOR, factories.acute_function())
    client = _logged_in(auditor)
    # The verify page too: its "intact" cannot see what the witness saw.
    for path in ("/audit/", "/audit/flagged", "/audit/verify"):
        page = client.get(path).content.decode()
        assert 'data-alarm="witness-refused"' in page, path
        assert "Alarm: Vidnet witness.test/w2 afviste et checkpoint af auditloggen" in page


def _verified() -> dict:
    auditor = factories.staff(Role.AUDITOR, factories.acute_function())
    response = factories.client_for(auditor).get("/api/audit/verify")
    assert response.status_code == 200
    return response.json()["witnesses"]


@pytest.mark.parametrize(("minutes", "stale"), [(4, False), (6, True)])
def test_the_api_tells_the_age_of_the_last_witnessed_checkpoint(minutes: int, stale: bool) -> None:
    at = _cosigned(minutes)
    witnesses = _verified()
    assert witnesses["stale"] is stale and witnesses["stale_after_minutes"] == 5
    assert minutes * 60 + 10 <= witnesses["age_seconds"] < minutes * 60 + 70
    assert dt.datetime.fromisoformat(witnesses["last_witnessed_at"]) == at
    assert witnesses["refusals"] == []


def test_the_api_lists_the_witnesses_refusals() -> None:
    _cosigned(1)
    LogCosignature.objects.create(
        checkpoint=_latest(),
        witness="witness.test/w2",
        cosigned_at=timezone.now(),
        refused=True,
        problem="the log shrank from 6 to 5 entries",
    )
    witnesses = _verified()
    assert witnesses["refusals"][0]["witness"] == "witness.test/w2"
    assert witnesses["refusals"][0]["problem"] == "the log shrank from 6 to 5 entries"


def test_the_api_warns_when_no_witness_has_ever_cosigned() -> None:
    audit_record(
        actor=Actor.system("tests.console"),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=None,
    )
    sequence_batch()
    witnesses = _verified()
    assert witnesses["stale"] is True
    assert witnesses["last_witnessed_at"] is None and witnesses["age_seconds"] is None


# --- exports a spreadsheet opens safely ------------------------------------------------


def test_the_page_export_neutralises_a_name_that_starts_a_formula() -> None:
    team = factories.acute_function()
    nurse = factories.staff(Role.ACUTE_NURSE, team)
    person = factories.citizen()
    Citizen.objects.filter(pk=person.pk).update(given_name='=HYPERLINK("http://x")')
    audit_record(
        actor=Actor.for_membership(nurse),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        outcome=Outcome.DENIED,
        reason_code="no_care_relationship",
    )
    auditor = factories.staff(Role.AUDITOR, team)
    response = _logged_in(auditor).get(f"/audit/export.csv?citizen={person.pk}")
    assert response.status_code == 200
    text = response.content.decode("utf-8")
    assert text.startswith(BOM)
    [row] = list(csv.DictReader(io.StringIO(text.removeprefix(BOM))))
    assert row["Borger"] == f'\'=HYPERLINK("http://x") {person.family_name}'


def test_the_api_export_neutralises_an_organisation_name_that_starts_a_formula() -> None:
    team = factories.organisation("home_care", "=cmd|' /C calc'!A0")
    nurse = factories.staff(Role.HOME_NURSE, team)
    person = factories.citizen()
    audit_record(
        actor=Actor.for_membership(nurse),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        outcome=Outcome.DENIED,
        reason_code="no_care_relationship",
    )
    auditor = factories.staff(Role.AUDITOR, factories.acute_function())
    response = factories.client_for(auditor).get(
        f"/api/audit/export?as=csv&citizen={person.pk}&outcome=denied"
    )
    assert response.status_code == 200
    [row] = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert row["actor_organisation_name"] == "'=cmd|' /C calc'!A0"


# --- everyone else is refused, and the refusal is recorded ----------------------------------

PAGES = [
    ("get", "/audit/", Action.SEARCH),
    ("get", "/audit/flagged", Action.SEARCH),
    ("get", "/audit/export.csv", Action.EXPORT),
    ("get", "/audit/verify", Action.READ),
]
ENDPOINTS = [
    ("get", "/api/audit/entries", Action.SEARCH),
    ("get", "/api/audit/export?as=csv", Action.EXPORT),
    ("get", "/api/audit/verify", Action.READ),
]


def _denied_since(before: int, membership) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            id__gt=before, actor_user_id=membership.user_id, outcome=Outcome.DENIED
        ).order_by("id")
    )


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_every_other_role_is_refused_on_every_auditor_door_and_it_is_recorded(role: str) -> None:
    """R9: a denied attempt is recorded, the auditors' own doors too."""
    team = factories.acute_function()
    member = factories.staff(role, team)
    person = factories.citizen()
    entry = audit_record(
        actor=Actor.system("tests.console"),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
    )
    page_client = _logged_in(member)
    api_client = factories.client_for(member)
    doors = [
        *((page_client, m, p, a, None) for m, p, a in PAGES),
        (page_client, "get", f"/audit/entries/{entry.id}", Action.READ, person.pk),
        (page_client, "post", f"/audit/entries/{entry.id}/review", Action.CREATE, person.pk),
        *((api_client, m, p, a, None) for m, p, a in ENDPOINTS),
        (api_client, "get", f"/api/audit/entries/{entry.id}", Action.READ, person.pk),
        (api_client, "post", f"/api/audit/entries/{entry.id}/review", Action.CREATE, person.pk),
    ]
    for client, method, path, action, citizen in doors:
        before = _last_id()
        if method == "post":
            response = client.post(
                path, {"comment": "x"}, **({"format": "json"} if client is api_client else {})
            )
        else:
            response = getattr(client, method)(path)
        assert response.status_code == 403, (path, response.status_code)
        [denied] = _denied_since(before, member)
        assert (denied.purpose, denied.action, denied.resource_type) == (
            Purpose.AUDIT,
            action,
            "AuditEvent",
        ), path
        assert denied.citizen_id == citizen, path
        assert denied.reason_code == "role_not_permitted", path


def test_a_cpr_number_posted_to_the_auditors_search_by_another_role_is_recorded_on_her() -> None:
    """The attempt is on the citizen the number names; the number is kept nowhere."""
    nurse = factories.staff(Role.ACUTE_NURSE, factories.acute_function())
    person = factories.citizen()
    before = _last_id()
    response = _logged_in(nurse).post("/audit/", {"cpr": person.cpr})
    assert response.status_code == 403
    [denied] = _denied_since(before, nurse)
    assert denied.citizen_id == person.pk and denied.action == Action.SEARCH
    assert person.cpr not in str(denied.detail) and person.cpr not in denied.resource_id


# --- a witness's alarm is acknowledged in the open ---------------------------------------


def _refusal() -> LogCosignature:
    _cosigned(1)
    return LogCosignature.objects.create(
        checkpoint=_latest(),
        witness="witness.test/w2",
        cosigned_at=timezone.now(),
        refused=True,
        problem="the root at size 6 has changed",
    )


def test_acknowledging_an_alarm_is_recorded_and_the_alarm_stays_in_view() -> None:
    refusal = _refusal()
    auditor = factories.staff(Role.AUDITOR, factories.acute_function())
    client = _logged_in(auditor)
    path = f"/audit/witness-alarms/{refusal.pk}/acknowledge"
    assert f'action="{path}"' in client.get("/audit/").content.decode()
    response = client.post(path)
    assert response.status_code == 302 and response["Location"] == "/audit/"
    [entry] = AuditEntry.objects.filter(resource_type="WitnessAlarm")
    assert (entry.actor_user_id, entry.action, entry.purpose, entry.resource_id) == (
        auditor.user_id,
        Action.UPDATE,
        Purpose.AUDIT,
        str(refusal.pk),
    )
    page = client.get("/audit/").content.decode()
    assert 'data-alarm="witness-refused"' in page  # never dismissed
    assert f"Kvitteret af {auditor.user.username} den" in page
    assert "Kvitteringen er registreret i auditloggen." in page
    assert f'action="{path}"' not in page


def test_an_alarm_that_is_not_there_cannot_be_acknowledged() -> None:
    refusal = _refusal()
    cosigned = LogCosignature.objects.filter(refused=False).first()
    assert cosigned is not None
    auditor = factories.staff(Role.AUDITOR, factories.acute_function())
    client = _logged_in(auditor)
    for missing in (cosigned.pk, refusal.pk + 1000):
        response = client.post(f"/audit/witness-alarms/{missing}/acknowledge")
        assert response.status_code == 404
        assert "Alarmen fra vidnet findes ikke." in response.content.decode()
    assert not AuditEntry.objects.filter(resource_type="WitnessAlarm", outcome="permitted").exists()
    assert client.get(f"/audit/witness-alarms/{refusal.pk}/acknowledge").status_code == 405


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_another_role_cannot_acknowledge_an_alarm_and_the_attempt_is_recorded(role: str) -> None:
    refusal = _refusal()
    member = factories.staff(role, factories.acute_function())
    before = _last_id()
    response = _logged_in(member).post(f"/audit/witness-alarms/{refusal.pk}/acknowledge")
    assert response.status_code == 403
    [denied] = _denied_since(before, member)
    assert (denied.resource_type, denied.action, denied.purpose) == (
        "WitnessAlarm",
        Action.UPDATE,
        Purpose.AUDIT,
    )
    page = _auditor_console()
    assert 'action="/audit/witness-alarms/' in page  # still waiting for an auditor
