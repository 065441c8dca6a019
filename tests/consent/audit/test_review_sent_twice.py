"""R9 on the auditor's console: a flagged entry's review sent twice (a
double click, a reload) is one review with her comment, and the second
send is told in Danish that nothing was done twice (``core.form_once``)."""

from __future__ import annotations

import pytest

from consent.audit.models import EntryReview
from core.models import Role
from tests import factories
from tests.consent.audit.conftest import flags_scan_placed
from tests.consent.audit.test_pages import _denied_read, _logged_in
from tests.sent_twice import ref_for, sent_twice

pytestmark = pytest.mark.django_db


def test_r9_a_review_sent_twice_is_one_review() -> None:
    team = factories.acute_function()
    nurse = factories.staff(Role.ACUTE_NURSE, team)
    denied = _denied_read(nurse, factories.citizen())
    flags_scan_placed()
    client = _logged_in(factories.staff(Role.AUDITOR, team))
    page = f"/audit/entries/{denied.id}"
    review = f"{page}/review"
    form = {"comment": "Kontrolleret.", "form_ref": ref_for(client, page, review)}

    sent_twice(client, review, form)

    assert list(
        EntryReview.objects.filter(entry_id=denied.id).values_list("comment", flat=True)
    ) == ["Kontrolleret."]
