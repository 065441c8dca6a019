"""The insight report as the citizen reads it (R5, *Min Log*): who looked is a
person's name and role, the platform's own work is said in words, and what
was looked at is named in Danish — never a username, a task's code or a FHIR
resource type."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from consent.audit.services import Action, Purpose, audit_record
from core.actors import Actor
from core.models import Role
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_insight_report_names_people_and_tasks_in_words() -> None:
    team = factories.acute_function()
    person = factories.citizen()
    nurse = factories.staff(Role.ACUTE_NURSE, team, username="nurse-hk")
    nurse.user.first_name, nurse.user.last_name = "Hanne", "Kristensen"
    nurse.user.save(update_fields=["first_name", "last_name"])
    audit_record(
        actor=Actor.for_membership(nurse),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        resource_type="Communication",
    )
    audit_record(
        actor=Actor.system("integrations.outbox_deliver"),
        action=Action.DISCLOSE,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        resource_type="Bundle",
    )
    client = Client()
    assert factories.log_in(client, factories.staff(Role.AUDITOR, team)).status_code == 302
    html = client.get(f"/consent/insight/{person.pk}/").content.decode()
    log = html[html.index('id="log"') : html.index('id="log-proofs"')]
    assert "Hanne Kristensen (Akutsygeplejerske)" in log
    assert "Læst: Korrespondance" in log
    assert "meddelelse sendt" in log  # integrations.outbox_deliver
    for raw in ("nurse-hk", "integrations.outbox_deliver", "Communication"):
        assert raw not in log, raw


def test_r5_a_hand_off_sent_for_a_nurse_names_whom_it_was_disclosed_to() -> None:
    """A hand-off is delivered by the platform on behalf of the nurse whose
    action caused it (``integrations.disclosure.disclosure_actor``): the entry
    names her organisation as the sender and the partner apart. The citizen
    is told who received her data, on the page and in the FHIR report."""
    team = factories.acute_function()
    practice = factories.gp_practice()
    person = factories.citizen(gp=practice)
    nurse = factories.staff(Role.ACUTE_NURSE, team)
    nurse_actor = Actor.for_membership(nurse)
    disclosed = audit_record(
        actor=Actor.system(
            "integrations.outbox_deliver", on_behalf_of=nurse_actor, partner=practice
        ),
        action=Action.DISCLOSE,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        resource_type="Bundle",
    )
    audit_record(
        actor=nurse_actor,
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        resource_type="Condition",
    )
    auditor = factories.staff(Role.AUDITOR, team)
    client = Client()
    assert factories.log_in(client, auditor).status_code == 302
    html = client.get(f"/consent/insight/{person.pk}/").content.decode()
    log = html[html.index('id="log"') : html.index('id="log-proofs"')]
    assert log.count(f"sendt til {practice.name}") == 1
    # The auditor reviewing the entry sees it too.
    entry = client.get(f"/audit/entries/{disclosed.pk}").content.decode()
    assert f"Videregivet til</dt><dd>{practice.name}</dd>" in entry

    bundle = factories.client_for(auditor).get(f"/fhir/Patient/{person.pk}/$insight").json()
    recipients = {
        event["subtype"][-1]["code"]: [
            agent["who"]["reference"]
            for agent in event["agent"]
            if agent.get("type", {}).get("coding", [{}])[0].get("code") == "IRCP"
            and "reference" in agent["who"]
        ]
        for event in (e["resource"] for e in bundle["entry"])
        if event["resourceType"] == "AuditEvent"
    }
    assert recipients == {"disclose": [f"Organization/{practice.pk}"], "read": []}


def _insight(auditor, citizen_id: int) -> tuple[str, list[dict]]:
    """The report's access log as the page shows it, and its AuditEvents."""
    client = Client()
    assert factories.log_in(client, auditor).status_code == 302
    html = client.get(f"/consent/insight/{citizen_id}/").content.decode()
    log = html[html.index('id="log"') : html.index('id="log-proofs"')]
    bundle = factories.client_for(auditor).get(f"/fhir/Patient/{citizen_id}/$insight").json()
    events = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "AuditEvent"
    ]
    return log, events


def test_r5_the_report_names_the_person_by_her_account_not_by_a_reused_username() -> None:
    """The entry keeps the username of the day; the citizen reads the name.
    Renamed later, her old username given to a colleague, her account
    switched off: every door names her, by the user id the entry keeps —
    never the colleague who now holds the username, never the username."""
    team = factories.acute_function()
    person = factories.citizen()
    nurse = factories.staff(Role.ACUTE_NURSE, team, username="hkr")
    nurse.user.first_name, nurse.user.last_name = "Hanne", "Kristensen"
    nurse.user.save(update_fields=["first_name", "last_name"])
    read = audit_record(
        actor=Actor.for_membership(nurse),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        resource_type="Condition",
    )
    nurse.user.username, nurse.user.is_active = "hkr-old", False
    nurse.user.save(update_fields=["username", "is_active"])
    colleague = factories.staff(Role.ACUTE_NURSE, team, username="hkr")
    colleague.user.first_name, colleague.user.last_name = "Henrik", "Krog"
    colleague.user.save(update_fields=["first_name", "last_name"])

    log, events = _insight(factories.staff(Role.AUDITOR, team), person.pk)
    assert "Hanne Kristensen (Akutsygeplejerske)" in log
    assert "Henrik Krog" not in log and "hkr" not in log
    (event,) = [e for e in events if e["id"] == str(read.pk)]
    (agent,) = [a for a in event["agent"] if a["who"].get("identifier")]
    # The identifier stays machine-readable; the display is her name and role in words.
    assert agent["who"] == {
        "identifier": {"system": "urn:tvaerakut:user", "value": str(nurse.user_id)},
        "display": "Hanne Kristensen",
    }
    assert agent["role"][0]["coding"][0] == {
        "system": "urn:tvaerakut:role",
        "code": "acute_nurse",
        "display": "Akutsygeplejerske",
    }
    assert "hkr" not in json.dumps(event)


