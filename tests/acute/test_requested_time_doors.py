"""A referral asking for a later time (*ønsket tidspunkt*, "kom i morgen
formiddag", R10) is taken in as a planned visit on every door, not only FHIR
and the partners' messages: the referral API takes ``requested_start`` /
``requested_end`` (ISO 8601 with its offset), the coordinator's phone form
and the short form take a day with a from and a to time in Copenhagen time.
Each is judged by the one rule of ``acute.occurrence`` with its codes, a
refusal naming the door's own field, nothing written and, where a citizen
is named, the attempt denied on her record (R9). They used to be dropped:
the referral was due by the urgency alone and a nurse sent at once."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from acute.models import Referral
from acute.services import visit_assign
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.models import Role
from core.templatetags.platform import clock_day
from tests import factories as f
from tests.acute.test_api import REFERRAL
from tests.acute.test_pages import PHONE_REFERRAL

pytestmark = pytest.mark.django_db

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
PHONE_FORM = "/coordinator/referrals/new/"
SHORT_FORM = "/referrals/new/"


@pytest.fixture(autouse=True)
def acute_function():
    return f.acute_function()


@pytest.fixture
def coordinator(acute_function):
    return f.staff(Role.COORDINATOR, acute_function)


def _tomorrow() -> date:
    return (timezone.now().astimezone(COPENHAGEN) + timedelta(days=1)).date()


def _tomorrow_at(hour: int) -> datetime:
    return datetime.combine(_tomorrow(), time(hour), tzinfo=COPENHAGEN)


def _signed_in(membership) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


# --- the referral API ---------------------------------------------------------


def test_r10_the_api_takes_a_requested_period_as_a_planned_visit(coordinator):
    person = f.citizen()
    start, end = _tomorrow_at(9), _tomorrow_at(12)
    client = f.client_for(coordinator)
    created = client.post(
        "/api/acute/referrals",
        {
            **REFERRAL,
            "citizen_id": person.pk,
            "source": "gp",
            "requested_start": start.isoformat(),
            "requested_end": end.isoformat(),
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    referral = Referral.objects.get(citizen=person)
    # Planned for the start, due by the end: not two hours from now.
    assert (referral.planned_for, referral.deadline_at) == (start, end)
    assert created.json()["planned_for"] is not None
    assert datetime.fromisoformat(created.json()["planned_for"]) == start
    assert AuditEntry.objects.filter(
        citizen_id=person.pk,
        action="create",
        resource_type="ServiceRequest",
        resource_id=str(referral.pk),
        detail__planned_for=start.astimezone(UTC).isoformat(),
    ).exists()
    # The FHIR read gives it back as the period the referrer asked for.
    read = client.get(f"/fhir/ServiceRequest/referral-{referral.pk}")
    period = read.json()["occurrencePeriod"]
    assert datetime.fromisoformat(period["start"]) == start
    assert datetime.fromisoformat(period["end"]) == end
    # No nurse is offered before the hour ahead of the start.
    assert client.post(f"/api/acute/referrals/{referral.pk}/accept").status_code == 200
    _nurse, shift = f.acute_nurse_on_shift()
    assigned = client.post(
        f"/api/acute/referrals/{referral.pk}/assign", {"shift": shift.pk}, format="json"
    )
    assert assigned.status_code == 409, assigned.content
    assert assigned.json()["error"]["code"] == "referral.planned_later"


def test_the_api_without_a_requested_period_is_due_by_the_urgency_as_before(coordinator):
    person = f.citizen()
    created = f.client_for(coordinator).post(
        "/api/acute/referrals",
        {**REFERRAL, "citizen_id": person.pk, "source": "gp"},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["planned_for"] is None
    assert Referral.objects.get(citizen=person).planned_for is None


def _api_refusals():
    now = timezone.now()
    return [
        (
            {"requested_end": (now - timedelta(minutes=5)).isoformat()},
            "referral.occurrence_past",
            "requested_end",
        ),
        (
            {
                "requested_start": _tomorrow_at(12).isoformat(),
                "requested_end": _tomorrow_at(9).isoformat(),
            },
            "referral.occurrence_period_reversed",
            "requested_end",
        ),
        (
            {"requested_start": (now + timedelta(days=15)).isoformat()},
            "referral.occurrence_too_far_ahead",
            "requested_start",
        ),
    ]


@pytest.mark.parametrize("index", range(3))
def test_an_api_period_that_cannot_be_honoured_is_refused_with_the_fhir_code_and_audited(
    coordinator, index
):
    asked, code, field = _api_refusals()[index]
    person = f.citizen()
    refused = f.client_for(coordinator).post(
        "/api/acute/referrals",
        {**REFERRAL, "citizen_id": person.pk, "source": "gp", **asked},
        format="json",
    )
    assert refused.status_code == 400, refused.content
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert not Referral.objects.exists()
    assert AuditEntry.objects.filter(
        citizen_id=person.pk, resource_type="ServiceRequest", outcome="denied", reason_code=code
    ).exists()


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("2026-12-24T09:00:00", "time.naive"),
        ("0001-01-01T00:00:00+14:00", "time.out_of_range"),
    ],
)
def test_an_api_time_without_offset_or_outside_the_years_is_refused_as_every_api_time(
    coordinator, typed, code
):
    refused = f.client_for(coordinator).post(
        "/api/acute/referrals",
        {**REFERRAL, "citizen_id": f.citizen().pk, "source": "gp", "requested_start": typed},
        format="json",
    )
    assert refused.status_code == 400, refused.content
    assert (refused.json()["error"]["code"], refused.json()["error"]["field"]) == (
        code,
        "requested_start",
    )
    assert not Referral.objects.exists()


# --- the phone form and the short form ------------------------------------------


def test_r10_the_coordinator_plans_a_phone_referral_for_tomorrow_morning(coordinator):
    person = f.citizen()
    sent = _signed_in(coordinator).post(
        PHONE_FORM,
        {
            **PHONE_REFERRAL,
            "cpr": person.cpr,
            "requested_date": _tomorrow().isoformat(),
            "requested_from": "09:00",
            "requested_to": "12:00",
        },
    )
    assert sent.status_code == 302, sent.content.decode()[:2000]
    referral = Referral.objects.get(citizen=person)
    # Typed in Copenhagen time, kept in UTC.
    assert (referral.planned_for, referral.deadline_at) == (_tomorrow_at(9), _tomorrow_at(12))
    assert referral.status == "accepted"


def test_r10_a_physician_plans_a_visit_from_the_short_form(coordinator):
    gp = f.gp_practice()
    person = f.citizen(gp=gp)
    sent = _signed_in(f.staff(Role.PHYSICIAN, gp)).post(
        SHORT_FORM,
        {
            **REFERRAL,
            "cpr": person.cpr,
            "requested_date": _tomorrow().isoformat(),
            "requested_from": "10:00",
        },
    )
    assert sent.status_code == 302, sent.content.decode()[:2000]
    referral = Referral.objects.get(citizen=person)
    start = _tomorrow_at(10)
    assert referral.planned_for == start
    # No end: due by the urgency counted from the start.
    assert referral.deadline_at == start + timedelta(hours=2)


@pytest.mark.parametrize(
    ("requested", "field", "danish"),
    [
        (
            {"requested_date": "tomorrow", "requested_from": "12:00", "requested_to": "09:00"},
            "requested_to",
            "Det ønskede tidsrum for besøget slutter, før det begynder.",
        ),
        (
            {"requested_from": "09:00"},
            "requested_date",
            "Vælg datoen for det ønskede tidspunkt.",
        ),
        (
            {"requested_date": "tomorrow", "requested_from": "9 om morgenen"},
            "requested_from",
            "Den ønskede dato eller det ønskede klokkeslæt kan ikke læses.",
        ),
        (
            # The last Sunday of March 2027: the clocks skip from 02:00 to 03:00.
            {"requested_date": "2027-03-28", "requested_from": "02:30"},
            "requested_from",
            "Tidspunktet findes ikke i dansk tid: urene springer fra 02:00 til 03:00.",
        ),
        (
            {"requested_date": "tomorrow", "requested_to": "00:00", "requested_from": ""},
            "requested_to",
            None,
        ),
    ],
)
def test_a_requested_time_refused_on_the_phone_form_is_told_in_danish_by_its_field(
    coordinator, requested, field, danish
):
    person = f.citizen()
    typed = {k: (_tomorrow().isoformat() if v == "tomorrow" else v) for k, v in requested.items()}
    if danish is None:
        # The end of a period already over: today's midnight has passed.
        typed["requested_date"] = timezone.now().astimezone(COPENHAGEN).date().isoformat()
        danish = "Det ønskede tidspunkt for besøget er overskredet."
    page = _signed_in(coordinator).post(PHONE_FORM, {**PHONE_REFERRAL, "cpr": person.cpr, **typed})
    assert page.status_code == 400
    html = page.content.decode()
    error_id = html.index(f'name="{field}"')
    # The message stands under the field it concerns, in Danish.
    assert danish in html[error_id : error_id + 1000]
    # Everything typed stays on the form.
    assert PHONE_REFERRAL["clinical_picture"] in html
    for value in typed.values():
        if value:
            assert f'value="{value}"' in html
    assert not Referral.objects.exists()


@pytest.mark.parametrize(("typed", "hour", "minute"), [("10.30", 10, 30), ("10:30", 10, 30)])
def test_r10_a_requested_time_written_the_danish_way_is_that_minute(
    coordinator, typed, hour, minute
):
    """Half past ten written as a Dane writes it by hand, "kl. 10.30", is
    half past ten: never read as 10:00 and three tenths of a second, half an
    hour early."""
    person = f.citizen()
    sent = _signed_in(coordinator).post(
        PHONE_FORM,
        {
            **PHONE_REFERRAL,
            "cpr": person.cpr,
            "requested_date": _tomorrow().isoformat(),
            "requested_from": typed,
            "requested_to": "12.00",
        },
    )
    assert sent.status_code == 302, sent.content.decode()[:2000]
    referral = Referral.objects.get(citizen=person)
    start = datetime.combine(_tomorrow(), time(hour, minute), tzinfo=COPENHAGEN)
    assert (referral.planned_for, referral.deadline_at) == (start, _tomorrow_at(12))


@pytest.mark.parametrize(
    ("requested", "field"),
    [
        # Each of these Python's ISO reader takes as another time or day,
        # silently: a year as 20:26, a comma as a fraction of a second, an
        # hour alone, a time in UTC, a date without its dashes, a week day.
        ({"requested_from": "2026"}, "requested_from"),
        ({"requested_from": "10,30"}, "requested_from"),
        ({"requested_from": "10"}, "requested_from"),
        ({"requested_from": "1030"}, "requested_from"),
        ({"requested_from": "10:30Z"}, "requested_from"),
        ({"requested_from": "10:30", "requested_to": "12:00+00:00"}, "requested_to"),
        ({"requested_from": "10:30", "requested_date": "compact"}, "requested_date"),
        ({"requested_from": "10:30", "requested_date": "week"}, "requested_date"),
    ],
)
def test_a_requested_time_read_only_as_typed_on_both_forms(coordinator, requested, field):
    tomorrow = _tomorrow()
    typed = {
        "requested_date": tomorrow.isoformat(),
        **requested,
    }
    if typed["requested_date"] == "compact":
        typed["requested_date"] = tomorrow.strftime("%Y%m%d")
    elif typed["requested_date"] == "week":
        year, week, day = tomorrow.isocalendar()
        typed["requested_date"] = f"{year}-W{week:02d}-{day}"
    gp = f.gp_practice()
    doors = (
        (PHONE_FORM, coordinator, f.citizen()),
        (SHORT_FORM, f.staff(Role.PHYSICIAN, gp), f.citizen(gp=gp)),
    )
    for form, who, person in doors:
        fields = PHONE_REFERRAL if form == PHONE_FORM else REFERRAL
        page = _signed_in(who).post(form, {**fields, "cpr": person.cpr, **typed})
        assert page.status_code == 400, (form, typed, page.status_code)
        html = page.content.decode()
        error_at = html.index(f'name="{field}"')
        assert (
            "Den ønskede dato eller det ønskede klokkeslæt kan ikke læses."
            in html[error_at : error_at + 1000]
        )
        # What she typed stays on the form, to be corrected.
        assert f'value="{typed[field]}"' in html
        assert not Referral.objects.filter(citizen=person).exists()


def test_r10_the_requested_time_stands_on_the_referral_and_on_the_nurses_visit(coordinator):
    """The referrer asked for the visit from a time: the coordinator's page of
    the referral and the nurse's page of the visit say from when, in Danish
    time, not only by when. A nurse is sent up to an hour before it; without
    it she set off at once and rang the door before the citizen expected her."""
    nurse, shift = f.acute_nurse_on_shift()
    person = f.citizen()
    start = (
        (timezone.now() + timedelta(minutes=30))
        .astimezone(COPENHAGEN)
        .replace(second=0, microsecond=0)
    )
    coordinator_client = _signed_in(coordinator)
    sent = coordinator_client.post(
        PHONE_FORM,
        {
            **PHONE_REFERRAL,
            "cpr": person.cpr,
            "requested_date": start.date().isoformat(),
            "requested_from": start.strftime("%H:%M"),
        },
    )
    assert sent.status_code == 302, sent.content.decode()[:2000]
    referral = Referral.objects.get(citizen=person)
    assert referral.planned_for == start
    shown = f"Fra {clock_day(start)}"
    page = coordinator_client.get(f"/coordinator/referrals/{referral.pk}/").content.decode()
    assert "Ønsket tidspunkt" in page and shown in page

    visit = visit_assign(referral=referral, shift=shift, actor=Actor.for_membership(coordinator))
    visit_page = _signed_in(nurse).get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert "Ønsket tidspunkt" in visit_page and shown in visit_page
