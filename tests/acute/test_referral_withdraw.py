"""The coordinator withdraws one referral the referrer called off (R10, R11,
R1): its visit not yet at the door is called back and the nurse's access
through it ends, its deadline warnings are cleared, and an episode left with
nothing to do ends as *Henvisningen bortfaldt*. A referrer who called it off
is not told again; one who did not is told the outcome (R11). Every refusal
writes nothing and is a denied attempt on the citizen's record (R9)."""

from __future__ import annotations

import pytest

from acute.fhir import service_request_resource
from acute.models import DeadlineWarning, Episode, NurseShift, Outcome, Referral, Visit
from acute.services import referral_accept, referral_decline
from consent.audit.models import AuditEntry
from consent.models import CareRelationship
from core.actors import Actor
from core.models import Organisation, Role
from integrations.messages import Event
from integrations.models import OutboundMessage, Partner
from tests import factories as f
from tests.acute.test_pages import _assigned, _login
from tests.integrations.helpers import referral_from_1813

pytestmark = pytest.mark.django_db


def _url(referral: Referral | int) -> str:
    pk = referral if isinstance(referral, int) else referral.pk
    return f"/api/acute/referrals/{pk}/withdraw"


def _coordinator():
    return f.staff(Role.COORDINATOR, f.acute_function())


def _en_route() -> tuple[object, NurseShift, Visit]:
    nurse, shift, visit = _assigned()
    client = f.client_for(nurse)
    for step in ("accept", "en-route"):
        assert client.post(f"/api/acute/visits/{visit.pk}/{step}").status_code == 200
    visit.refresh_from_db()
    return nurse, shift, visit


def _referral_of(visit: Visit) -> Referral:
    assert visit.referral_id is not None
    return Referral.objects.get(pk=visit.referral_id)


def _denied(referral: Referral, code: str) -> int:
    return AuditEntry.objects.filter(
        citizen_id=referral.citizen_id,
        outcome="denied",
        resource_type="ServiceRequest",
        reason_code=code,
    ).count()


def _nurse_relationship_open(visit: Visit) -> bool:
    return CareRelationship.objects.filter(
        source_type="acute.visit", source_id=str(visit.pk), ended_at__isnull=True
    ).exists()


