"""R9: the content digest a writer computes is the one PostgreSQL's
``audit_entry_digest`` gives for the same content, whatever the content, so
``audit_verify`` (which recomputes it in SQL) finds every entry intact and
an edited one broken."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

import orjson
import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent.audit.canonical import entry_digest, inet_host
from consent.audit.models import DIGEST_FIELDS, AuditEntry
from consent.audit.services import Action, Purpose, audit_record
from consent.audit.verify import log_verify
from core.actors import Actor
from tests.consent.audit.conftest import tamper

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

_TYPES = {
    "actor_user_id": "bigint",
    "actor_organisation_id": "bigint",
    "partner_organisation_id": "bigint",
    "citizen_id": "bigint",
    "client_address": "inet",
    "detail": "jsonb",
}
_SQL = "SELECT audit_entry_digest({})".format(
    ", ".join(f"%s::{_TYPES.get(name, 'text')}" for name in DIGEST_FIELDS)
)

# PostgreSQL's text holds no NUL; everything else a person or a partner may type.
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
_bigint = st.none() | st.integers(-(2**63), 2**63 - 1)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
_address = st.none() | st.ip_addresses().map(str)


@st.composite
def _content(draw: st.DrawFn) -> list[Any]:
    values: list[Any] = []
    for name in DIGEST_FIELDS:
        kind = _TYPES.get(name, "text")
        if kind == "bigint":
            values.append(draw(_bigint))
        elif kind == "inet":
            values.append(draw(_address))
        elif kind == "jsonb":
            values.append(draw(st.dictionaries(_text, _json, max_size=5)))
        else:
            values.append(draw(_text))
    return values


def _database_digest(values: list[Any]) -> bytes:
    params = list(values)
    params[-1] = orjson.dumps(params[-1]).decode()
    with connection.cursor() as cursor:
        cursor.execute(_SQL, params)
        return bytes(cursor.fetchone()[0])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_content())
def test_the_writers_digest_is_the_databases_for_any_content(values: list[Any]) -> None:
    assert entry_digest(values) == _database_digest(values)


@pytest.mark.parametrize(
    "address",
    ["10.0.0.1", "::1", "::", "1::", "1:0:0:2:0:0:0:3", "::10.0.0.1", "::ffff:10.0.0.1",
     "::ffff:0:0", "fe80::1:0:0:1", "2001:db8::", "0:0:0:0:0:1:0:0", "::fffe:1:2"],
)  # fmt: skip
def test_an_address_is_written_as_the_database_writes_it(address: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT host(%s::inet)", [address])
        assert inet_host(address) == cursor.fetchone()[0]
    assert inet_host(address) == inet_host(str(ipaddress.ip_address(address)))


def test_entries_with_awkward_content_verify_and_an_edited_one_does_not() -> None:
    actor = Actor.system("tests.canonical")
    entry = audit_record(
        actor=actor,
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=7,
        detail={
            "note": 'Søren "Ø" \\ \n\t\x01 \u2028',
            "dose": [2.5, -0.0, 1e-7, 1e300, 10**18],
            "at": dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC),
            "bb": {"ä": None, "a": True, "": []},
        },
    )
    assert bytes(AuditEntry.objects.get(id=entry.id).digest) == _database_digest(
        [getattr(entry, name) for name in DIGEST_FIELDS]
    )
    assert log_verify().ok
    tamper(
        "UPDATE audit_auditentry SET detail = detail || '{\"dose\": [25]}' WHERE id = %s",
        [entry.id],
    )
    found = log_verify()
    assert not found.ok and found.broken_id == entry.id
