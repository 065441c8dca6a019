"""R9 and R5: who did what, and when, in the hour that comes twice. On the
night summer time ends in Copenhagen, 02:00 to 02:59 happens twice; the
auditor's export, the log's pages and the citizen's insight report said
"02:30" for two accesses an hour apart, which read as one moment and sorted
wrongly in a spreadsheet. In that hour they now say which."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.utils import translation

from consent.audit.models import AuditEntry, EntryReview
from consent.audit.pages import _csv_for_people
from consent.audit.scope import WHOLE_LOG
from core.models import Role
from core.templatetags.platform import moment
from tests import factories as f

pytestmark = pytest.mark.django_db

SUMMER, WINTER = (
    dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC),
)


def _entry(pk: int, at: dt.datetime) -> AuditEntry:
    return AuditEntry(
        id=pk,
        recorded_at=at,
        actor_username="hanne",
        actor_role="acute_nurse",
        action="read",
        purpose="treatment",
        outcome="permitted",
        resource_type="Condition",
        detail={},
    )


def test_the_auditors_export_says_which_0230_an_access_was_made_at() -> None:
    rows = [_entry(2, WINTER), _entry(1, SUMMER), _entry(3, WINTER + dt.timedelta(hours=1))]
    with translation.override("da"):
        response = _csv_for_people(rows, {}, scope=WHOLE_LOG)
    lines = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [line["Tidspunkt (dansk tid)"] for line in lines] == [
        "2026-10-25 02:30:00 (vintertid)",
        "2026-10-25 02:30:00 (sommertid)",
        # Every other hour is said once, as before.
        "2026-10-25 03:30:00",
    ]


@pytest.mark.parametrize(
    ("layout", "summer", "winter"),
    [
        # The citizen's insight report.
        ("j. F Y H:i", "25. oktober 2026 02:30 (sommertid)", "25. oktober 2026 02:30 (vintertid)"),
        # The audit log's table of entries.
        ("j. b Y H:i:s", "25. okt 2026 02:30:00 (sommertid)", "25. okt 2026 02:30:00 (vintertid)"),
    ],
)
def test_the_log_and_the_insight_report_say_which_0230(
    layout: str, summer: str, winter: str
) -> None:
    with translation.override("da"):
        assert (moment(SUMMER, layout), moment(WINTER, layout)) == (summer, winter)
        assert moment(dt.datetime(2026, 10, 24, 23, 30, tzinfo=dt.UTC), layout).endswith(
            "01:30" if layout.endswith("H:i") else "01:30:00"
        )


def test_an_entry_names_which_0230_it_was_recorded_at() -> None:
    """The entry as the administration lists it (its own words)."""
    with translation.override("da"):
        assert str(_entry(1, SUMMER)).startswith("25.10.2026 02:30:00 (sommertid) ")
        assert str(_entry(2, WINTER)).startswith("25.10.2026 02:30:00 (vintertid) ")


@pytest.mark.parametrize(("at", "said"), [(SUMMER, "(sommertid)"), (WINTER, "(vintertid)")])
def test_the_auditors_entry_page_says_which_0230_it_was_reviewed(
    at: dt.datetime, said: str
) -> None:
    auditor = f.staff(Role.AUDITOR, f.acute_function())
    client = Client()
    assert f.log_in(client, auditor).status_code == 302
    assert client.get("/audit/").status_code == 200
    entry = AuditEntry.objects.filter(actor_user_id=auditor.user_id).latest("id")
    EntryReview.objects.create(
        entry_id=entry.id, reviewed_by=auditor.user, reviewed_at=at, comment="Set."
    )
    html = client.get(f"/audit/entries/{entry.id}", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert f"25. okt 2026 02:30 {said}" in html