def test_r1_withdrawing_calls_back_the_nurse_on_her_way_and_the_episode_lapses() -> None:
    nurse, shift, visit = _en_route()
    referral = _referral_of(visit)
    at_risk = DeadlineWarning.objects.create(referral=referral, kind=DeadlineWarning.Kind.AT_RISK)
    assert _nurse_relationship_open(visit)

    response = f.client_for(_coordinator()).post(
        _url(referral),
        {"reason": "called_off", "note": "Egen læge: datteren har taget hende med hjem"},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "withdrawn"
    assert body["withdrawal"]["reason"] == "called_off"
    referral.refresh_from_db()
    assert referral.withdraw_note == "Egen læge: datteren har taget hende med hjem"
    # Her tablet shows the visit withdrawn and why; her access through it ended (R1).
    visit.refresh_from_db()
    assert (visit.status, visit.cancel_reason) == ("cancelled", "called_off")
    assert visit.cancel_note == referral.withdraw_note
    assert not _nurse_relationship_open(visit)
    assert f.client_for(nurse).get(f"/api/acute/visits/{visit.pk}").status_code in (403, 404)
    shift.refresh_from_db()
    assert shift.status == NurseShift.Status.AVAILABLE
    # Nobody is to go any more: the deadline warning is answered.
    at_risk.refresh_from_db()
    assert at_risk.acknowledged_at is not None
    # Nothing was done for her and nothing is left: the episode lapsed (R11),
    # and the referrer who called it off is not told again.
    episode = Episode.objects.get(pk=referral.episode_id)
    assert (episode.status, episode.outcome) == ("completed", Outcome.REFERRAL_LAPSED)
    assert not DeadlineWarning.objects.filter(
        kind=DeadlineWarning.Kind.REFERRER_UNTOLD, referral=referral
    ).exists()
    assert not DeadlineWarning.objects.filter(kind=DeadlineWarning.Kind.HANDBACK_UNSENT).exists()
    assert AuditEntry.objects.filter(
        citizen_id=referral.citizen_id,
        outcome="permitted",
        action="update",
        resource_type="ServiceRequest",
        resource_id=str(referral.pk),
        detail__step="withdrawn",
    ).exists()
    assert service_request_resource(referral)["status"] == "revoked"


def test_r11_a_referrer_who_did_not_call_it_off_is_told_the_episode_lapsed() -> None:
    coordinator = _coordinator()
    referral = f.acute_referral(by=coordinator)

    response = f.client_for(coordinator).post(
        _url(referral), {"reason": "admitted_elsewhere"}, format="json"
    )

    assert response.status_code == 200, response.content
    episode = Episode.objects.get(pk=referral.episode_id)
    assert episode.outcome == Outcome.REFERRAL_LAPSED
    # Without a note the reason is what the referrer reads, in Danish.
    assert episode.outcome_note == "Indlagt eller hjulpet andetsteds"
    # A GP's phone referral has no partner: the coordinator phones (R11, 0027).
    assert DeadlineWarning.objects.filter(
        kind=DeadlineWarning.Kind.REFERRER_UNTOLD, referral=referral, acknowledged_at=None
    ).exists()


def test_a_referral_awaiting_triage_is_withdrawn_too() -> None:
    coordinator = _coordinator()
    referral = f.acute_referral(accepted=False, by=coordinator)

    response = f.client_for(coordinator).post(
        _url(referral), {"reason": "entered_in_error"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert Episode.objects.get(pk=referral.episode_id).status == "completed"


def test_the_episode_stays_open_for_its_other_referral() -> None:
    coordinator = _coordinator()
    first = f.acute_referral(by=coordinator)
    second = f.acute_referral(person=first.citizen, by=coordinator)
    assert second.episode_id == first.episode_id

    response = f.client_for(coordinator).post(_url(first), {"reason": "called_off"}, format="json")

    assert response.status_code == 200, response.content
    assert Episode.objects.get(pk=first.episode_id).status == "open"
    second.refresh_from_db()
    assert second.status == Referral.Status.ACCEPTED


def _unchanged(referral: Referral, status: str) -> None:
    referral.refresh_from_db()
    assert referral.status == status
    assert referral.withdrawn_at is None
    assert referral.withdraw_reason == ""


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "referral.withdraw_reason_required"),
        ({"reason": "  "}, "referral.withdraw_reason_required"),
        ({"reason": "bored"}, "referral.withdraw_reason_unknown"),
        ({"reason": "other", "note": " "}, "referral.withdraw_note_required"),
        ({"reason": "other", "note": "x" * 4001}, "referral.withdraw_note_too_long"),
        ({"reason": "other", "note": "Har F32.1"}, "record.psychiatric_code_in_text"),
    ],
)
def test_a_withdrawal_without_a_usable_reason_is_refused_and_audited(body, code) -> None:
    coordinator = _coordinator()
    referral = f.acute_referral(by=coordinator)

    response = f.client_for(coordinator).post(_url(referral), body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    _unchanged(referral, Referral.Status.ACCEPTED)
    assert _denied(referral, code) == 1


def test_a_nurse_on_site_ends_her_visit_herself_and_the_withdrawal_is_refused() -> None:
    nurse, _shift, visit = _en_route()
    assert f.client_for(nurse).post(f"/api/acute/visits/{visit.pk}/on-site").status_code == 200
    referral = _referral_of(visit)

    response = f.client_for(_coordinator()).post(
        _url(referral), {"reason": "called_off"}, format="json"
    )

    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "referral.nurse_on_site"
    _unchanged(referral, Referral.Status.ACCEPTED)
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ON_SITE
    assert _nurse_relationship_open(visit)
    assert _denied(referral, "referral.nurse_on_site") == 1


def test_a_referral_already_ended_is_not_withdrawn_again() -> None:
    coordinator = _coordinator()
    client = f.client_for(coordinator)
    referral = f.acute_referral(by=coordinator)
    other = f.acute_referral(person=referral.citizen, by=coordinator)
    assert client.post(_url(referral), {"reason": "called_off"}, format="json").status_code == 200

    again = client.post(_url(referral), {"reason": "called_off"}, format="json")

    assert again.status_code == 409, again.content
    assert again.json()["error"]["code"] == "referral.already_ended"
    assert "trukket tilbage" in again.json()["error"]["message"]
    assert _denied(referral, "referral.already_ended") == 1
    declined = f.acute_referral(accepted=False, by=coordinator, person=other.citizen)
    referral_decline(referral=declined, reason="Ikke akut", actor=Actor.for_membership(coordinator))
    refused = client.post(_url(declined), {"reason": "called_off"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "referral.already_ended"


@pytest.mark.parametrize("role", [Role.ACUTE_NURSE, Role.PHYSICIAN, Role.AUDITOR])
def test_only_a_coordinator_withdraws_and_a_refused_role_is_audited(role) -> None:
    referral = f.acute_referral()
    organisation = f.acute_function() if role != Role.PHYSICIAN else f.gp_practice()
    before = AuditEntry.objects.filter(citizen_id=referral.citizen_id, outcome="denied").count()

    response = f.client_for(f.staff(role, organisation)).post(
        _url(referral), {"reason": "called_off"}, format="json"
    )

    assert response.status_code == 403, response.content
    _unchanged(referral, Referral.Status.ACCEPTED)
    after = AuditEntry.objects.filter(citizen_id=referral.citizen_id, outcome="denied").count()
    assert after == before + 1


def test_the_coordinators_page_asks_her_to_confirm_calling_back_a_nurse_on_her_way() -> None:
    _nurse, _shift, visit = _en_route()
    referral = _referral_of(visit)
    client = _login(_coordinator())
    page = client.get(f"/coordinator/referrals/{referral.pk}/").content.decode()
    assert "Træk henvisningen tilbage" in page
    assert "Afmeldt af henviseren" in page
    assert "data-nurse-en-route" in page

    unconfirmed = client.post(
        f"/coordinator/referrals/{referral.pk}/withdraw/", {"reason": "called_off"}
    )

    assert unconfirmed.status_code == 400
    html = unconfirmed.content.decode()
    assert 'data-code="referral.withdraw_confirm_required"' in html
    assert "bekræft, at hun kaldes tilbage" in html
    _unchanged(referral, Referral.Status.ACCEPTED)
    assert _denied(referral, "referral.withdraw_confirm_required") == 1

    confirmed = client.post(
        f"/coordinator/referrals/{referral.pk}/withdraw/",
        {"reason": "called_off", "confirm": "1"},
    )

    assert confirmed.status_code == 302
    referral.refresh_from_db()
    assert referral.status == Referral.Status.WITHDRAWN
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED


def test_the_page_refuses_another_reason_without_a_note_in_danish() -> None:
    coordinator = _coordinator()
    referral = f.acute_referral(by=coordinator)

    page = _login(coordinator).post(
        f"/coordinator/referrals/{referral.pk}/withdraw/", {"reason": "other"}
    )

    assert page.status_code == 400
    html = page.content.decode()
    assert 'data-code="referral.withdraw_note_required"' in html
    assert "Skriv en note om, hvorfor henvisningen trækkes tilbage." in html
    _unchanged(referral, Referral.Status.ACCEPTED)


def _from_1813(*, partner: bool = True) -> tuple[Partner | None, object, Referral]:
    helpline = f.organisation(Organisation.Kind.HELPLINE_1813, "Akuttelefonen 1813")
    known = (
        f.integration_partner(
            Partner.Kind.HELPLINE_1813, helpline, endpoint_url="http://127.0.0.1:8679/inbox"
        )
        if partner
        else None
    )
    coordinator = _coordinator()
    actor = Actor.for_membership(coordinator)
    referral = referral_from_1813(
        f.citizen(municipality_code="157"), helpline, by=actor, external_id="1813-91"
    )
    return known, coordinator, referral_accept(referral=referral, actor=actor)


def _tasks(partner: Partner | None) -> list[dict]:
    return [
        next(e["resource"] for e in m.bundle["entry"] if e["resource"]["resourceType"] == "Task")
        for m in OutboundMessage.objects.filter(
            partner=partner, event=Event.REFERRAL_STATUS
        ).order_by("pk")
    ]


def _code(task: dict) -> str:
    return task["businessStatus"]["coding"][0]["code"]


def _withdrawn_from_1813(reason: str) -> list[dict]:
    partner, coordinator, referral = _from_1813()

    response = f.client_for(coordinator).post(_url(referral), {"reason": reason}, format="json")

    assert response.status_code == 200, response.content
    assert not DeadlineWarning.objects.filter(kind=DeadlineWarning.Kind.REFERRER_UNTOLD).exists()
    return _tasks(partner)


def test_r11_1813_reads_a_referral_withdrawn_on_a_relatives_call_as_lapsed() -> None:
    tasks = _withdrawn_from_1813("admitted_elsewhere")

    # Once: the lapse is the end 1813 reads, not a withdrawal and a lapse.
    assert [t["status"] for t in tasks] == ["accepted", "cancelled"]
    assert _code(tasks[-1]) == "referral-lapsed"
    assert tasks[-1]["statusReason"]["text"] == "Indlagt eller hjulpet andetsteds"


@pytest.mark.parametrize(
    ("reason", "reads"),
    [("called_off", "Afmeldt af henviseren"), ("entered_in_error", "Registreret ved en fejl")],
)
def test_r11_1813s_task_ends_cancelled_when_the_referral_is_withdrawn_on_its_call(
    reason, reads
) -> None:
    tasks = _withdrawn_from_1813(reason)

    # Never left "accepted": 1813's physician reads that nobody is sent.
    assert [t["status"] for t in tasks] == ["accepted", "cancelled"]
    assert _code(tasks[-1]) == "withdrawn"
    assert tasks[-1]["businessStatus"]["text"] == (
        "Akutfunktionen har trukket henvisningen tilbage: der sendes ingen sygeplejerske"
    )
    assert tasks[-1]["statusReason"]["text"] == reads
    assert "output" not in tasks[-1]
    # Within the envelope's rules: it goes, it is not parked for a person.
    assert not OutboundMessage.objects.filter(status=OutboundMessage.Status.FAILED).exists()


def test_r11_the_coordinators_page_tells_1813_of_the_withdrawal_too() -> None:
    partner, coordinator, referral = _from_1813()

    response = _login(coordinator).post(
        f"/coordinator/referrals/{referral.pk}/withdraw/",
        {"reason": "called_off", "note": "1813 ringede: datteren kører hende"},
    )

    assert response.status_code == 302
    tasks = _tasks(partner)
    assert [(t["status"], _code(t)) for t in tasks] == [
        ("accepted", "accepted"),
        ("cancelled", "withdrawn"),
    ]
    assert tasks[-1]["statusReason"]["text"] == "1813 ringede: datteren kører hende"


def test_r11_1813_withdrawn_while_another_referral_goes_on_is_told_at_once_and_once() -> None:
    partner, coordinator, referral = _from_1813()
    other = f.acute_referral(person=referral.citizen, by=coordinator)
    assert other.episode_id == referral.episode_id
    client = f.client_for(coordinator)

    withdrawn = client.post(_url(referral), {"reason": "called_off"}, format="json")
    assert withdrawn.status_code == 200, withdrawn.content
    assert [t["status"] for t in _tasks(partner)] == ["accepted", "cancelled"]

    ended = client.post(
        f"/api/acute/episodes/{referral.episode_id}/complete",
        {"outcome": "treated_at_home", "note": ""},
        format="json",
    )

    assert ended.status_code == 200, ended.content
    # 1813 called it off itself: the withdrawal was its answer, nothing more.
    assert [t["status"] for t in _tasks(partner)] == ["accepted", "cancelled"]


def test_r11_1813_withdrawn_on_a_relatives_call_reads_the_later_outcome_still_cancelled() -> None:
    partner, coordinator, referral = _from_1813()
    f.acute_referral(person=referral.citizen, by=coordinator)
    client = f.client_for(coordinator)

    assert (
        client.post(_url(referral), {"reason": "admitted_elsewhere"}, format="json").status_code
        == 200
    )
    ended = client.post(
        f"/api/acute/episodes/{referral.episode_id}/complete",
        {"outcome": "admitted", "note": ""},
        format="json",
    )

    assert ended.status_code == 200, ended.content
    tasks = _tasks(partner)
    # A cancelled Task never turns completed; the outcome rides along (R11).
    assert [(t["status"], _code(t)) for t in tasks] == [
        ("accepted", "accepted"),
        ("cancelled", "withdrawn"),
        ("cancelled", "withdrawn"),
    ]
    assert tasks[-1]["output"][0]["valueCodeableConcept"]["coding"][0]["code"] == "admitted"


def test_r11_a_withdrawal_1813_cannot_be_sent_is_on_the_coordinators_board() -> None:
    _none, coordinator, referral = _from_1813(partner=False)

    response = f.client_for(coordinator).post(
        _url(referral), {"reason": "called_off"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert not OutboundMessage.objects.filter(event=Event.REFERRAL_STATUS).exists()
    assert DeadlineWarning.objects.filter(
        kind=DeadlineWarning.Kind.STATUS_UNSENT, referral=referral, acknowledged_at=None
    ).exists()
    assert AuditEntry.objects.filter(
        citizen_id=referral.citizen_id, outcome="denied", reason_code="no_recipient"
    ).exists()
