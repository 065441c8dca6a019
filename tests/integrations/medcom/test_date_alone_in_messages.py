"""A partner's dateTime given as a date alone names that Danish day: read
(integrations.messages.message_instant) as the day's first moment in
Copenhagen, as every door reads a date alone (docs/decisions/0042), never
"no time" with the message's arrival put in its place. A death the
hospital reports with the stay's end given as a day happened on that day."""

from __future__ import annotations

import datetime as dt

import pytest

from core.models import Citizen
from core.times import day_start
from integrations.models import CareThread, Partner
from tests.integrations.medcom.peers import ack_parts, example, post_signed
from tests.integrations.medcom.test_care_thread_unknown_or_late import THIRD, _communication
from tests.integrations.medcom.test_hospital_notification import MORS, STIN, _example

pytestmark = pytest.mark.django_db


def _encounter(message: dict) -> dict:
    return next(
        e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == "Encounter"
    )


def test_a_death_at_the_end_of_a_stay_given_as_a_day_is_on_that_day(
    hospital: Partner, citizen: Citizen
) -> None:
    """MedCom's death message (``deceasedBoolean``, no time of its own) whose
    stay ends on ``2022-12-09``: she died that day, from its first moment in
    Copenhagen, not when the message happened to arrive."""
    post_signed(hospital, _example(STIN))
    message = _example(MORS)
    _encounter(message)["period"]["end"] = "2022-12-09"

    status, body = post_signed(hospital, message)

    assert (status, ack_parts(body)[0]) == (200, "ok"), body
    citizen.refresh_from_db()
    assert citizen.deceased_at == day_start(dt.date(2022, 12, 9), field=None)
    assert citizen.deceased_at == dt.datetime(2022, 12, 8, 23, 0, tzinfo=dt.UTC)


def test_a_message_text_written_on_a_day_is_shown_on_that_day(
    hospital: Partner, citizen: Citizen
) -> None:
    """A segment of a CareCommunication whose time is given as a date alone
    was written that day: kept as the day's first moment, ordered among the
    thread's other segments by it, not stamped with the time it arrived."""
    message = example("carecommunication", THIRD)
    segment = _communication(message)["payload"][0]
    for extension in segment["extension"]:
        if extension["url"].endswith("datetime-extension"):
            extension["valueDateTime"] = "2022-11-20"

    status, body = post_signed(hospital, message)

    assert (status, ack_parts(body)[0]) == (200, "ok"), body
    thread = CareThread.objects.get()
    first = thread.messages.order_by("written_at", "pk").first()
    assert first is not None
    assert first.text == segment["contentString"]
    assert first.written_at == dt.datetime(2022, 11, 19, 23, 0, tzinfo=dt.UTC)
