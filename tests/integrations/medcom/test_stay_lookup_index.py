"""A hospital's message about a stay looks for a later event of that stay
among the stay's own messages, however many stays the citizen has had."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from integrations.hospital.medcom import _later_in_stay
from integrations.models import InboundMessage

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_the_later_event_of_a_stay_is_found_by_the_stay_not_by_reading_every_stay(
    hospital, citizen
):
    """The look-up reaches the stay's messages through the index on the
    citizen and the stay: the citizen's other stays are not read and filtered
    one by one. The answer is the later message of that stay only."""
    stays = 40
    for n in range(stays):
        for event, hour in (("admit", 8), ("discharge", 16)):
            InboundMessage.objects.create(
                partner=hospital,
                bundle_id=f"b-{n}-{event}",
                header_id=f"h-{n}-{event}",
                event="hospital-notification",
                citizen=citizen,
                outcome=InboundMessage.Outcome.OK,
                http_status=200,
                acknowledgement={"resourceType": "Bundle"},
                result={
                    "episode_of_care": f"stay-{n}",
                    "occurred_at": f"2024-01-{n % 28 + 1:02d}T{hour:02d}:00:00+01:00",
                },
            )
    admitted = dt.datetime(2024, 1, 8, 7, 0, tzinfo=dt.UTC)  # stay-7's admission, 08:00+01
    assert list(_later_in_stay(citizen.pk, "stay-7", admitted)) == ["h-7-discharge"]
    assert list(_later_in_stay(citizen.pk, "stay-7", admitted + dt.timedelta(hours=8))) == []

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE integrations_inboundmessage")
    plan = _later_in_stay(citizen.pk, "stay-7", admitted).explain(analyze=True)
    assert "inbound_citizen_stay_idx" in plan
    index_conditions = [line for line in plan.splitlines() if "Index Cond" in line]
    assert any("episode_of_care" in line for line in index_conditions), plan
    removed = [int(line.rsplit(":", 1)[1]) for line in plan.splitlines() if "Removed by" in line]
    assert sum(removed) < 2, plan  # the stay's admission at most; no other stay's row
