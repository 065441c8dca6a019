"""Danish first: the auditor reads why the MedCom message door refused a
message, and which message a permitted entry received, in words; the codes
(``message.bundle_id_reused``, ``hospital-notification-message``) never
reach the entry page, the search page or the export (R9)."""

from __future__ import annotations

import pytest
from django.test import Client

from consent.audit.services import Action, Outcome, Purpose, audit_record
from core.actors import Actor
from core.models import Role
from tests import factories

pytestmark = pytest.mark.django_db


def _entry(citizen_id: int, outcome: str, reason_code: str) -> int:
    entry = audit_record(
        actor=Actor.system("integrations.process_message"),
        action=Action.CREATE,
        purpose=Purpose.TREATMENT,
        citizen_id=citizen_id,
        outcome=outcome,
        resource_type="Bundle",
        reason_code=reason_code,
    )
    return entry.pk


@pytest.mark.parametrize(
    ("outcome", "code", "words"),
    [
        (
            Outcome.DENIED,
            "message.bundle_id_reused",
            "meddelelsens id er allerede brugt af en anden meddelelse",
        ),
        (Outcome.DENIED, "message.event_unsupported", "En slags meddelelse"),
        (Outcome.DENIED, "witness.same_person", "vidnet er den samme person"),
        (Outcome.PERMITTED, "hospital-notification-message", "MedCom-sygehusadvis"),
    ],
)
def test_the_auditor_reads_a_message_entrys_reason_in_danish(
    outcome: str, code: str, words: str
) -> None:
    team = factories.acute_function()
    citizen = factories.citizen()
    pk = _entry(citizen.pk, outcome, code)
    client = Client()
    assert factories.log_in(client, factories.staff(Role.AUDITOR, team)).status_code == 302

    entry_page = client.get(f"/audit/entries/{pk}", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    export = client.get(
        f"/audit/export.csv?citizen={citizen.pk}", HTTP_ACCEPT_LANGUAGE="da"
    ).content.decode("utf-8-sig")
    pages = [entry_page, export]
    if outcome == Outcome.DENIED:
        pages.append(
            client.get(f"/audit/?citizen={citizen.pk}", HTTP_ACCEPT_LANGUAGE="da").content.decode()
        )
    for page in pages:
        assert words in page
        assert code not in page
        assert "afvist af platformens regler" not in page
