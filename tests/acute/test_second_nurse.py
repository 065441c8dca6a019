"""R10: the same citizen referred twice within minutes (her GP by phone, 1813
by message) is one episode with two referrals. Accepting both, the
coordinator could send a second nurse on the second referral while the first
was already on her way, without a word. Now a second nurse for a citizen a
nurse is already going to is ``409 episode.nurse_already_going`` naming that
nurse (no CPR), audited, unless the coordinator confirms (``also``); the
automatic dispatch sends nobody; the board and the referral page say that a
nurse is already on her way."""

from __future__ import annotations

import pytest
from django.test import override_settings

from acute import services
from acute.models import Visit
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.models import Role
from tests import factories as f
from tests.acute.test_pages import _login
from tests.acute.test_referral_two_doors_one_citizen import _sent_and_on_her_way, _two_doors

pytestmark = pytest.mark.django_db


def test_a_second_nurse_is_refused_naming_the_first_unless_confirmed():
    client, by_phone, by_1813 = _two_doors()
    _tablet, first_visit = _sent_and_on_her_way(client, by_phone)
    first_nurse = Visit.objects.get(pk=first_visit).nurse
    assert client.post(f"/api/acute/referrals/{by_1813}/accept").status_code == 200
    _other, shift = f.acute_nurse_on_shift()

    refused = client.post(
        f"/api/acute/referrals/{by_1813}/assign", {"shift": shift.pk}, format="json"
    )

    assert refused.status_code == 409, refused.content
    error = refused.json()["error"]
    assert error["code"] == "episode.nurse_already_going"
    assert error["nurse"] == {"id": first_nurse.pk, "name": first_nurse.display_name}
    assert error["referral"] == by_phone
    assert first_nurse.display_name in error["message"]
    assert Visit.objects.get(pk=first_visit).citizen.cpr not in refused.content.decode()
    assert not Visit.objects.filter(referral_id=by_1813).exists()
    assert AuditEntry.objects.filter(
        outcome="denied", reason_code="episode.nurse_already_going"
    ).exists()

    confirmed = client.post(
        f"/api/acute/referrals/{by_1813}/assign",
        {"shift": shift.pk, "also": True},
        format="json",
    )
    assert confirmed.status_code == 201, confirmed.content
    assert Visit.objects.filter(referral_id=by_1813, status="assigned").count() == 1


@override_settings(ACUTE_AUTO_ASSIGN=True)
def test_auto_assignment_sends_no_second_nurse():
    client, by_phone, by_1813 = _two_doors()
    f.acute_nurse_on_shift()
    assert client.post(f"/api/acute/referrals/{by_phone}/accept").status_code == 200
    assert Visit.objects.filter(referral_id=by_phone, status="assigned").count() == 1
    f.acute_nurse_on_shift()  # free, and would be sent on the second referral

    assert client.post(f"/api/acute/referrals/{by_1813}/accept").status_code == 200

    assert not Visit.objects.filter(referral_id=by_1813).exists()
    assert services.planned_referrals_dispatch() == 0
    assert not Visit.objects.filter(referral_id=by_1813).exists()


def test_the_board_and_the_page_say_a_nurse_is_already_on_her_way():
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    person = f.citizen()
    first = f.acute_referral(person=person, by=coordinator)
    second = f.acute_referral(person=person, by=coordinator)
    assert first.episode_id == second.episode_id
    nurse, shift = f.acute_nurse_on_shift()
    services.visit_assign(referral=first, shift=shift, actor=Actor.for_membership(coordinator))
    _other, other_shift = f.acute_nurse_on_shift()
    page_client = _login(coordinator)
    name = nurse.user.display_name

    board = page_client.get("/coordinator/").content.decode()
    assert f"{name} er allerede sendt til borgeren på en anden henvisning" in board
    assert "episode.nurse_already_going" not in board

    page = page_client.get(f"/coordinator/referrals/{second.pk}/").content.decode()
    assert f"{name} er allerede sendt til borgeren på en anden henvisning" in page

    # Assign: refused with the confirm step; confirmed, the second nurse goes.
    assign = f"/coordinator/referrals/{second.pk}/assign/"
    refused = page_client.post(assign, {"shift_id": str(other_shift.pk)})
    body = refused.content.decode()
    assert refused.status_code == 409
    assert name in body
    assert 'name="also" value="1"' in body
    assert not Visit.objects.filter(referral=second).exists()
    confirmed = page_client.post(assign, {"shift_id": str(other_shift.pk), "also": "1"})
    assert confirmed.status_code == 302
    assert Visit.objects.get(referral=second).shift_id == other_shift.pk
