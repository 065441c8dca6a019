"""What the hospital's HospitalNotifications change is told, in Danish, to
those who act on it (R12): the coordinator reads on her board and on the
referral page why a hold was lifted — the discharge, or the hospital
cancelling the admission — and that a citizen was admitted while a nurse is
on her referral; the nurse at the door of a citizen the hospital reports
dead is told on her visit page, and her visit is neither withdrawn nor its
referral closed under her. Every change is audited as the background work
that received the message."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from acute.models import DeadlineWarning, Referral, Visit
from acute.services import (
    visit_accept,
    visit_arrive,
    visit_assign,
    visit_set_off,
    warning_acknowledge,
)
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.labels import TASKS
from core.models import Citizen, Role
from integrations.models import Partner
from tests import factories as f
from tests.core.test_danish_pages import _read
from tests.integrations.medcom.peers import ack_parts, post_signed
from tests.integrations.medcom.test_hospital_notification import (
    AN_STIN,
    MORS,
    SLHJ,
    STIN,
    _example,
)

pytestmark = pytest.mark.django_db

ON_HOLD = "Borgeren er indlagt: henvisningen er sat i bero"


def _page(client: Client, url: str) -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="da")
    assert response.status_code == 200
    return _read(response.content.decode())[0]


def _coordinator() -> tuple[Client, Actor]:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    client = Client()
    assert f.log_in(client, coordinator).status_code == 302
    return client, Actor.for_membership(coordinator)


def _received(hospital: Partner, name: str) -> None:
    status, body = post_signed(hospital, _example(name))
    assert (status, ack_parts(body)[0]) == (200, "ok")


def test_r12_a_cancelled_admission_lifts_the_hold_and_the_coordinator_reads_why(
    hospital: Partner, citizen: Citizen
) -> None:
    referral = f.acute_referral(person=citizen, accepted=False)
    client, actor = _coordinator()
    _received(hospital, STIN)
    assert ON_HOLD in _page(client, "/coordinator/")
    # She has seen the admission: the warning leaves her board.
    warning = DeadlineWarning.objects.get(referral=referral, kind=DeadlineWarning.Kind.ADMITTED)
    warning_acknowledge(warning=warning, actor=actor)

    _received(hospital, AN_STIN)

    referral.refresh_from_db()
    assert referral.on_hold_since is None
    warning.refresh_from_db()
    # Raised again, so the coordinator sees the referral is hers to serve again, and why.
    assert warning.acknowledged_at is None and warning.detail["resumed"] == "admission_cancelled"
    cancelled = "Hospitalet har annulleret indlæggelsen: henvisningen er genoptaget"
    board = _page(client, "/coordinator/")
    assert cancelled in board and ON_HOLD not in board
    assert "admission_cancelled" not in board
    assert cancelled in _page(client, f"/coordinator/referrals/{referral.pk}/")
    # Audited as the background work that received the message, named in Danish.
    entry = AuditEntry.objects.filter(
        citizen_id=citizen.pk, resource_type="ServiceRequest", detail__step="resumed"
    ).get()
    assert entry.detail["reason"] == "hospital_admission_cancelled"
    assert entry.task == "integrations.process_message"
    with translation.override("da"):
        assert str(TASKS[entry.task]) == "meddelelse modtaget"


def test_r12_a_discharge_tells_the_coordinator_the_referral_is_resumed(
    hospital: Partner, citizen: Citizen
) -> None:
    referral = f.acute_referral(person=citizen, accepted=False)
    client, _actor = _coordinator()
    _received(hospital, STIN)
    _received(hospital, SLHJ)
    referral.refresh_from_db()
    assert referral.on_hold_since is None
    discharged = "Borgeren er udskrevet: henvisningen er genoptaget"
    board = _page(client, "/coordinator/")
    assert discharged in board and ON_HOLD not in board
    assert discharged in _page(client, f"/coordinator/referrals/{referral.pk}/")


def _on_site(citizen: Citizen) -> tuple[Client, Visit]:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(person=citizen, by=coordinator)
    visit = visit_assign(referral=referral, shift=shift, actor=Actor.for_membership(coordinator))
    her = Actor.for_membership(nurse)
    for step in (visit_accept, visit_set_off, visit_arrive):
        visit = step(visit=visit, actor=her)
    client = Client()
    assert f.log_in(client, nurse).status_code == 302
    return client, visit


def test_r12_an_admission_while_the_nurse_is_on_the_referral_is_not_called_a_hold(
    hospital: Partner, citizen: Citizen
) -> None:
    _nurse, visit = _on_site(citizen)
    client, _actor = _coordinator()
    _received(hospital, STIN)
    assert visit.referral is not None
    visit.referral.refresh_from_db()
    assert visit.referral.on_hold_since is None
    board = _page(client, "/coordinator/")
    assert "Borgeren er indlagt, mens en sygeplejerske er på henvisningen" in board
    assert ON_HOLD not in board


def test_r12_a_death_during_a_visit_under_way_tells_the_nurse_and_leaves_her_visit(
    hospital: Partner, citizen: Citizen
) -> None:
    nurse_client, visit = _on_site(citizen)
    waiting = f.acute_referral(person=citizen, accepted=False)
    coordinator, _actor = _coordinator()

    _received(hospital, MORS)

    citizen.refresh_from_db()
    visit.refresh_from_db()
    waiting.refresh_from_db()
    assert citizen.deceased_at is not None
    assert waiting.status == Referral.Status.CLOSED
    # Her visit is hers to finish and document; its referral is not closed under her.
    assert visit.status == Visit.Status.ON_SITE
    assert visit.referral is not None
    visit.referral.refresh_from_db()
    assert visit.referral.status == Referral.Status.ACCEPTED
    warning = DeadlineWarning.objects.get(
        referral=visit.referral, kind=DeadlineWarning.Kind.DECEASED
    )
    assert warning.detail["visit_under_way"] == visit.pk
    told = "Borgeren er registreret død under det igangværende besøg: afslut og dokumentér besøget"
    assert told in _page(nurse_client, f"/nurse/visits/{visit.pk}/")
    assert told in _page(coordinator, "/coordinator/")
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk,
        resource_type="ServiceRequest",
        detail__step="deceased_warning",
        task="integrations.process_message",
    ).exists()
