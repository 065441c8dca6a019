"""An entry the platform's own work wrote (no address, no browser) shows its
request line without empty separators: the auditor reads what is there."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from consent.audit.services import Action, Purpose, audit_record
from core.actors import Actor
from core.models import Role
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_background_entry_shows_its_request_without_empty_separators() -> None:
    team = factories.acute_function()
    entry = audit_record(
        actor=Actor.system("integrations.outbox_deliver"),
        action=Action.DISCLOSE,
        purpose=Purpose.TREATMENT,
        citizen_id=factories.citizen().pk,
        resource_type="Bundle",
    )
    client = Client()
    assert factories.log_in(client, factories.staff(Role.AUDITOR, team)).status_code == 302

    html = client.get(f"/audit/entries/{entry.pk}", HTTP_ACCEPT_LANGUAGE="da").content.decode()

    request_line = re.search(r"<dt>Forespørgsel</dt><dd>(.*?)</dd>", html, re.S)
    assert request_line is not None
    assert not request_line.group(1).rstrip().endswith("·")
    assert "·  ·" not in request_line.group(1) and "· ·" not in request_line.group(1)