def test_r5_a_person_without_a_recorded_name_or_account_is_named_by_the_username_kept() -> None:
    """Fallbacks: no name on the account reads as its username; an account
    that is gone reads as the username the entry kept — never an error, and
    never the name of whoever holds that username now."""
    team = factories.acute_function()
    person = factories.citizen()
    unnamed = factories.staff(Role.COORDINATOR, team, username="koord-7")
    unnamed.user.first_name = ""
    unnamed.user.save(update_fields=["first_name"])
    gone = factories.staff(Role.ACUTE_NURSE, team, username="vikar-3")
    for membership in (unnamed, gone):
        audit_record(
            actor=Actor.for_membership(membership),
            action=Action.READ,
            purpose=Purpose.TREATMENT,
            citizen_id=person.pk,
            resource_type="Condition",
        )
    gone.user.delete()
    # The username given to someone new names her, not the one who read.
    newcomer = factories.staff(Role.ACUTE_NURSE, team, username="vikar-3")
    newcomer.user.first_name, newcomer.user.last_name = "Vera", "Vik"
    newcomer.user.save(update_fields=["first_name", "last_name"])
    log, events = _insight(factories.staff(Role.AUDITOR, team), person.pk)
    assert "koord-7 (Vagthavende)" in log and "vikar-3 (Akutsygeplejerske)" in log
    assert "Vera Vik" not in log
    names = {a["who"]["display"] for e in events for a in e["agent"] if a["who"].get("identifier")}
    assert names == {"koord-7", "vikar-3"}


def test_r5_the_platforms_work_and_the_recipient_are_named_in_words_in_fhir_too() -> None:
    """The FHIR report said ``integrations.outbox_deliver`` for the platform's
    work and only ``Organization/<id>`` for whom a hand-off went to; the
    citizen reads the task in Danish and the recipient's name, as on the page."""
    team = factories.acute_function()
    practice = factories.gp_practice()
    person = factories.citizen(gp=practice)
    nurse = factories.staff(Role.ACUTE_NURSE, team)
    audit_record(
        actor=Actor.system(
            "integrations.outbox_deliver",
            on_behalf_of=Actor.for_membership(nurse),
            partner=practice,
        ),
        action=Action.DISCLOSE,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        resource_type="Bundle",
    )
    audit_record(
        actor=Actor.system("acute.auto_assign"),
        action=Action.READ,
        purpose=Purpose.OPERATIONS,
        citizen_id=person.pk,
        resource_type="Patient",
    )
    log, events = _insight(factories.staff(Role.AUDITOR, team), person.pk)
    assert "automatisk tildeling" in log and "acute.auto_assign" not in log
    tasks = {
        a["who"]["identifier"]["value"]: a["who"]["display"]
        for e in events
        for a in e["agent"]
        if a["who"].get("identifier", {}).get("system") == "urn:tvaerakut:task"
    }
    assert tasks == {
        "integrations.outbox_deliver": "meddelelse sendt",
        "acute.auto_assign": "automatisk tildeling",
    }
    recipients = [
        a["who"]
        for e in events
        for a in e["agent"]
        if a["who"].get("reference") == f"Organization/{practice.pk}"
        and a.get("type", {}).get("coding", [{}])[0].get("code") == "IRCP"
    ]
    assert recipients == [{"reference": f"Organization/{practice.pk}", "display": practice.name}]


def test_r5_a_refusal_is_shown_as_far_as_it_reaches_its_last_day_its_data_and_sub_units() -> None:
    """The citizen reads her refusal as she gave it: "to 31 March" is through
    31 March (the store keeps the first moment after), a refusal of the data
    of February and March only is not shown as one of everything, and one
    that spares a department's sub-units says so."""
    from consent.services import consent_create
    from tests.consent import bodies

    team = factories.acute_function()
    department = factories.hospital_department()
    person = factories.citizen()
    consent_create(
        actor=Actor.for_membership(factories.staff(Role.ADMINISTRATOR, team)),
        data=bodies.refusal(
            person.pk,
            organisations=[department.pk],
            period={"end": "2099-03-31"},
            data_period={"start": "2025-02-01", "end": "2025-03-31"},
            sub_units=False,
        ),
        purpose=Purpose.OPERATIONS,
    )
    client = Client()
    assert factories.log_in(client, factories.staff(Role.AUDITOR, team)).status_code == 302
    html = client.get(f"/consent/insight/{person.pk}/").content.decode()
    consents = html[html.index('id="consents"') : html.index('id="glass"')]
    assert "til 31. marts 2099" in consents
    assert "1. april" not in consents
    assert "kun oplysninger dateret fra 1. februar 2025 til 31. marts 2025" in consents
    assert "ikke deres underenheder" in consents
