"""One reader of a date and a date-time on every door: ISO 8601's extended
form only. Python's ``fromisoformat`` (and Django's parsers through it) read
"2026-12-08T10.30+01:00" as 10:00:00.3 and take the basic form, week dates
and an hour alone; a partner or a client that sent one got a stored time it
did not mean, without a word. Each door refuses them with its own code, and
a page reads a Dane's "10.30" as half past ten. An offset
no zone has (beyond ±14:00) is refused on every door too."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.http import QueryDict
from django.utils import timezone

from acute import services
from acute.models import VitalSign
from acute.occurrence import OCCURRENCE_INVALID, _instant
from acute.selectors.figures import figures_date
from consent.audit.selectors import parse_instant
from consent.fhir.datatypes import instant, period_bound
from consent.selectors.dates import date_range
from core.actors import Actor
from core.errors import InvalidInput
from core.models import Role
from core.times import InstantField, read_day, read_moment, typed_moment
from integrations.messages import InvalidMessage, message_instant
from medicine_cabinet.pages import _parse_date
from portal.board import _typed_local_time
from portal.visit_forms import offline_moment
from portal.visit_page import _when
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, world  # noqa: F401

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
PLUS_ONE = dt.timezone(dt.timedelta(hours=1))

# Read by fromisoformat, none of them ISO 8601's extended form.
NOT_EXTENDED = [
    "2026-12-08T10.30+01:00",  # read as 10:00:00.3
    "20261208T1030Z",
    "2026-12-08T1030+0100",
    "2026-W50-1T10:30:00+01:00",
    "2026-12-08T10+01:00",
    "2026-12-08T10:30+01",
    "2026-12-08X10:30+01:00",
]
# The extended form, but an offset no zone has (FHIR R4 allows up to ±14:00):
# "+20:00" is a slip for "+02:00", read as it stood 18 hours off.
FAR_OFFSETS = ["2026-12-08T10:30+20:00", "2026-12-08T10:30:00+14:30", "2026-12-08T10:30-15:00"]
# The same as a page's Copenhagen time, without an offset.
NOT_TYPED = ["20261208T1030", "2026-12-08T1030", "2026-W50-1T10:30", "2026-12-08T10", "2026-12-08"]
HALF_PAST_TEN = dt.datetime(2026, 12, 8, 10, 30, tzinfo=PLUS_ONE)


def test_the_reader_takes_the_extended_form_and_nothing_else() -> None:
    for raw in NOT_EXTENDED:
        assert read_moment(raw) is None, raw
    assert read_moment("2026-12-08T10:30+01:00") == HALF_PAST_TEN
    assert read_moment("2026-12-08T09:30Z") == HALF_PAST_TEN
    assert read_moment("2026-12-08T10:30:00.5+01:00") == HALF_PAST_TEN.replace(microsecond=500000)
    assert read_moment("2026-12-08T10:30:00.123456789+01:00") == HALF_PAST_TEN.replace(
        microsecond=123456
    )
    assert read_moment("2026-12-08T10:30") == dt.datetime(2026, 12, 8, 10, 30)  # naive
    for impossible in ("2026-02-30T10:30Z", "2026-12-08T24:00Z", "2026-12-08T10:30+24:00"):
        assert read_moment(impossible) is None, impossible
    for raw in FAR_OFFSETS:
        assert read_moment(raw) is None, raw
        assert typed_moment(raw) is None, raw
    # The furthest zones there are: Kiribati's +14:00, Baker Island's -12:00.
    assert read_moment("2026-12-08T23:30+14:00") == HALF_PAST_TEN
    assert read_moment("2026-12-07T21:30-12:00") == HALF_PAST_TEN
    assert read_day("2026-12-08") == dt.date(2026, 12, 8)
    for raw in ("20261208", "2026-W50-1", "2026-1-1", "2026-02-30", "2026-12-08T10:30Z"):
        assert read_day(raw) is None, raw
    assert typed_moment("2026-12-08 10.30") == dt.datetime(2026, 12, 8, 10, 30)
    assert typed_moment("2026-12-08T10.30+01:00") == HALF_PAST_TEN
    for raw in NOT_TYPED:
        assert typed_moment(raw) is None, raw


# --- /api/ -------------------------------------------------------------------


@pytest.fixture
def on_site(db):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    visit = services.visit_assign(
        referral=referral, shift=shift, actor=Actor.for_membership(coordinator)
    )
    client = f.client_for(nurse)
    for step in ("accept", "en-route", "on-site"):
        assert client.post(f"/api/acute/visits/{visit.pk}/{step}").status_code == 200
    return client, visit


def test_an_api_date_time_in_another_form_is_refused_not_read_as_another_time(on_site) -> None:
    client, visit = on_site
    now = timezone.now().astimezone(PLUS_ONE).replace(second=0, microsecond=0)
    url = f"/api/acute/visits/{visit.pk}/vital-signs"

    def vitals(measured_at: str):
        body = {"measurements": [{"code": "8867-4", "value": "96"}], "measured_at": measured_at}
        return client.post(url, body, format="json")

    for raw in [
        now.strftime("%Y-%m-%dT%H.%M+01:00"),
        now.strftime("%Y%m%dT%H%M+0100"),
        now.strftime("%Y-%m-%dT%H%M+0100"),
        now.strftime("%G-W%V-%uT%H:%M:00+01:00"),
        now.strftime("%Y-%m-%dT%H+01:00"),
        now.strftime("%Y-%m-%dT%H:%M+20:00"),
    ]:
        refused = vitals(raw)
        assert refused.status_code == 400, (raw, refused.content)
        error = refused.json()["error"]
        assert error["code"] == "request.invalid" and "measured_at" in error["fields"], raw
    assert not VitalSign.objects.filter(visit=visit).exists()
    # The extended form, to the minute, with an offset or Z, is taken as it says.
    assert vitals(now.strftime("%Y-%m-%dT%H:%M+01:00")).status_code == 201
    assert vitals(now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")).status_code == 201
    assert list(VitalSign.objects.filter(visit=visit).values_list("measured_at", flat=True)) == [
        now,
        now,
    ]


def test_the_auditors_api_refuses_another_form_of_from(db) -> None:
    api = f.client_for(f.staff(Role.AUDITOR, f.acute_function()))
    for raw in ["2026-12-08T10.30+01:00", "20261208T1030Z", "20261208", "2026-W50-1"]:
        response = api.get("/api/audit/entries", {"from": raw})
        assert response.status_code == 400, raw
        assert response.json()["error"]["code"] == "audit.param_invalid", raw
    assert api.get("/api/audit/entries", {"from": "2026-12-08T10:30+01:00"}).status_code == 200


def test_every_door_hands_on_a_time_in_utc_as_the_store_gives_it_back() -> None:
    """What a request writes down from a time it was sent (an audit entry's
    detail, the resource in its answer) reads as that time does once read
    back: in UTC, not in the zone it was sent in or Copenhagen's."""
    field = InstantField()
    field.bind("at", None)
    for sent in ("2026-12-08T10:30+01:00", "2026-12-08T23:30+14:00", "2026-12-08T09:30Z"):
        read = field.to_internal_value(sent)
        assert read.isoformat() == "2026-12-08T09:30:00+00:00", sent
    on_page = _typed_local_time("2026-12-08 10.30", field="phoned_at")
    assert on_page.isoformat() == "2026-12-08T09:30:00+00:00"
    assert parse_instant("2026-12-08 10.30", "from", local=True).isoformat() == (
        "2026-12-08T09:30:00+00:00"
    )
    # A partner's message, at +14:00 too.
    for sent in ("2026-12-08T10:30:00+01:00", "2026-12-08T23:30:00+14:00"):
        assert message_instant(sent, field="sent").isoformat() == "2026-12-08T09:30:00+00:00"


