"""R10: the same citizen referred twice within minutes by two doors (her GP
phones the coordinator, 1813 sends its own referral) is one episode with two
referrals. The nurse at her door reached only the referral she was sent on:
the other stayed on the board as if nobody had come, and the deadline watch
raised it `overdue` while the nurse was with the citizen — or `at_risk` while
a nurse was on her way in time, asking the coordinator for a second nurse."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from acute import services
from acute.models import DeadlineWarning, Referral
from core.models import Organisation, Role
from tests import factories as f
from tests.acute.test_api import REFERRAL

pytestmark = pytest.mark.django_db


def _two_doors():
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    client = f.client_for(coordinator)
    person = f.citizen()
    by_phone = client.post(
        "/api/acute/referrals", {**REFERRAL, "cpr": person.cpr, "source": "gp"}, format="json"
    )
    assert by_phone.status_code == 201, by_phone.content
    helpline = f.organisation(Organisation.Kind.HELPLINE_1813, "Akuttelefonen 1813")
    by_1813 = f.client_for(f.staff(Role.PHYSICIAN, helpline)).post(
        "/api/acute/referrals",
        {**REFERRAL, "cpr": person.cpr, "external_id": "1813-7"},
        format="json",
    )
    assert by_1813.status_code == 201, by_1813.content
    assert by_phone.json()["episode"] == by_1813.json()["episode"]
    return client, by_phone.json()["id"], by_1813.json()["id"]


def _sent_and_on_her_way(client, referral_id: int):
    # One visit at a time: she is no second nurse for the other referral.
    nurse, shift = f.acute_nurse_on_shift(max_load=1)
    assert client.post(f"/api/acute/referrals/{referral_id}/accept").status_code == 200
    visit = client.post(
        f"/api/acute/referrals/{referral_id}/assign", {"shift": shift.pk}, format="json"
    )
    assert visit.status_code == 201, visit.content
    tablet = f.client_for(nurse)
    for step in ("accept", "en-route"):
        assert tablet.post(f"/api/acute/visits/{visit.json()['id']}/{step}").status_code == 200
    return tablet, visit.json()["id"]


def _board_ids(client) -> set[int]:
    return {row["id"] for row in client.get("/api/acute/referrals").json()["results"]}


def test_r10_the_nurse_at_her_door_reaches_the_other_doors_referral_too():
    client, by_phone, by_1813 = _two_doors()
    assert client.post(f"/api/acute/referrals/{by_1813}/accept").status_code == 200
    tablet, visit_id = _sent_and_on_her_way(client, by_phone)
    assert tablet.post(f"/api/acute/visits/{visit_id}/on-site").status_code == 200

    reached = dict(Referral.objects.values_list("pk", "reached_at"))
    assert reached[by_1813] is not None
    assert reached[by_1813] == reached[by_phone]
    assert _board_ids(client) == set()
    # Hours later, the follow-up still open: nothing is overdue, nobody was missed.
    services.deadline_watch(now=timezone.now() + dt.timedelta(hours=3))
    assert not DeadlineWarning.objects.filter(kind__in=["at_risk", "overdue"]).exists()


def test_r10_a_second_referral_awaiting_triage_is_not_overdue_while_a_nurse_is_with_her():
    client, by_phone, by_1813 = _two_doors()
    tablet, visit_id = _sent_and_on_her_way(client, by_phone)
    assert tablet.post(f"/api/acute/visits/{visit_id}/on-site").status_code == 200

    # Still the coordinator's to triage: on the board, not taken as reached.
    assert _board_ids(client) == {by_1813}
    services.deadline_watch(now=timezone.now() + dt.timedelta(hours=3))
    assert not DeadlineWarning.objects.filter(
        referral_id=by_1813, kind__in=["at_risk", "overdue"]
    ).exists()


def test_r10_a_nurse_on_her_way_in_time_keeps_the_other_doors_referral_off_risk():
    client, by_phone, by_1813 = _two_doors()
    assert client.post(f"/api/acute/referrals/{by_1813}/accept").status_code == 200
    _sent_and_on_her_way(client, by_phone)  # the only nurse on shift

    services.deadline_watch()
    assert not DeadlineWarning.objects.filter(kind__in=["at_risk", "overdue"]).exists()
    # Once the deadline passes with nobody at the door, both are overdue.
    services.deadline_watch(now=timezone.now() + dt.timedelta(hours=3))
    assert set(
        DeadlineWarning.objects.filter(kind="overdue").values_list("referral_id", flat=True)
    ) == {by_phone, by_1813}
