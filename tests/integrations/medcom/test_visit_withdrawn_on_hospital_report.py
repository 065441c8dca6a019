"""A visit the hospital's report takes back says why (R12): the nurse on her
way, who opens her visit, and the coordinator, on the referral page, read
that the citizen was admitted or has died — not that the coordinator
withdrew it — and the note in Danish, whichever report it was."""

from __future__ import annotations

import pytest
from django.test import Client

from acute.models import Visit
from acute.services import visit_accept, visit_assign, visit_set_off
from core.actors import Actor
from core.models import Citizen, Role
from integrations.models import Partner
from tests import factories as f
from tests.core.test_danish_pages import _read
from tests.integrations.medcom.peers import ack_parts, post_signed
from tests.integrations.medcom.test_hospital_notification import MORS, STIN, _example

pytestmark = pytest.mark.django_db

BY_THE_COORDINATOR = "Trukket tilbage af koordinatoren"


def _en_route(citizen: Citizen) -> tuple[Client, Client, Visit]:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(person=citizen, by=coordinator)
    visit = visit_assign(referral=referral, shift=shift, actor=Actor.for_membership(coordinator))
    her = Actor.for_membership(nurse)
    for step in (visit_accept, visit_set_off):
        visit = step(visit=visit, actor=her)
    nurse_client, coordinator_client = Client(), Client()
    assert f.log_in(nurse_client, nurse).status_code == 302
    assert f.log_in(coordinator_client, coordinator).status_code == 302
    return nurse_client, coordinator_client, visit


def _read_da(client: Client, url: str) -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="da")
    # Her own visit, cancelled: she is told why, though her access ended with it.
    assert response.status_code in (200, 403)
    return _read(response.content.decode())[0]


@pytest.mark.parametrize(
    ("message", "why", "note"),
    [
        (STIN, "Trukket tilbage: borgeren er indlagt", "Borgeren blev indlagt på hospitalet."),
        (MORS, "Trukket tilbage: borgeren er død", "Borgeren er registreret som død."),
    ],
)
def test_r12_the_nurse_on_her_way_reads_why_the_hospitals_report_took_her_visit(
    hospital: Partner, citizen: Citizen, message: str, why: str, note: str
) -> None:
    nurse, coordinator, visit = _en_route(citizen)

    status, body = post_signed(hospital, _example(message))

    assert (status, ack_parts(body)[0]) == (200, "ok")
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED
    pages = [_read_da(nurse, f"/nurse/visits/{visit.pk}/")]
    if message == STIN:
        # The referral is held, not closed: the coordinator reads it there too.
        pages.append(_read_da(coordinator, f"/coordinator/referrals/{visit.referral_id}/"))
    for page in pages:
        assert why in page and note in page
        assert BY_THE_COORDINATOR not in page
        assert "registered deceased" not in page
