"""Where its referral stands, back to 1813 (R11: the referrer is told)."""

from __future__ import annotations

import pytest

from acute import services as acute
from acute.models import DeadlineWarning
from core.actors import Actor
from core.models import Organisation, Role
from integrations.messages import Event
from integrations.models import OutboundMessage, Partner
from tests import factories as f
from tests.integrations.helpers import referral_from_1813

pytestmark = pytest.mark.django_db


def test_r11_a_declined_1813_referral_tells_1813_why() -> None:
    helpline = f.organisation(Organisation.Kind.HELPLINE_1813, "Akuttelefonen 1813")
    partner = f.integration_partner(
        Partner.Kind.HELPLINE_1813, helpline, endpoint_url="http://127.0.0.1:8679/inbox"
    )
    coordinator = Actor.for_membership(f.staff(Role.COORDINATOR, f.acute_function()))
    referral = referral_from_1813(f.citizen(), helpline, by=coordinator, external_id="1813-4712")

    acute.referral_decline(referral=referral, reason="Borgeren er indlagt", actor=coordinator)

    [message] = OutboundMessage.objects.filter(event=Event.REFERRAL_STATUS)
    assert message.partner == partner
    task = next(
        e["resource"] for e in message.bundle["entry"] if e["resource"]["resourceType"] == "Task"
    )
    assert task["status"] == "rejected"
    assert task["businessStatus"]["coding"][0]["code"] == "declined"
    assert task["statusReason"]["text"] == "Borgeren er indlagt"
    assert task["focus"]["identifier"]["value"] == "1813-4712"
    header = message.bundle["entry"][0]["resource"]
    assert header["eventCoding"]["code"] == Event.REFERRAL_STATUS
    # MedCom has no standard for it: the MedCom envelope with the platform's own
    # event and MessageDefinition, never declared as a MedCom message.
    assert header["eventCoding"]["system"] == "urn:tvaerakut:message-event"
    assert header["definition"] == "urn:tvaerakut:MessageDefinition:acute-referral-status|1.0"
    assert "meta" not in message.bundle and "meta" not in header
    assert all(e["fullUrl"] == f"urn:uuid:{e['resource']['id']}" for e in message.bundle["entry"])
    patient = next(
        e["resource"] for e in message.bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    assert patient["meta"]["profile"][0].endswith("medcom-core-patient")
    assert task["for"]["reference"] == f"urn:uuid:{patient['id']}"


def test_r11_a_declined_1813_referral_is_not_told_completed_when_the_episode_ends() -> None:
    """Two 1813 referrals for one citizen in one open episode: the second is
    declined (1813 reads "rejected"). When the episode ends, 1813 is told the
    outcome of the one the acute function took on, and nothing more about the
    declined one: a rejected Task never turns completed."""
    helpline = f.organisation(Organisation.Kind.HELPLINE_1813, "Akuttelefonen 1813")
    partner = f.integration_partner(
        Partner.Kind.HELPLINE_1813, helpline, endpoint_url="http://127.0.0.1:8679/inbox"
    )
    f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("157"))
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    actor = Actor.for_membership(coordinator)
    citizen = f.citizen(municipality_code="157")
    taken = referral_from_1813(citizen, helpline, by=actor, external_id="1813-1")
    taken = acute.referral_accept(referral=taken, actor=actor)
    again = referral_from_1813(citizen, helpline, by=actor, external_id="1813-2")
    assert again.episode_id == taken.episode_id
    acute.referral_decline(referral=again, reason="Allerede i forløb", actor=actor)

    response = f.client_for(coordinator).post(
        f"/api/acute/episodes/{taken.episode_id}/complete",
        {"outcome": "treated_at_home"},
        format="json",
    )
    assert response.status_code == 200, response.content

    told: dict[str, list[str]] = {}
    for message in OutboundMessage.objects.filter(partner=partner).order_by("pk"):
        [task] = [
            e["resource"]
            for e in message.bundle["entry"]
            if e["resource"]["resourceType"] == "Task"
        ]
        told.setdefault(task["focus"]["identifier"]["value"], []).append(task["status"])
    assert told["1813-2"] == ["rejected"]
    assert told["1813-1"][-1] == "completed"
    assert told["1813-1"].count("completed") == 1
    # Nothing owed to the declined referral's referrer is raised or withheld.
    assert not DeadlineWarning.objects.filter(referral=again).exists()