# --- pages -------------------------------------------------------------------


def test_the_boards_phoned_at_reads_ten_thirty_and_refuses_other_forms() -> None:
    field = "phoned_at"
    assert _typed_local_time("2026-12-08 10.30", field=field) == HALF_PAST_TEN
    assert _typed_local_time("2026-12-08T10:30", field=field) == HALF_PAST_TEN
    for raw in [*NOT_TYPED, "2026-12-08T10+01:00", "20261208T1030Z", *FAR_OFFSETS]:
        with pytest.raises(InvalidInput) as refused:
            _typed_local_time(raw, field=field)
        assert refused.value.code == "order.withdrawal_phoned_at_invalid", raw
        assert refused.value.field == field


def test_the_auditors_page_reads_ten_thirty_and_refuses_other_forms(db) -> None:
    assert parse_instant("2026-12-08 10.30", "from", local=True) == HALF_PAST_TEN
    for raw in [*NOT_TYPED[:-1], "2026-12-08T10+01:00", "20261208T1030Z", *FAR_OFFSETS]:
        with pytest.raises(InvalidInput) as refused:
            parse_instant(raw, "from", local=True)
        assert (refused.value.code, refused.value.field) == ("audit.param_invalid", "from"), raw


def test_a_tablets_queued_time_in_another_form_is_not_taken() -> None:
    now = timezone.now().astimezone(PLUS_ONE).replace(second=0, microsecond=0)
    sent = QueryDict(mutable=True)
    sent["given_offline_at"] = now.strftime("%Y-%m-%dT%H:%M+01:00")
    assert offline_moment(sent) == now
    for layout in (
        "%Y-%m-%dT%H.%M+01:00",
        "%Y%m%dT%H%M+0100",
        "%Y-%m-%dT%H+01:00",
        "%Y-%m-%dT%H:%M+20:00",
    ):
        sent["given_offline_at"] = now.strftime(layout)
        with pytest.raises(InvalidInput) as refused:
            offline_moment(sent)
        assert (refused.value.code, refused.value.field) == (
            "offline.time_unreadable",
            "given_offline_at",
        ), layout


