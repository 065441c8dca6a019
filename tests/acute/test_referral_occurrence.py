"""When the referrer asks the citizen to be seen (``ServiceRequest.
occurrence[x]``, R10) on ``POST /fhir/ServiceRequest``. It used to be
dropped: the deadline came from the urgency alone, so "see her before 14:00"
was lost. A sooner time now becomes the deadline; a period that starts later
(see her tomorrow morning) is taken in and held as planned — it used to be
refused whole — and so is a single time after the urgency's deadline, which
used to be dropped for the urgency's; what cannot be honoured is refused with
its own code, nothing written and the attempt denied on the citizen's record
(R9)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from acute import services, tasks
from acute.deadlines import deadline_for
from acute.models import DeadlineWarning, Referral, Visit
from acute.occurrence import DISPATCH_LEAD, dispatch_opens_at
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.models import Organisation, Role
from core.times import api_instant
from tests import factories as f
from tests.acute.test_api import service_request

pytestmark = pytest.mark.django_db

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


@pytest.fixture(autouse=True)
def acute_function():
    return f.acute_function()


@pytest.fixture
def hospital_client():
    hospital = f.organisation(Organisation.Kind.HOSPITAL, "Herlev og Gentofte Hospital")
    return f.client_for(f.staff(Role.PHYSICIAN, hospital))


def _local(moment) -> str:
    """A time as a referrer in Denmark writes it: local, with its offset."""
    return moment.astimezone(COPENHAGEN).replace(microsecond=0).isoformat()


def _post(client, body: dict):
    return client.post(
        "/fhir/ServiceRequest", body, format="json", HTTP_ACCEPT="application/fhir+json"
    )


def _code(response) -> str:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return body["issue"][0]["details"]["coding"][0]["code"]


def test_a_requested_time_before_the_urgency_deadline_becomes_the_deadline(hospital_client):
    person = f.citizen()
    before = (timezone.now() + timedelta(minutes=40)).replace(microsecond=0)
    response = _post(
        hospital_client,
        service_request(person.cpr, priority="routine", occurrenceDateTime=_local(before)),
    )
    assert response.status_code == 201, response.content
    referral = Referral.objects.get()
    assert referral.urgency == "next_day"
    assert referral.deadline_at == before
    assert AuditEntry.objects.filter(
        citizen_id=person.pk,
        action="create",
        resource_type="ServiceRequest",
        resource_id=str(referral.pk),
        detail__requested_by=before.isoformat(),
    ).exists()


def test_r10_a_requested_time_after_the_urgency_deadline_plans_the_visit_for_it(
    hospital_client, acute_function
):
    person = f.citizen()
    later = (timezone.now() + timedelta(hours=6)).replace(microsecond=0)
    response = _post(
        hospital_client,
        service_request(person.cpr, priority="asap", occurrenceDateTime=_local(later)),
    )
    assert response.status_code == 201, response.content
    referral = Referral.objects.get()
    assert referral.urgency == "within_2_hours"
    # Asked for in six hours, as a period starting then is: planned for that
    # time and due by the urgency counted from it, not a nurse sent now.
    assert referral.planned_for == later
    assert referral.deadline_at == deadline_for("within_2_hours", later)
    assert AuditEntry.objects.filter(
        citizen_id=person.pk,
        action="create",
        resource_type="ServiceRequest",
        resource_id=str(referral.pk),
        detail__planned_for=later.isoformat(),
    ).exists()
    coordinator = f.staff(Role.COORDINATOR, acute_function)
    read = f.client_for(coordinator).get(f"/fhir/ServiceRequest/referral-{referral.pk}")
    assert read.json()["occurrenceDateTime"] == _local(later)
    # The same request written as a period starting then is planned the same way.
    other = f.citizen()
    period = _post(
        hospital_client,
        service_request(
            other.cpr,
            priority="asap",
            identifier=[{"value": "ED-4712"}],
            occurrencePeriod={"start": _local(later)},
        ),
    )
    assert period.status_code == 201, period.content
    planned = Referral.objects.get(citizen=other)
    assert (planned.planned_for, planned.deadline_at) == (
        referral.planned_for,
        referral.deadline_at,
    )


def test_a_period_under_way_is_due_by_its_end(hospital_client):
    person = f.citizen()
    now = timezone.now()
    end = (now + timedelta(minutes=50)).replace(microsecond=0)
    period = {"start": _local(now - timedelta(minutes=5)), "end": _local(end)}
    response = _post(
        hospital_client,
        service_request(person.cpr, priority="urgent", occurrencePeriod=period),
    )
    assert response.status_code == 201, response.content
    assert Referral.objects.get().deadline_at == end


def _refused_occurrences():
    now = timezone.now()
    soon, past = now + timedelta(hours=1), now - timedelta(hours=1)
    return [
        ({"occurrenceDateTime": _local(past)}, "referral.occurrence_past"),
        (
            {"occurrenceDateTime": soon.astimezone(COPENHAGEN).strftime("%Y-%m-%dT%H:%M:%S")},
            "referral.occurrence_offset_missing",
        ),
        (
            {"occurrenceDateTime": soon.astimezone(COPENHAGEN).date().isoformat()},
            "referral.occurrence_time_missing",
        ),
        ({"occurrenceDateTime": "i eftermiddag"}, "referral.occurrence_invalid"),
        (
            {
                "occurrencePeriod": {
                    "start": _local(soon),
                    "end": _local(now + timedelta(minutes=5)),
                }
            },
            "referral.occurrence_period_reversed",
        ),
        (
            {"occurrencePeriod": {"start": _local(past - timedelta(hours=1)), "end": _local(past)}},
            "referral.occurrence_past",
        ),
        (
            {"occurrencePeriod": {"start": _local(now + timedelta(days=15))}},
            "referral.occurrence_too_far_ahead",
        ),
        (
            {"occurrencePeriod": {"end": _local(soon).replace("+01:00", "").replace("+02:00", "")}},
            "referral.occurrence_offset_missing",
        ),
        (
            {"occurrenceTiming": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}},
            "referral.occurrence_timing_unsupported",
        ),
    ]


@pytest.mark.parametrize(
    "occurrence",
    [
        {"occurrenceDateTime": "0001-01-01T00:00:00+14:00"},
        {"occurrenceDateTime": "9999-12-31T23:59:59-14:00"},
        {"occurrencePeriod": {"start": "9999-12-31T23:59:59-14:00"}},
        {"occurrencePeriod": {"end": "0001-01-01T00:00:00+14:00"}},
    ],
)
def test_a_requested_time_outside_the_years_utc_holds_is_refused_not_a_failure(
    hospital_client, occurrence
):
    """A time of day the store cannot keep in UTC (past 9999 or before year 1
    once its offset is taken off) is refused by name, never a server error."""
    person = f.citizen()
    response = _post(hospital_client, service_request(person.cpr, **occurrence))
    assert response.status_code == 400, response.content
    assert _code(response) == "time.out_of_range"
    assert not Referral.objects.exists()
    assert AuditEntry.objects.filter(
        citizen_id=person.pk, outcome="denied", reason_code="time.out_of_range"
    ).exists()


@pytest.mark.parametrize("index", range(9))
def test_an_occurrence_that_cannot_be_honoured_is_refused_and_audited(hospital_client, index):
    occurrence, code = _refused_occurrences()[index]
    person = f.citizen()
    response = _post(hospital_client, service_request(person.cpr, **occurrence))
    assert response.status_code == 400, response.content
    assert _code(response) == code
    assert not Referral.objects.exists()
    assert AuditEntry.objects.filter(
        citizen_id=person.pk,
        action="create",
        resource_type="ServiceRequest",
        outcome="denied",
        reason_code=code,
    ).exists()


def test_a_resend_with_a_sooner_time_tightens_the_deadline_and_a_later_one_never_relaxes_it(
    hospital_client,
):
    person = f.citizen()
    assert _post(hospital_client, service_request(person.cpr, priority="urgent")).status_code == 201
    referral = Referral.objects.get()
    sooner = (timezone.now() + timedelta(minutes=30)).replace(microsecond=0)
    assert sooner < referral.deadline_at

    again = _post(
        hospital_client,
        service_request(person.cpr, priority="urgent", occurrenceDateTime=_local(sooner)),
    )
    assert again.status_code == 201, again.content
    referral.refresh_from_db()
    assert (referral.urgency, referral.deadline_at) == ("within_shift", sooner)
    raised = AuditEntry.objects.get(citizen_id=person.pk, detail__step="deadline_raised")
    assert raised.detail["requested_by"] == sooner.isoformat()

    later = timezone.now() + timedelta(minutes=90)
    again = _post(
        hospital_client,
        service_request(person.cpr, priority="urgent", occurrenceDateTime=_local(later)),
    )
    assert again.status_code == 201, again.content
    referral.refresh_from_db()
    assert referral.deadline_at == sooner

    # A resend with a time gone by is refused, and changes nothing.
    gone = _post(
        hospital_client,
        service_request(
            person.cpr,
            priority="urgent",
            occurrenceDateTime=_local(timezone.now() - timedelta(minutes=1)),
        ),
    )
    assert gone.status_code == 400
    assert _code(gone) == "referral.occurrence_past"
    referral.refresh_from_db()
    assert referral.deadline_at == sooner
    assert Referral.objects.count() == 1


def test_the_board_shows_the_requested_time_as_the_deadline_in_copenhagen_time(
    hospital_client, acute_function
):
    person = f.citizen()
    before = (timezone.now() + timedelta(minutes=40)).replace(second=0, microsecond=0)
    response = _post(
        hospital_client,
        service_request(person.cpr, priority="routine", occurrenceDateTime=before.isoformat()),
    )
    assert response.status_code == 201, response.content
    referral = Referral.objects.get()
    coordinator = Client()
    assert f.log_in(coordinator, f.staff(Role.COORDINATOR, acute_function)).status_code == 302
    board = coordinator.get("/coordinator/live/").content.decode()
    at = board.index(f"/coordinator/referrals/{referral.pk}/")
    row = board[board.rindex("<tr", 0, at) : board.index("</tr>", at)]
    # Sent in UTC, shown in Copenhagen time (the next-day deadline would say 16:00).
    assert before.astimezone(COPENHAGEN).strftime("%H:%M") in row


def _tomorrow_at(hour: int):
    day = (timezone.now().astimezone(COPENHAGEN) + timedelta(days=1)).date()
    return datetime.combine(day, time(hour), tzinfo=COPENHAGEN)


def test_r10_a_period_starting_tomorrow_is_taken_in_planned_and_read_back_as_sent(
    hospital_client, acute_function
):
    person = f.citizen()
    start, end = _tomorrow_at(8), _tomorrow_at(10)
    period = {"start": start.isoformat(), "end": end.isoformat()}
    response = _post(
        hospital_client,
        service_request(person.cpr, priority="asap", occurrencePeriod=period),
    )
    assert response.status_code == 201, response.content
    referral = Referral.objects.get()
    assert referral.planned_for == start
    # Due by the period's end, not two hours from now.
    assert referral.deadline_at == end
    assert AuditEntry.objects.filter(
        citizen_id=person.pk,
        action="create",
        resource_type="ServiceRequest",
        resource_id=str(referral.pk),
        detail__planned_for=start.astimezone(UTC).isoformat(),
    ).exists()
    coordinator = f.staff(Role.COORDINATOR, acute_function)
    read = f.client_for(coordinator).get(f"/fhir/ServiceRequest/referral-{referral.pk}")
    assert read.status_code == 200, read.content
    assert read.json()["occurrencePeriod"] == period


def test_r10_a_period_with_only_a_start_is_due_by_the_urgency_counted_from_its_start(
    hospital_client,
):
    person = f.citizen()
    start = _tomorrow_at(8)
    response = _post(
        hospital_client,
        service_request(person.cpr, priority="asap", occurrencePeriod={"start": start.isoformat()}),
    )
    assert response.status_code == 201, response.content
    referral = Referral.objects.get()
    assert (referral.planned_for, referral.deadline_at) == (
        start,
        deadline_for("within_2_hours", start),
    )


def _planned_accepted(hospital_client, coordinator) -> Referral:
    start = _tomorrow_at(8)
    response = _post(
        hospital_client,
        service_request(
            f.citizen().cpr,
            priority="asap",
            occurrencePeriod={"start": start.isoformat(), "end": _tomorrow_at(10).isoformat()},
        ),
    )
    assert response.status_code == 201, response.content
    return services.referral_accept(
        referral=Referral.objects.get(), actor=Actor.for_membership(coordinator)
    )


def test_r10_no_nurse_is_offered_or_sent_before_a_planned_visit_is_due(
    hospital_client, acute_function, settings
):
    settings.ACUTE_AUTO_ASSIGN = True
    coordinator = f.staff(Role.COORDINATOR, acute_function)
    _nurse, shift = f.acute_nurse_on_shift()
    referral = _planned_accepted(hospital_client, coordinator)
    # Accepted with automatic dispatch on: nobody sent yet.
    assert not Visit.objects.filter(referral=referral).exists()
    client = f.client_for(coordinator)
    suggestions = client.get(f"/api/acute/referrals/{referral.pk}/suggestions")
    assert suggestions.status_code == 200 and suggestions.json()["results"] == []
    sent = client.post(
        f"/api/acute/referrals/{referral.pk}/assign", {"shift": shift.pk}, format="json"
    )
    assert sent.status_code == 409, sent.content
    assert sent.json()["error"]["code"] == "referral.planned_later"
    # When she may be sent, written as every instant of the API (UTC, Z).
    opens = sent.json()["error"]["dispatch_opens_at"]
    assert opens == api_instant(dispatch_opens_at(referral.planned_for)), opens
    assert not Visit.objects.filter(referral=referral).exists()
    assert AuditEntry.objects.filter(
        citizen_id=referral.citizen_id,
        resource_type="Task",
        outcome="denied",
        reason_code="referral.planned_later",
    ).exists()
    # From the lead time before the start, she is offered and sent.
    Referral.objects.filter(pk=referral.pk).update(
        planned_for=timezone.now() + DISPATCH_LEAD - timedelta(minutes=1)
    )
    suggestions = client.get(f"/api/acute/referrals/{referral.pk}/suggestions")
    assert [s["shift"] for s in suggestions.json()["results"]] == [shift.pk]
    sent = client.post(
        f"/api/acute/referrals/{referral.pk}/assign", {"shift": shift.pk}, format="json"
    )
    assert sent.status_code == 201, sent.content


def test_r10_the_deadline_watch_does_not_warn_of_a_planned_visit_before_it_is_due(
    hospital_client, acute_function
):
    coordinator = f.staff(Role.COORDINATOR, acute_function)
    referral = _planned_accepted(hospital_client, coordinator)
    # Nobody on shift now: an ordinary referral would be at risk at once.
    assert services.deadline_watch(now=timezone.now()) == {"at_risk": 0, "overdue": 0}
    assert services.deadline_watch(
        now=referral.planned_for - DISPATCH_LEAD - timedelta(minutes=1)
    ) == {
        "at_risk": 0,
        "overdue": 0,
    }
    assert not DeadlineWarning.objects.filter(referral=referral).exists()
    # Once a nurse may be sent, it is judged as any referral: still nobody, so at risk...
    assert services.deadline_watch(now=referral.planned_for - DISPATCH_LEAD)["at_risk"] == 1
    # ...and overdue after the period's end.
    after = referral.deadline_at + timedelta(minutes=1)
    assert services.deadline_watch(now=after)["overdue"] == 1


def test_r10_the_board_shows_a_planned_visit_with_its_danish_time(hospital_client, acute_function):
    coordinator = f.staff(Role.COORDINATOR, acute_function)
    referral = _planned_accepted(hospital_client, coordinator)
    page = Client()
    assert f.log_in(page, coordinator).status_code == 302
    board = page.get("/coordinator/live/").content.decode()
    at = board.index(f"/coordinator/referrals/{referral.pk}/")
    row = board[board.rindex("<tr", 0, at) : board.index("</tr>", at)]
    start = _tomorrow_at(8)
    assert f"Planlagt til {start:%d.%m.} kl. 08:00" in row
    assert "Til tiden" not in row and "I fare" not in row


def test_r10_with_auto_assignment_a_planned_visit_is_sent_a_nurse_when_its_hour_comes(
    hospital_client, acute_function, settings
):
    """The beat job sends the best-ranked nurse once the hour before the
    requested start comes, as triage does for a referral due now; once only."""
    settings.ACUTE_AUTO_ASSIGN = True
    coordinator = f.staff(Role.COORDINATOR, acute_function)
    _nurse, shift = f.acute_nurse_on_shift()
    referral = _planned_accepted(hospital_client, coordinator)
    assert tasks.planned_dispatch() == 0
    assert not Visit.objects.filter(referral=referral).exists()
    Referral.objects.filter(pk=referral.pk).update(
        planned_for=timezone.now() + DISPATCH_LEAD - timedelta(minutes=1)
    )
    assert tasks.planned_dispatch() == 1
    assert Visit.objects.get(referral=referral).shift_id == shift.pk
    assert tasks.planned_dispatch() == 0


def test_r10_without_auto_assignment_a_planned_visit_waits_for_the_coordinator(
    hospital_client, acute_function, settings
):
    settings.ACUTE_AUTO_ASSIGN = False
    coordinator = f.staff(Role.COORDINATOR, acute_function)
    f.acute_nurse_on_shift()
    referral = _planned_accepted(hospital_client, coordinator)
    Referral.objects.filter(pk=referral.pk).update(
        planned_for=timezone.now() + DISPATCH_LEAD - timedelta(minutes=1)
    )
    assert tasks.planned_dispatch() == 0
    assert not Visit.objects.filter(referral=referral).exists()
