"""A message the platform refuses (fatal-error) is not only the sender's to
handle: a referral refused is a citizen nobody goes to unless someone
phones. The coordinator's board shows each refused message, from whom, what
and why in Danish (never the citizen or a code), until a coordinator has
seen it; the API lists the same. Only coordinators see or mark them."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client

from acute.models import Referral
from core.fhir.patient import patient_resource
from core.models import Organisation, Role
from integrations.models import CareThread, InboundMessage, Partner
from integrations.simulators import helpline_referral
from tests import factories as f
from tests.core.test_danish_pages import _read
from tests.integrations.medcom.conftest import EXAMPLE_CPR
from tests.integrations.medcom.test_hospital_notification import STIN, _ack, _example, _post

pytestmark = pytest.mark.django_db

PSYCHIATRIC = {"system": "http://hl7.org/fhir/sid/icd-10", "code": "F32.1", "display": "Depression"}


def _helpline() -> Partner:
    org = f.organisation(Organisation.Kind.HELPLINE_1813, "Akuttelefonen 1813")
    return f.integration_partner(
        Partner.Kind.HELPLINE_1813, org, endpoint_url="http://127.0.0.1:9/"
    )


def _refused_referral(helpline: Partner, citizen) -> dict:
    message = helpline_referral(
        sender_code=helpline.code,
        patient=patient_resource(citizen),
        reason="Uro",
        case_id="1813-0042",
    )
    message["entry"][2]["resource"]["reasonCode"][0]["coding"] = [PSYCHIATRIC]
    status, _body = _post(helpline, message)
    assert status == 400
    assert not Referral.objects.exists()
    return message


def _board(client: Client) -> str:
    text, _links = _read(client.get("/coordinator/", HTTP_ACCEPT_LANGUAGE="da").content.decode())
    return text


def test_r12_a_refused_1813_referral_is_on_the_board_in_danish_until_a_coordinator_has_seen_it(
    hospital,
):
    helpline = _helpline()
    citizen = f.citizen()
    message = _refused_referral(helpline, citizen)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    client = Client()
    f.log_in(client, coordinator)

    text = _board(client)
    assert "Afvist ved modtagelse" in text
    assert "Henvisning fra Akuttelefonen 1813" in text
    assert "Indeholder en psykiatrisk diagnose, som ikke deles (R2)" in text
    # Who the citizen is stays out of the board, and so do codes.
    assert citizen.cpr not in text and citizen.family_name not in text
    assert "record.psychiatric_diagnosis" not in text and "acute-referral" not in text

    api = f.client_for(coordinator)
    [row] = api.get("/api/integrations/inbox/refused").json()["results"]
    assert row["partner"] == helpline.code
    assert row["reason_code"] == "record.psychiatric_diagnosis"
    assert citizen.cpr not in str(row)

    # The same message sent again is answered as before and listed once.
    assert _post(helpline, message)[0] == 400
    assert len(api.get("/api/integrations/inbox/refused").json()["results"]) == 1

    # Seen on the board: it leaves the board and the API's list, and who saw it is kept.
    assert client.post(f"/coordinator/refused/{row['id']}/noted/").status_code == 302
    assert "Afvist ved modtagelse" not in _board(client)
    assert api.get("/api/integrations/inbox/refused").json()["results"] == []
    stored = InboundMessage.objects.get(pk=row["id"])
    assert stored.noted_by == coordinator.user and stored.noted_at is not None

    # A second coordinator's mark is a conflict; the first one stands.
    other = f.staff(Role.COORDINATOR, f.acute_function())
    second = f.client_for(other).post(f"/api/integrations/inbox/refused/{row['id']}/noted")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "inbox.already_noted"
    stored.refresh_from_db()
    assert stored.noted_by == coordinator.user


def test_a_hospital_notification_breaking_medcoms_rules_is_on_the_board_too(hospital, citizen):
    message = _example(STIN)
    for entry in message["entry"]:
        if entry["resource"]["resourceType"] == "Provenance":
            entry["resource"].pop("occurredDateTime")
    status, body = _post(hospital, message)
    assert (status, _ack(body)[0]) == (400, "fatal-error")

    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    [row] = f.client_for(coordinator).get("/api/integrations/inbox/refused").json()["results"]
    assert row["partner"] == hospital.code
    assert row["reason_text"] == "Overholder ikke MedComs regler"
    assert row["event_text"] == "Sygehusadvis"


def test_an_accepted_message_is_not_on_the_board(hospital, citizen):
    status, body = _post(hospital, _example(STIN))
    assert (status, _ack(body)[0]) == (200, "ok")
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    api = f.client_for(coordinator)
    assert api.get("/api/integrations/inbox/refused").json()["results"] == []
    accepted = InboundMessage.objects.get(partner=hospital)
    assert api.post(f"/api/integrations/inbox/refused/{accepted.pk}/noted").status_code == 404
    assert api.post("/api/integrations/inbox/refused/999999/noted").status_code == 404
    accepted.refresh_from_db()
    assert accepted.noted_at is None


@pytest.mark.parametrize(
    "role", [Role.ACUTE_NURSE, Role.PHYSICIAN, Role.AUDITOR, Role.MEDICINE_OFFICER]
)
def test_only_coordinators_see_or_mark_refused_messages(hospital, role):
    _refused_referral(_helpline(), f.citizen())
    stored = InboundMessage.objects.get(outcome=InboundMessage.Outcome.FATAL)
    member = f.staff(role, f.acute_function())
    api = f.client_for(member)
    assert api.get("/api/integrations/inbox/refused").status_code == 403
    assert api.post(f"/api/integrations/inbox/refused/{stored.pk}/noted").status_code == 403
    client = Client()
    f.log_in(client, member)
    assert client.post(f"/coordinator/refused/{stored.pk}/noted/").status_code == 403
    stored.refresh_from_db()
    assert stored.noted_at is None


def _care_communication_refusals(hospital: Partner, citizen) -> None:
    """A reply in a conversation the platform holds with another partner
    (R3), and a thread identifier longer than the platform keeps."""
    from tests.integrations.medcom.test_care_communication import (
        FIRST,
        THIRD,
        THREAD,
        _receive,
        _with_identifiers,
    )

    other = f.integration_partner(
        Partner.Kind.HOME_NURSING, f.home_nursing("157"), endpoint_url="http://127.0.0.1:9/x"
    )
    CareThread.objects.create(identifier=THREAD, partner=other, citizen=citizen, category="other")
    assert _receive(hospital, THIRD)[1] == "fatal-error"
    status, body = _post(hospital, _with_identifiers(FIRST, thread="x" * 101))
    assert (status, _ack(body)[0]) == (400, "fatal-error")


def test_a_partners_message_the_platform_cannot_place_says_why_in_danish(hospital, citizen):
    """R12: a reply in a conversation the acute function holds with another
    partner (R3), or a hospital stay another citizen is in, is on the board
    with its own Danish reason, not only "refused by the platform's rules"."""
    _care_communication_refusals(hospital, citizen)
    other = f.citizen()
    _post(hospital, _example(STIN))
    message = _example(STIN)
    message["id"] = str(uuid.uuid4())
    text = json.dumps(message).replace(message["entry"][0]["resource"]["id"], str(uuid.uuid4()))
    message = json.loads(text.replace(EXAMPLE_CPR, other.cpr))
    status, body = _post(hospital, message)
    assert (status, _ack(body)[0]) == (400, "fatal-error")

    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    rows = f.client_for(coordinator).get("/api/integrations/inbox/refused").json()["results"]
    assert sorted((row["event_text"], row["reason_text"]) for row in rows) == [
        (
            "Korrespondancemeddelelse",
            "En identifikator i meddelelsen er længere, end platformen kan gemme",
        ),
        (
            "Korrespondancemeddelelse",
            "Svar eller videresendelse i en korrespondance, som akutfunktionen"
            " ikke har haft med denne partner",
        ),
        ("Sygehusadvis", "Sygehusopholdet tilhører en anden borger"),
    ]
    client = Client()
    f.log_in(client, coordinator)
    page, _links = _read(client.get("/coordinator/", HTTP_ACCEPT_LANGUAGE="da").content.decode())
    assert "Sygehusopholdet tilhører en anden borger" in page
    assert "stay_of_another_citizen" not in page and "previous_unknown" not in page