def test_the_visit_page_shows_no_time_for_another_form() -> None:
    assert _when("2026-12-08T10:30:00+01:00") == HALF_PAST_TEN
    assert _when("2026-12-08") == dt.date(2026, 12, 8)
    for raw in [*NOT_EXTENDED, *FAR_OFFSETS, "20261208"]:
        assert _when(raw) is None, raw


def test_the_cabinets_page_takes_a_date_only_as_yyyy_mm_dd() -> None:
    assert _parse_date("2027-12-08", "expires_on") == dt.date(2027, 12, 8)
    for raw in ("20271208", "2027-W50-1", "2027-12-08T10:30"):
        with pytest.raises(InvalidInput) as refused:
            _parse_date(raw, "expires_on")
        assert (refused.value.code, refused.value.field) == ("date.invalid", "expires_on"), raw


# --- messages, searches and FHIR bodies --------------------------------------


def test_a_message_with_a_time_in_another_form_is_refused_naming_it() -> None:
    assert message_instant("2026-12-08T10:30:00+01:00", field="sent") == HALF_PAST_TEN
    # A date alone is that Danish day's first moment (decision 0042); less
    # than a day is no time.
    assert message_instant("2026-12-08", field="sent") == dt.datetime(
        2026, 12, 7, 23, 0, tzinfo=dt.UTC
    )
    assert message_instant("2026-12", field="sent") is None
    for raw in [*NOT_EXTENDED, *FAR_OFFSETS]:
        with pytest.raises(InvalidMessage) as refused:
            message_instant(raw, field="sent")
        assert refused.value.code == "message.datetime_invalid", raw


def test_a_referrals_occurrence_and_a_search_date_take_the_extended_form_only() -> None:
    assert _instant("2026-12-08T10:30:00+01:00", "occurrence") == HALF_PAST_TEN
    for raw in [*NOT_EXTENDED, *FAR_OFFSETS]:
        with pytest.raises(InvalidInput) as refused:
            _instant(raw, "occurrence")
        assert refused.value.code == OCCURRENCE_INVALID, raw
    assert date_range("2026-12-08T10:30+01:00", field="date")[0] == HALF_PAST_TEN
    for raw in [*NOT_EXTENDED, *FAR_OFFSETS, "20261208"]:
        with pytest.raises(InvalidInput) as refused:
            date_range(raw, field="date")
        assert refused.value.field == "date", raw
    for raw in ("20261208", "2026-W50-1"):
        with pytest.raises(InvalidInput):
            figures_date(raw, field="start")


def test_a_fhir_bodys_date_time_in_another_form_is_not_read() -> None:
    assert instant("2026-12-08T10:30:00+01:00") == HALF_PAST_TEN
    for raw in [*NOT_EXTENDED, *FAR_OFFSETS, "2026-12-08Tx"]:
        assert instant(raw) is None, raw
        with pytest.raises(InvalidInput) as refused:
            period_bound(raw, end=False, field="period.start")
        assert refused.value.code == "fhir.date_invalid", raw


def test_fhir_writes_and_searches_refuse_the_same_forms(world: World) -> None:  # noqa: F811
    nurse = f.client_for(world.nurse)
    for raw in [*NOT_EXTENDED, *FAR_OFFSETS]:
        body = bodies.diagnosis(world.person.pk, onsetDateTime=raw)
        written = post(nurse, "/fhir/Condition", body)
        assert written.status_code == 400, (raw, written.content[:300])
        assert issue_code(written) == "fhir.invalid", raw
        found = nurse.get("/fhir/Condition", {"patient": world.person.pk, "date": f"ge{raw}"})
        assert found.status_code == 400, (raw, found.content[:300])
        assert issue_code(found) == "search.date_invalid", raw
    body = bodies.diagnosis(world.person.pk, onsetDateTime="2026-12-08T10:30:00+01:00")
    assert post(nurse, "/fhir/Condition", body).status_code == 201
    search = {"patient": world.person.pk, "date": "ge2026-12-08T10:30+01:00"}
    assert nurse.get("/fhir/Condition", search).status_code == 200
