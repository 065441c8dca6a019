"""The audited read of one record resource: what it asks the database."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consent.audit.models import AuditEntry
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, post


@pytest.mark.postgres
def test_a_record_read_is_the_token_one_gated_query_and_the_entry(world: World) -> None:
    """The token, the resource with the gate's facts in one query, the audit
    entry: and of the citizen only what the decision reads, never who she is
    (no CPR number, no name, no address travels with a record read)."""
    client = f.client_for(world.nurse)
    created = post(client, "/fhir/Condition", bodies.diagnosis(world.person.pk))
    path = f"/fhir/Condition/{created.json()['id']}"
    client.get(path)  # the statements compiled and prepared
    entries = AuditEntry.objects.count()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    assert response.json()["subject"]["reference"] == f"Patient/{world.person.pk}"
    assert AuditEntry.objects.count() == entries + 1
    statements = [q["sql"] for q in queries.captured_queries]
    assert len(statements) == 3, statements
    gated = next(s for s in statements if "consent_recordresource" in s)
    for personal in ('"cpr"', "given_name", "family_name", "address_line", "birth_date"):
        assert personal not in gated
