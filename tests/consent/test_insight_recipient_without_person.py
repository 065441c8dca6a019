"""A hand-off no member of staff set going (a result passed on from a
laboratory's message, a scheduled hand-back) is delivered by the platform
alone: ``integrations.disclosure.disclosure_actor`` then records the partner
that received it as the entry's organisation. It is a disclosure all the
same, and the citizen is told who received her data (R5) — on the page, in
the FHIR report and on the auditor's entry page."""

from __future__ import annotations

import pytest
from django.test import Client

from consent.audit.services import Action, Outcome, Purpose, audit_record
from core.actors import Actor
from core.models import Role
from tests import factories

pytestmark = pytest.mark.django_db


def test_r5_a_hand_off_the_platform_sent_alone_names_whom_it_went_to() -> None:
    team = factories.acute_function()
    practice = factories.gp_practice()
    person = factories.citizen(gp=practice)
    disclosed = audit_record(
        actor=Actor.system("integrations.outbox_deliver", partner=practice),
        action=Action.DISCLOSE,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        resource_type="Bundle",
    )
    auditor = factories.staff(Role.AUDITOR, team)
    client = Client()
    assert factories.log_in(client, auditor).status_code == 302
    html = client.get(f"/consent/insight/{person.pk}/").content.decode()
    log = html[html.index('id="log"') : html.index('id="log-proofs"')]
    assert log.count(f"sendt til {practice.name}") == 1
    entry = client.get(f"/audit/entries/{disclosed.pk}").content.decode()
    assert f"Videregivet til</dt><dd>{practice.name}</dd>" in entry

    bundle = factories.client_for(auditor).get(f"/fhir/Patient/{person.pk}/$insight").json()
    events = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "AuditEvent"
    ]
    recipients = [
        a["who"]
        for e in events
        for a in e["agent"]
        if a.get("type", {}).get("coding", [{}])[0].get("code") == "IRCP"
    ]
    assert recipients == [{"reference": f"Organization/{practice.pk}", "display": practice.name}]
    # The auditors' own AuditEvent names the recipient too.
    event = factories.client_for(auditor).get(f"/fhir/AuditEvent/{disclosed.pk}").json()
    assert [
        a["who"]["reference"]
        for a in event["agent"]
        if a.get("type", {}).get("coding", [{}])[0].get("code") == "IRCP"
    ] == [f"Organization/{practice.pk}"]


def test_r5_a_withheld_hand_off_is_no_disclosure_in_the_report() -> None:
    """A message withheld under the citizen's refusal (R4) went to no one:
    her report lists no disclosure for it."""
    team = factories.acute_function()
    practice = factories.gp_practice()
    person = factories.citizen(gp=practice)
    audit_record(
        actor=Actor.system("integrations.outbox_deliver", partner=practice),
        action=Action.DISCLOSE,
        purpose=Purpose.TREATMENT,
        citizen_id=person.pk,
        outcome=Outcome.DENIED,
        reason_code="refused",
        resource_type="Bundle",
    )
    client = Client()
    assert factories.log_in(client, factories.staff(Role.AUDITOR, team)).status_code == 302
    html = client.get(f"/consent/insight/{person.pk}/").content.decode()
    log = html[html.index('id="log"') : html.index('id="log-proofs"')]
    assert "sendt til" not in log
