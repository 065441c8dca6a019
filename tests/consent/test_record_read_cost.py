"""The audited read of one record resource: what it asks the database."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consent.audit.models import DIGEST_FIELDS, AuditEntry
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
    # The entry the gate wrote, with no model built for it, is the entry the
    # log's own digest recognises, and waits for its place in the tree.
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.outcome, entry.resource_type, entry.citizen_id) == (
        "read",
        "permitted",
        "Condition",
        world.person.pk,
    )
    args = ", ".join(DIGEST_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT digest = audit_entry_digest({args}), "  # noqa: S608  (column names only)
            "EXISTS (SELECT 1 FROM audit_pending p WHERE p.entry_id = e.id) "
            "FROM audit_auditentry e WHERE id = %s",
            [entry.pk],
        )
        assert cursor.fetchone() == (True, True)
