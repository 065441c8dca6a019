"""R12: when the hospital's report takes back a visit a nurse is already on
her way to (the citizen admitted, or dead), she is told on her list without
opening the visit, what her tablet queued for it is refused saying why —
on the page's replay and on the API alike, nothing written — and the
coordinator's warning names the visit and the nurse to phone, on the
board, its API and the referral page."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from acute.models import DeadlineWarning, Referral, Visit, VisitNote, VisitSubmission
from acute.services import referrals_hold_for_admission, visit_accept, visit_assign, visit_set_off
from acute.services.visits import visit_withdraw
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.models import Citizen, Membership, Role
from integrations.models import Partner
from tests import factories as f
from tests.core.test_danish_pages import _read
from tests.integrations.medcom.peers import ack_parts, post_signed
from tests.integrations.medcom.test_hospital_notification import MORS, STIN, _example

pytestmark = pytest.mark.django_db

REPLAY = {"HTTP_X_OFFLINE_SEND": "1", "HTTP_X_OFFLINE_REPLAY": "1", "HTTP_ACCEPT_LANGUAGE": "da"}
NURSE_PHONE = "+45 39 99 12 34"
REPORTS = [
    pytest.param(
        STIN, "visit.withdrawn_admitted", "fordi borgeren er indlagt på hospitalet", id="admitted"
    ),
    pytest.param(
        MORS, "visit.withdrawn_deceased", "fordi borgeren er registreret som død", id="deceased"
    ),
]


def _en_route(citizen: Citizen) -> tuple[Membership, Membership, Visit]:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    nurse, shift = f.acute_nurse_on_shift()
    nurse.user.first_name, nurse.user.last_name, nurse.user.phone = "Nanna", "Holm", NURSE_PHONE
    nurse.user.save(update_fields=["first_name", "last_name", "phone"])
    referral = f.acute_referral(person=citizen, by=coordinator)
    visit = visit_assign(referral=referral, shift=shift, actor=Actor.for_membership(coordinator))
    her = Actor.for_membership(nurse)
    for step in (visit_accept, visit_set_off):
        visit = step(visit=visit, actor=her)
    return nurse, coordinator, visit


def _page(membership: Membership) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def _reported(hospital: Partner, message: str) -> None:
    status, body = post_signed(hospital, _example(message))
    assert (status, ack_parts(body)[0]) == (200, "ok")


@pytest.mark.parametrize(("message", "code", "why"), REPORTS)
def test_r12_the_nurse_on_her_way_is_told_on_her_list_without_opening_the_visit(
    hospital: Partner, citizen: Citizen, message: str, code: str, why: str
) -> None:
    nurse, _coordinator, visit = _en_route(citizen)
    tablet = _page(nurse)

    _reported(hospital, message)

    page = tablet.get("/nurse/visits/", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    text = _read(page)[0]
    assert "Besøg, der er trukket tilbage fra dig" in text
    label = "borgeren er indlagt" if message == STIN else "borgeren er død"
    assert f"Trukket tilbage: {label}" in text
    assert "Kør ikke ud til borgeren." in text
    assert f'href="/nurse/visits/{visit.pk}/"' in page
    # Her access ended with the visit (R1): neither name nor address is shown.
    assert citizen.family_name not in text and citizen.address_line not in text
    # Nor does the visit stay among the pages her tablet keeps.
    assert re.search(r'data-own-visits="\s*"', page)


def test_a_visit_withdrawn_by_the_coordinator_is_not_listed_as_the_hospitals(
    citizen: Citizen,
) -> None:
    nurse, coordinator, visit = _en_route(citizen)
    visit_withdraw(visit=visit, note="", actor=Actor.for_membership(coordinator))

    text = _read(_page(nurse).get("/nurse/visits/", HTTP_ACCEPT_LANGUAGE="da").content.decode())[0]

    assert "Besøg, der er trukket tilbage fra dig" not in text


@pytest.mark.parametrize(("message", "code", "why"), REPORTS)
def test_r12_what_her_tablet_queued_for_the_visit_is_refused_saying_why(
    hospital: Partner, citizen: Citizen, message: str, code: str, why: str
) -> None:
    nurse, _coordinator, visit = _en_route(citizen)
    tablet = _page(nurse)

    _reported(hospital, message)

    queued = [
        ("step", {"step": "arrive", "client_ref": "queued-arrive-1"}),
        ("note", {"kind": "note", "text": "Ringer på", "client_ref": "queued-note-1"}),
        ("vitals", {"vital_8867-4": "96", "client_ref": "queued-vitals-1"}),
    ]
    for form, fields in queued:
        answer = tablet.post(f"/nurse/visits/{visit.pk}/{form}/", fields, **REPLAY)
        assert answer.status_code == 409, form
        error = answer.json()["error"]
        assert error["code"] == code
        assert why in error["message"] and "Intet blev gemt" in error["message"]
        assert "koordinatoren" not in error["message"]
        assert "ikke længere dit" not in error["message"]
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED and visit.on_site_at is None
    assert not VisitNote.objects.filter(visit=visit).exists()
    assert not visit.vital_signs.exists()
    assert not VisitSubmission.objects.filter(visit=visit).exists()
    # Each attempt is recorded as denied on the citizen (R9).
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, outcome="denied", resource_type="Encounter"
    ).count() >= len(queued)


@pytest.mark.parametrize(("message", "code", "why"), REPORTS)
def test_r12_a_write_on_the_api_is_refused_saying_why(
    hospital: Partner, citizen: Citizen, message: str, code: str, why: str
) -> None:
    nurse, _coordinator, visit = _en_route(citizen)
    api: APIClient = f.client_for(nurse)

    _reported(hospital, message)

    for url, body in [
        (f"/api/acute/visits/{visit.pk}/on-site", {}),
        (f"/api/acute/visits/{visit.pk}/notes", {"kind": "note", "text": "Ringer på"}),
        (
            f"/api/clinical/visits/{visit.pk}/procedures",
            {"code": "urinary_catheter", "note": "Kateter"},
        ),
    ]:
        answer = api.post(url, body, format="json", HTTP_ACCEPT_LANGUAGE="da")
        assert answer.status_code == 409, (url, answer.content)
        assert answer.json()["error"]["code"] == code
        assert why in answer.json()["error"]["message"]
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED and visit.on_site_at is None
    assert not VisitNote.objects.filter(visit=visit).exists()
    # Reading it is still "not found": her access ended with the visit (R1).
    assert api.get(f"/api/acute/visits/{visit.pk}").status_code == 404


def test_another_nurse_writing_on_the_withdrawn_visit_is_told_nothing(
    hospital: Partner, citizen: Citizen
) -> None:
    _nurse, _coordinator, visit = _en_route(citizen)
    other, _shift = f.acute_nurse_on_shift()

    _reported(hospital, STIN)

    answer = f.client_for(other).post(
        f"/api/acute/visits/{visit.pk}/notes", {"kind": "note", "text": "x"}, format="json"
    )
    assert answer.status_code == 404


@pytest.mark.parametrize(
    ("message", "kind"),
    [(STIN, DeadlineWarning.Kind.ADMITTED), (MORS, DeadlineWarning.Kind.DECEASED)],
)
def test_r12_the_coordinators_warning_names_the_visit_and_the_nurse_to_phone(
    hospital: Partner, citizen: Citizen, message: str, kind: str
) -> None:
    nurse, coordinator, visit = _en_route(citizen)

    _reported(hospital, message)

    assert visit.referral_id is not None
    warning = DeadlineWarning.objects.get(referral_id=visit.referral_id, kind=kind)
    assert warning.detail["visit_withdrawn"] == visit.pk
    assert warning.detail["nurse"] == nurse.user.pk
    line = f"Besøg {visit.pk} er trukket tilbage fra Nanna Holm: ring til hende på {NURSE_PHONE}."
    board = _page(coordinator)
    assert line in _read(board.get("/coordinator/", HTTP_ACCEPT_LANGUAGE="da").content.decode())[0]
    [shown] = [
        w
        for w in f.client_for(coordinator).get("/api/acute/warnings").json()["results"]
        if w["id"] == warning.pk
    ]
    assert shown["visit_withdrawn"] == {
        "visit": visit.pk,
        "nurse_name": "Nanna Holm",
        "nurse_phone": NURSE_PHONE,
    }
    if message == STIN:
        # The referral is held, not closed: its page says it too.
        page = board.get(f"/coordinator/referrals/{visit.referral_id}/", HTTP_ACCEPT_LANGUAGE="da")
        assert line in _read(page.content.decode())[0]


def test_r12_a_held_referral_with_no_visit_withdrawn_names_none(
    hospital: Partner, citizen: Citizen
) -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)

    _reported(hospital, STIN)

    warning = DeadlineWarning.objects.get(referral=referral, kind=DeadlineWarning.Kind.ADMITTED)
    assert "visit_withdrawn" not in warning.detail
    [shown] = [
        w
        for w in f.client_for(coordinator).get("/api/acute/warnings").json()["results"]
        if w["id"] == warning.pk
    ]
    assert shown["visit_withdrawn"] is None


def test_r12_the_hold_names_each_referrals_own_withdrawn_visit(citizen: Citizen) -> None:
    """The local door's service: two referrals, one visit withdrawn from one
    of them; only its warning names it, in the hold's own statement."""
    nurse, coordinator, visit = _en_route(citizen)
    untouched = f.acute_referral(person=citizen, accepted=False, by=coordinator)
    system = Actor.system("integrations.inbound")
    withdrawn = visit_withdraw(
        visit=visit, note="", actor=system, reason=Visit.CancelReason.ADMITTED
    )

    held = referrals_hold_for_admission(
        citizen_id=citizen.pk, admission="h:E1", actor=system, withdrawn=[withdrawn]
    )
    assert visit.referral_id is not None

    assert set(held) == {visit.referral_id, untouched.pk}
    details = dict(
        DeadlineWarning.objects.filter(kind=DeadlineWarning.Kind.ADMITTED).values_list(
            "referral_id", "detail"
        )
    )
    assert details[visit.referral_id] == {
        "admission": "h:E1",
        "visit_withdrawn": visit.pk,
        "nurse": nurse.user.pk,
    }
    assert details[untouched.pk] == {"admission": "h:E1"}
    assert Referral.objects.get(pk=visit.referral_id).on_hold_since is not None
