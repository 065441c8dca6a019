"""A referral is stored as it was sent or refused: a referrer who states
another source than her organisation's kind, or a coordinator who gives a
referring organisation's number (``external_id``) to a referral typed in
from a phone call, is refused and the attempt recorded (R9), never answered
201 with the value replaced or dropped."""

from __future__ import annotations

import pytest

from acute.models import Referral
from consent.audit.models import AuditEntry
from core.models import Role
from tests import factories as f
from tests.acute.test_api import REFERRAL

pytestmark = pytest.mark.django_db


def _denied(citizen_id: int, code: str) -> bool:
    return AuditEntry.objects.filter(
        citizen_id=citizen_id, outcome="denied", reason_code=code
    ).exists()


@pytest.mark.parametrize("stated", ["helpline_1813", "hospital", "home_nursing"])
def test_a_gp_stating_another_source_is_refused_and_recorded(stated: str) -> None:
    gp = f.gp_practice()
    physician = f.staff(Role.PHYSICIAN, gp)
    person = f.citizen(gp=gp)

    response = f.client_for(physician).post(
        "/api/acute/referrals",
        {**REFERRAL, "citizen_id": person.pk, "source": stated},
        format="json",
    )

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("referral.source_not_yours", "source")
    assert "(gp)" in error["message"] and "organisations" in error["message"]
    assert not Referral.objects.filter(citizen=person).exists()
    assert _denied(person.pk, "referral.source_not_yours")


def test_a_referrer_stating_her_own_source_or_none_is_taken() -> None:
    f.acute_function()  # serving her municipality
    home = f.home_nursing("157")
    home_nurse = f.staff(Role.HOME_NURSE, home)
    person = f.citizen()
    client = f.client_for(home_nurse)

    for body in (
        {**REFERRAL, "citizen_id": person.pk, "source": "home_nursing"},
        {**REFERRAL, "citizen_id": person.pk},
    ):
        response = client.post("/api/acute/referrals", body, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["source"] == "home_nursing"


def test_a_home_nurse_stating_gp_is_refused() -> None:
    home_nurse = f.staff(Role.HOME_NURSE, f.home_nursing("157"))
    person = f.citizen()

    response = f.client_for(home_nurse).post(
        "/api/acute/referrals",
        {**REFERRAL, "citizen_id": person.pk, "source": "gp"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "referral.source_not_yours"
    assert not Referral.objects.filter(citizen=person).exists()


def test_a_coordinators_typed_referral_with_an_external_id_is_refused_not_dropped() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    person = f.citizen()

    response = f.client_for(coordinator).post(
        "/api/acute/referrals",
        {**REFERRAL, "citizen_id": person.pk, "source": "gp", "external_id": "GP-4711"},
        format="json",
    )

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("referral.external_id_not_taken", "external_id")
    assert "udelad" in error["message"]
    assert not Referral.objects.filter(citizen=person).exists()
    assert _denied(person.pk, "referral.external_id_not_taken")
