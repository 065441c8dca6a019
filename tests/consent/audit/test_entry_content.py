"""R9: the three ways to append an entry (one read back, many for a search,
one written as it is by the gate) store the same content for the same access,
the defaults included."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from consent.audit.models import DIGEST_FIELDS, AuditEntry, Outcome
from consent.audit.services import (
    Action,
    EntryContent,
    Purpose,
    audit_record,
    audit_record_many,
    audit_write,
)
from core.actors import Actor
from core.context import RequestContext, request_context

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _one_request() -> Iterator[None]:
    # The three entries stand for accesses in the same request.
    with request_context(RequestContext("req-entry-content", "127.0.0.1", "tests")):
        yield


def _content(entry: AuditEntry) -> dict[str, object]:
    return {field: getattr(entry, field) for field in DIGEST_FIELDS}


def test_each_way_stores_the_same_content_with_the_same_defaults() -> None:
    actor = Actor.system("tests.entry_content")
    recorded = audit_record(
        actor=actor, action=Action.READ, purpose=Purpose.TREATMENT, citizen_id=41
    )
    (listed,) = audit_record_many(
        actor=actor, action=Action.READ, purpose=Purpose.TREATMENT, citizen_ids=[41, 41]
    )
    audit_write(actor=actor, action=Action.READ, purpose=Purpose.TREATMENT, citizen_id=41)
    written = AuditEntry.objects.filter(citizen_id=41).latest("id")
    assert written.id not in {recorded.id, listed.id}
    stored = AuditEntry.objects.get(id=recorded.id)
    assert _content(stored) == _content(AuditEntry.objects.get(id=listed.id)) == _content(written)
    assert stored.outcome == Outcome.PERMITTED
    assert (stored.resource_type, stored.resource_id, stored.reason_code) == ("", "", "")
    assert stored.detail == {}


def test_each_way_stores_what_it_is_given() -> None:
    actor = Actor.system("tests.entry_content")
    given: EntryContent = {
        "actor": actor,
        "action": Action.UPDATE,
        "purpose": Purpose.OPERATIONS,
        "outcome": Outcome.DENIED,
        "resource_type": "Encounter",
        "resource_id": "visit-7",
        "reason_code": "not_visit_nurse",
        "detail": {"visit": 7},
    }
    recorded = audit_record(**given, citizen_id=42)
    (listed,) = audit_record_many(**given, citizen_ids=[42])
    audit_write(**given, citizen_id=42)
    written = AuditEntry.objects.filter(citizen_id=42).latest("id")
    contents = [_content(AuditEntry.objects.get(id=e.id)) for e in (recorded, listed, written)]
    assert contents[0] == contents[1] == contents[2]
    assert {k: contents[0][k] for k in given if k != "actor"} == {
        k: v for k, v in given.items() if k != "actor"
    }
