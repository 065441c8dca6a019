"""The audit commands an operator or auditor runs by hand: bad arguments get a
clear message and a non-zero exit, never a traceback nor a clean bill of
health for a check that checked nothing; a proof shown by entry id is
recorded as the auditor's API records it."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from consent.audit.log import sequence_batch
from consent.audit.models import AuditEntry, Purpose
from consent.audit.services import Action, audit_record
from core.actors import Actor

pytestmark = pytest.mark.django_db


def test_audit_verify_refuses_a_range_that_ends_before_it_starts() -> None:
    """As ``GET /api/audit/verify`` does: "nothing to verify" with exit 0
    would read as a clean log."""
    with pytest.raises(CommandError, match=r"\(audit.param_invalid\)") as refused:
        call_command(
            "audit_verify", "--from", "2026-02-01", "--to", "2026-01-01", stdout=StringIO()
        )
    assert refused.value.returncode == 2
    # A single day is a range: the date ``to`` includes its day.
    call_command("audit_verify", "--from", "2026-02-01", "--to", "2026-02-01", stdout=StringIO())


@pytest.mark.parametrize("raw", ["\u0663", "\uff13", "+3", "-1", "3.0", "abc"])
def test_audit_prove_takes_an_entry_id_of_the_digits_0_9(raw: str) -> None:
    """``int`` reads Arabic-Indic and full-width digits as a number the
    operator never typed as one: ``audit_prove ٣`` proved entry 3."""
    with pytest.raises(CommandError, match="digits 0-9"):
        call_command("audit_prove", raw, stdout=StringIO())


def test_audit_prove_records_the_reading_against_the_entrys_citizen() -> None:
    entry = audit_record(
        actor=Actor.system("tests.prove"),
        action=Action.READ,
        purpose=Purpose.TREATMENT,
        citizen_id=4242,
    )
    sequence_batch()
    out = StringIO()
    call_command("audit_prove", str(entry.id), stdout=out)
    assert f"OK: entry {entry.id}" in out.getvalue()
    recorded = AuditEntry.objects.filter(task="consent.audit_prove").get()
    assert (recorded.action, recorded.purpose, recorded.citizen_id) == (
        Action.READ,
        Purpose.AUDIT,
        4242,
    )
    assert recorded.detail == {"query": {"inclusion": str(entry.id)}}


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--from", "x"], "audit.param_invalid"),
        (["--from", "2026-03-29T02:30"], "time.local_nonexistent"),
        (["--to", "2026-10-25T02:30"], "time.local_ambiguous"),
    ],
)
def test_audit_verify_says_a_bad_time_with_its_code_and_exits_2(args: list[str], code: str) -> None:
    """Exit 1 is "the log is broken": a typed date that is no time exited 1
    too, and a script watching the log raised a tampering alarm for a typo.
    Refused as argparse refuses a bad argument (2), with the API's code."""
    with pytest.raises(CommandError, match=re.escape(f"({code})")) as refused:
        call_command("audit_verify", *args, stdout=StringIO())
    assert refused.value.returncode == 2
