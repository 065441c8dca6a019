"""``manage.py dumpdata`` writes the configuration, never a citizen's data:
asked for citizens (or for everything) it dumps nothing and the refused
export is in the audit log (R9; CPR numbers never printed, decision 0002)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from consent.audit.models import Action, AuditEntry, Outcome
from core.labels import REASONS, TASKS
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("labels", [("core.Citizen",), ("core",), (), ("consent", "acute")])
def test_r9_a_dump_holding_citizens_data_is_refused_and_recorded(labels):
    person = factories.citizen()
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("dumpdata", *labels, stdout=out)
    assert out.getvalue() == ""
    assert person.cpr not in str(refused.value)
    entry = AuditEntry.objects.get(task="consent.dumpdata")
    assert (entry.action, entry.outcome, entry.reason_code) == (
        Action.EXPORT,
        Outcome.DENIED,
        "dump.citizen_data",
    )
    assert entry.task in TASKS and entry.reason_code in REASONS


def test_the_configuration_is_dumped_as_before():
    factories.citizen()
    factories.gp_practice()
    out = io.StringIO()
    call_command(
        "dumpdata",
        "core.Organisation",
        "medicine_cabinet.Medicine",
        "--exclude",
        "auth",
        stdout=out,
    )
    assert '"model": "core.organisation"' in out.getvalue()
    assert not AuditEntry.objects.filter(task="consent.dumpdata").exists()
    # Everything but the citizens' data, excluded by name, is the configuration.
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"Refused: .*core\.Citizen"):
        call_command("dumpdata", "core", "--exclude", "core.Membership", stdout=out)