def _task_codes() -> list[str]:
    codes = []
    for message in OutboundMessage.objects.filter(event=Event.REFERRAL_STATUS).order_by("pk"):
        task = next(
            e["resource"]
            for e in message.bundle["entry"]
            if e["resource"]["resourceType"] == "Task"
        )
        codes.append(task["businessStatus"]["coding"][0]["code"])
    return codes


def test_r12_1813_is_told_when_the_nurse_is_with_the_citizen() -> None:
    """Accepted, nurse assigned, on the way, and at the door: 1813's physician
    reads each step in turn, the arrival too ("Sygeplejersken er hos
    borgeren"), not only the end of the episode hours later."""
    helpline = f.organisation(Organisation.Kind.HELPLINE_1813, "Akuttelefonen 1813")
    f.integration_partner(
        Partner.Kind.HELPLINE_1813, helpline, endpoint_url="http://127.0.0.1:8679/inbox"
    )
    nurse, shift = f.acute_nurse_on_shift()
    coordinator = Actor.for_membership(f.staff(Role.COORDINATOR, f.acute_function()))
    referral = referral_from_1813(f.citizen(), helpline, by=coordinator, external_id="1813-4720")
    acute.referral_accept(referral=referral, actor=coordinator)
    referral.refresh_from_db()
    visit = acute.visit_assign(referral=referral, shift=shift, actor=coordinator)
    for step in (acute.visit_accept, acute.visit_set_off, acute.visit_arrive):
        visit = step(visit=visit, actor=Actor.for_membership(nurse))

    assert _task_codes() == ["accepted", "nurse-assigned", "nurse-en-route", "nurse-on-site"]
    last = OutboundMessage.objects.filter(event=Event.REFERRAL_STATUS).latest("pk")
    task = next(
        e["resource"] for e in last.bundle["entry"] if e["resource"]["resourceType"] == "Task"
    )
    assert (task["status"], task["businessStatus"]["text"]) == (
        "in-progress",
        "Sygeplejersken er hos borgeren",
    )


def test_r12_an_arrival_on_a_1813_referral_without_partner_is_raised_on_the_board() -> None:
    """1813's partner switched off: the arrival goes to nobody, and the
    coordinator's board says 1813 was not told."""
    helpline = f.organisation(Organisation.Kind.HELPLINE_1813, "Akuttelefonen 1813")
    partner = f.integration_partner(
        Partner.Kind.HELPLINE_1813, helpline, endpoint_url="http://127.0.0.1:8679/inbox"
    )
    nurse, shift = f.acute_nurse_on_shift()
    coordinator = Actor.for_membership(f.staff(Role.COORDINATOR, f.acute_function()))
    referral = referral_from_1813(f.citizen(), helpline, by=coordinator, external_id="1813-4721")
    acute.referral_accept(referral=referral, actor=coordinator)
    referral.refresh_from_db()
    visit = acute.visit_assign(referral=referral, shift=shift, actor=coordinator)
    for step in (acute.visit_accept, acute.visit_set_off):
        visit = step(visit=visit, actor=Actor.for_membership(nurse))
    Partner.objects.filter(pk=partner.pk).update(is_active=False)
    acute.visit_arrive(visit=visit, actor=Actor.for_membership(nurse))

    assert _task_codes() == ["accepted", "nurse-assigned", "nurse-en-route"]
    warning = DeadlineWarning.objects.get(
        referral=referral, kind=DeadlineWarning.Kind.STATUS_UNSENT
    )
    assert warning.detail["step"] == "on_site"
