"""Witnesses: a party outside the platform cosigns each checkpoint that
extends what it saw, and refuses — with an alarm auditors see — a log that a
database superuser rewrote and recomputed from end to end."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from consent.audit.cosignatures import witness_status
from consent.audit.log import checkpoint_latest, sequence_batch, signing_key
from consent.audit.models import DIGEST_FIELDS, AuditEntry, LogCosignature
from consent.audit.notes import (
    NoteKey,
    NoteVerifier,
    note_split,
    signature_find,
    signature_valid,
)
from consent.audit.services import Action, Purpose, audit_record
from consent.audit.verify import tree_verify
from consent.audit.witness import Witness, WitnessState, witness_key
from core.actors import Actor
from core.models import Role
from tests import factories
from tests.consent.audit.conftest import tamper

pytestmark = pytest.mark.django_db


def _record(n: int) -> list[AuditEntry]:
    actor = Actor.system("tests.witness")
    return [
        audit_record(actor=actor, action=Action.READ, purpose=Purpose.TREATMENT, citizen_id=i)
        for i in range(n)
    ]


def _witness(tmp_path: Path, *, key: NoteKey | None = None) -> Witness:
    """A witness speaking to the platform's public endpoints through Django's
    test client (the platform's own views), with its own key and state."""
    client = factories.client_for(None)

    def fetch_checkpoint() -> str:
        response = client.get("/api/audit/log/checkpoint")
        assert response.status_code == 200
        return response.content.decode()

    def fetch_consistency(log: str, old: int, new: int) -> list[bytes]:
        response = client.get(f"/api/audit/log/consistency?log={log}&from={old}&to={new}")
        assert response.status_code == 200, response.content
        return [base64.b64decode(p) for p in response.json()["proof"]]

    def deliver(payload: dict[str, Any]) -> None:
        response = client.post("/api/audit/log/cosignatures", payload, format="json")
        assert response.status_code == 201, response.content

    return Witness(
        key=key or witness_key(tmp_path / "witness" / "key", "witness.test/w1"),
        log_key=signing_key().verifier(),
        state=WitnessState(tmp_path / "witness" / "state.json"),
        fetch_checkpoint=fetch_checkpoint,
        fetch_consistency=fetch_consistency,
        deliver=deliver,
    )


@pytest.fixture
def witness_keys(tmp_path: Path):
    key = witness_key(tmp_path / "witness" / "key", "witness.test/w1")
    with override_settings(AUDIT_WITNESS_KEYS=[key.verifier().vkey()]):
        yield key


def test_a_witness_cosigns_each_extension_and_the_checkpoint_carries_it(
    tmp_path: Path, witness_keys: NoteKey
) -> None:
    witness = _witness(tmp_path, key=witness_keys)
    _record(3)
    sequence_batch()
    assert witness.check_once().cosigned
    _record(2)
    sequence_batch()
    outcome = witness.check_once()
    assert outcome.cosigned and outcome.size == 5
    served = factories.client_for(None).get("/api/audit/log/checkpoint").content.decode()
    body, lines = note_split(served)
    found = signature_find(lines, witness_keys.verifier())
    assert found is not None and signature_valid(body, found, witness_keys.verifier())
    status = witness_status()
    assert status.last_witnessed is not None and not status.stale and not status.refusals
    # Six minutes later with no new cosignature, the console warns.
    assert witness_status(now=timezone.now() + dt.timedelta(minutes=6)).stale


def _rewrite_and_recompute(
    change: str, entries: list[AuditEntry], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database superuser changes history, then rebuilds everything the
    platform stores from the changed entries — positions, tiles, signed
    checkpoints (with the platform's own key) — so the stored tree verifies.
    Running their own rebuild, they skip the sequencer's one-time check of
    the old hash chain."""
    import consent.audit.log as log_module

    monkeypatch.setattr(log_module, "_verify_chain_once", lambda: None)
    for table in ("audit_log_cosignature", "audit_log_checkpoint", "audit_log_tile"):
        tamper(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
    tamper("DELETE FROM audit_log_leaf")
    target = entries[1]
    if change == "edit":
        tamper("UPDATE audit_auditentry SET reason_code = 'rewritten' WHERE id = %s", [target.id])
        tamper(
            f"UPDATE audit_auditentry SET digest = audit_entry_digest({', '.join(DIGEST_FIELDS)}) "  # noqa: S608
            "WHERE id = %s",
            [target.id],
        )
    elif change == "delete":
        tamper("DELETE FROM audit_auditentry WHERE id = %s", [target.id])
    tamper(
        "INSERT INTO audit_pending (entry_id, recorded_at) "
        "SELECT id, recorded_at FROM audit_auditentry ON CONFLICT DO NOTHING"
    )
    if change == "insert":
        _record(1)  # a forged entry, then moved to the front of the queue:
        forged = AuditEntry.objects.order_by("-id").first()
        assert forged is not None
        tamper("DELETE FROM audit_pending WHERE entry_id > %s", [entries[0].id])
        tamper(
            "INSERT INTO audit_pending (entry_id, recorded_at) SELECT id, recorded_at "
            "FROM audit_auditentry WHERE id > %s AND id <> %s",
            [entries[0].id, forged.id],
        )
        sequence_batch(limit=1)  # entries[0]
        tamper("DELETE FROM audit_pending WHERE entry_id > %s", [entries[0].id])
        tamper(
            "INSERT INTO audit_pending (entry_id, recorded_at) VALUES (%s, %s)",
            [forged.id, forged.recorded_at],
        )
        sequence_batch()  # the forged entry at position 1
        tamper(
            "INSERT INTO audit_pending (entry_id, recorded_at) SELECT id, recorded_at "
            "FROM audit_auditentry WHERE id > %s AND id <> %s",
            [entries[0].id, forged.id],
        )
    sequence_batch()
    # The tampering checked the chain head at once; appends check it at commit again.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS audit_chainhead_names_entry DEFERRED")


@pytest.mark.postgres
@pytest.mark.parametrize("change", ["edit", "delete", "insert"])
def test_a_superuser_rewrite_recomputed_throughout_is_caught_by_the_witness(
    tmp_path: Path, witness_keys: NoteKey, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    witness = _witness(tmp_path, key=witness_keys)
    entries = _record(6)
    sequence_batch()
    assert witness.check_once().cosigned
    _rewrite_and_recompute(change, entries, monkeypatch)
    ok, _ = tree_verify()
    assert ok  # the platform alone sees nothing wrong
    outcome = witness.check_once()
    assert not outcome.cosigned
    assert outcome.problem in (
        "the root at size 6 has changed",
        "the log shrank from 6 to 5 entries",
        "size 7 is not an append-only extension of size 6",
    )
    assert witness.state.data["alarms"][-1]["problem"] == outcome.problem
    [refusal] = LogCosignature.objects.filter(refused=True)
    assert refusal.witness == "witness.test/w1" and refusal.problem == outcome.problem
    # The auditors' console raises the alarm.
    auditor = factories.staff(Role.AUDITOR, factories.acute_function())
    client = Client()
    factories.log_in(client, auditor)
    page = client.get("/audit/").content.decode()
    assert 'data-alarm="witness-refused"' in page
    # And the witness will not cosign the rewritten log later either.
    assert not witness.check_once().cosigned


def test_cosignatures_and_refusals_that_do_not_verify_are_refused(
    tmp_path: Path, witness_keys: NoteKey
) -> None:
    _record(1)
    sequence_batch()
    checkpoint = checkpoint_latest()
    assert checkpoint is not None
    body = note_split(checkpoint.note)[0]
    client = factories.client_for(None)
    stranger = witness_key(tmp_path / "stranger" / "key", "witness.test/w1")
    forged = _witness(tmp_path / "other", key=stranger)
    payloads: list[dict[str, Any]] = []
    forged.deliver = payloads.append
    forged.check_once()
    [cosigned] = payloads
    response = client.post("/api/audit/log/cosignatures", cosigned, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "audit.cosignature_invalid"
    refusal = {
        "witness": "witness.test/w1",
        "checkpoint": body,
        "refusal": "made up",
        "signature": base64.b64encode(b"\x00" * 64).decode(),
    }
    response = client.post("/api/audit/log/cosignatures", refusal, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "audit.refusal_invalid"
    unknown = {**cosigned, "witness": "witness.test/unknown"}
    response = client.post("/api/audit/log/cosignatures", unknown, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "audit.witness_unknown"
    assert not LogCosignature.objects.exists()


def test_the_console_warns_when_the_last_cosignature_is_over_five_minutes_old(
    tmp_path: Path, witness_keys: NoteKey
) -> None:
    """The age shown and warned about is the witness's own time, but never
    later than the platform received it: a witness whose clock ran an hour
    ahead kept the warning away for an hour after it stopped."""
    _record(2)
    sequence_batch()
    fast = _witness(tmp_path, key=witness_keys)
    fast.clock = lambda: timezone.now().timestamp() + 3600
    assert fast.check_once().cosigned
    in_six_minutes = timezone.now() + dt.timedelta(minutes=6)
    assert witness_status(now=in_six_minutes).stale
    [cosignature] = LogCosignature.objects.all()
    seven_minutes_ago = timezone.now() - dt.timedelta(minutes=7)
    tamper(
        "UPDATE audit_log_cosignature SET received_at = %s WHERE id = %s",
        [seven_minutes_ago, cosignature.pk],
    )
    auditor = factories.staff(Role.AUDITOR, factories.acute_function())
    client = Client()
    factories.log_in(client, auditor)
    page = client.get("/audit/").content.decode()
    assert 'data-warning="witness-stale"' in page
    assert "Intet vidne har medunderskrevet i mere end 5 minutter." in page
    shown = timezone.localtime(seven_minutes_ago)
    assert f"{shown:%H:%M})." in page  # Copenhagen time


def test_the_witness_key_is_kept_in_its_own_storage(tmp_path: Path) -> None:
    path = tmp_path / "w" / "key"
    first = witness_key(path, "witness.test/w1")
    again = witness_key(path, "witness.test/w1")
    assert first.verifier().vkey() == again.verifier().vkey()
    assert NoteVerifier.from_vkey(first.verifier().vkey()).id == first.id
    assert path.stat().st_mode & 0o077 == 0


def test_metrics_show_waiting_entries_the_log_and_the_witnessed_age(
    tmp_path: Path, witness_keys: NoteKey
) -> None:
    from tests.core.test_metrics import _value

    client = Client()
    _record(2)
    text = client.get("/metrics").content.decode()
    assert _value(text, "tvaerakut_audit_entries_waiting") == 2
    assert _value(text, "tvaerakut_audit_witnessed_age_seconds") == -1
    sequence_batch()
    _witness(tmp_path, key=witness_keys).check_once()
    text = client.get("/metrics").content.decode()
    assert _value(text, "tvaerakut_audit_entries_waiting") == 0
    assert _value(text, "tvaerakut_audit_log_size") == 2
    age = _value(text, "tvaerakut_audit_witnessed_age_seconds")
    assert age is not None and 0 <= age < 60
    assert _value(text, "tvaerakut_audit_witness_refusals") == 0


def test_a_new_years_log_must_name_a_last_checkpoint_the_witness_can_follow(
    tmp_path: Path, witness_keys: NoteKey
) -> None:
    """The first checkpoint of a year's log names the last of the year
    before; a witness that saw that year holds the new log to it."""
    witness = _witness(tmp_path, key=witness_keys)
    december = dt.datetime(2026, 12, 31, 23, 58, tzinfo=dt.UTC)
    _record(3)
    sequence_batch(now=december)
    assert witness.check_once().cosigned
    _record(1)
    sequence_batch(now=december + dt.timedelta(minutes=1))  # still 2026: size 4
    _record(1)
    sequence_batch(now=december + dt.timedelta(minutes=3))  # 2027 names 2026 at size 4
    outcome = witness.check_once()
    assert outcome.cosigned and outcome.size == 1  # 2026 grew from 3 to 4 by proof
    assert witness.state.seen("tvaerakut.local/audit/2027") is not None
    # A witness that saw 2026 at a size the new log's "previous" line does not extend.
    other = _witness(tmp_path / "other", key=witness_keys)
    other.state.record("tvaerakut.local/audit/2026", 5, bytes(32))
    refused = other.check_once()
    assert not refused.cosigned and refused.problem == "the log shrank from 5 to 4 entries"
