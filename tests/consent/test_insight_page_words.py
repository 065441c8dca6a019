"""The insight report as the citizen reads it (R5, *Min Log*): who looked is a
person's name and role, the platform's own work is said in words, and what
was looked at is named in Danish — never a username, a task's code or a FHIR
resource type."""

from __future__ import annotations

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
