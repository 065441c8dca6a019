"""R12, R1: a citizen admitted at two hospitals at once, and one of them
reports her death. Each hospital speaks for its own stay: the death closes
the reporting hospital's stay and every referral, the other hospital's stay
stays as that hospital last reported it until it reports again, and its
later messages get MedCom's acknowledgement as any message about a citizen
registered dead does. The reporting hospital's cancellation of its death
message puts its own stay back as it was before the death. The coordinator
who had the episode is told, in Danish, why its referral's page is closed
to her once the death has ended it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from acute.models import DeadlineWarning, Episode, Outcome, Referral
from consent.audit.models import AuditEntry
from consent.models import CareRelationship
from core.fhir.patient import patient_resource
from core.models import Citizen, Organisation, Role
from integrations.models import InboundMessage, Partner
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, header_id, post_signed
from tests.integrations.medcom.test_hospital_notification import (
    MORS,
    SLHJ,
    STIN,
    STOR,
    _cancelled,
    _example,
    _sent_anew,
)
from tests.integrations.medcom.test_hospital_notification_sequences import _sent_by

pytestmark = pytest.mark.django_db

# The stays' keys: MedCom's example names its stay by the department's SOR
# unit, so the other hospital's copy names a stay of its own.
EPISODE = "bd481c38-a921-11ed-afa1-0242ac120002"
OTHER_SOR = "6171000016004"


def _other_hospital() -> tuple[Organisation, Partner]:
    org = f.organisation(
        Organisation.Kind.HOSPITAL, "Bispebjerg", sor_code=OTHER_SOR, ean=f.gln(77)
    )
    return org, f.integration_partner(Partner.Kind.HOSPITAL, org)


def _from_other(org: Organisation, name: str) -> dict[str, Any]:
    return _sent_by(org, _sent_anew(_example(name)))


def _received(partner: Partner, message: dict[str, Any]) -> dict[str, Any]:
    status, body = post_signed(partner, message)
    assert (status, ack_parts(body)[0]) == (200, "ok"), body
    return InboundMessage.objects.get(partner=partner, header_id=header_id(message)).result


def _open_stays(citizen: Citizen) -> set[str]:
    return set(
        CareRelationship.objects.filter(
            citizen=citizen, basis=CareRelationship.Basis.HOSPITAL_CONTACT, ended_at__isnull=True
        ).values_list("source_id", flat=True)
    )


OURS = f"sor:265161000016000:{EPISODE}"
THEIRS = f"sor:{OTHER_SOR}:{EPISODE}"


def _admitted_at_both(
    hospital: Partner, citizen: Citizen
) -> tuple[Organisation, Partner, Referral]:
    org, other = _other_hospital()
    referral = f.acute_referral(person=citizen, accepted=False)
    _received(hospital, _example(STIN))
    _received(other, _from_other(org, STIN))
    assert _open_stays(citizen) == {OURS, THEIRS}
    return org, other, referral


def test_r12_a_death_at_one_hospital_leaves_the_other_hospitals_stay_to_it(
    hospital: Partner, citizen: Citizen
) -> None:
    """The death closes the reporting hospital's stay and the referral; the
    other hospital's stay is its own to end. Its leave is acknowledged ok
    and changes nothing; its admission again (she is registered dead) is a
    fatal-error that writes nothing; its discharge is acknowledged ok, ends
    its stay and resumes nothing (the death closed the referral)."""
    org, other, referral = _admitted_at_both(hospital, citizen)

    death = _received(hospital, _example(MORS))

    citizen.refresh_from_db()
    referral.refresh_from_db()
    assert citizen.deceased_at is not None
    assert death["referrals_closed"] == [referral.pk]
    assert (referral.status, referral.on_hold_since) == (Referral.Status.CLOSED, None)
    assert _open_stays(citizen) == {THEIRS}

    leave = _received(other, _from_other(org, STOR))
    assert leave["recorded"] is True
    referral.refresh_from_db()
    assert (referral.status, referral.on_hold_since) == (Referral.Status.CLOSED, None)

    again = _from_other(org, STIN)
    status, body = post_signed(other, again)
    code, answered, _details = ack_parts(body)
    assert (status, code, answered) == (400, "fatal-error", header_id(again))
    assert _open_stays(citizen) == {THEIRS}
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, outcome="denied", reason_code="hospital.citizen_deceased"
    ).exists()

    discharge = _received(other, _from_other(org, SLHJ))
    assert discharge["referrals_resumed"] == []
    assert _open_stays(citizen) == set()
    referral.refresh_from_db()
    citizen.refresh_from_db()
    assert referral.status == Referral.Status.CLOSED and citizen.deceased_at is not None


def test_r12_a_cancelled_death_opens_the_reporting_hospitals_stay_again(
    hospital: Partner, citizen: Citizen
) -> None:
    """The hospital sends its death message again cancelled: she is living,
    its stay is open again as before the death (its care relationship, R3),
    and the other hospital's stay, never touched, is open still. The
    referral the death closed stays closed, and the coordinator is warned
    to correct the outcome died with the referrer and home nursing (R11)."""
    _org, _other, referral = _admitted_at_both(hospital, citizen)
    _received(hospital, _example(MORS))
    assert _open_stays(citizen) == {THEIRS}

    cancellation = _received(hospital, _cancelled(_example(MORS)))

    citizen.refresh_from_db()
    assert citizen.deceased_at is None and cancellation["death_withdrawn"]
    assert "admission_cancelled" not in cancellation
    assert _open_stays(citizen) == {OURS, THEIRS}
    referral.refresh_from_db()
    assert referral.status == Referral.Status.CLOSED
    assert DeadlineWarning.objects.filter(
        referral=referral, kind=DeadlineWarning.Kind.DEATH_WITHDRAWN
    ).exists()
    # Her discharge from the reporting hospital later is received as any.
    discharge = _received(hospital, _sent_anew(_example(SLHJ)))
    assert discharge["discharge"] == OURS
    assert _open_stays(citizen) == {THEIRS}


def test_r12_a_cancelled_death_opens_no_stay_the_platform_never_held(
    hospital: Partner, citizen: Citizen
) -> None:
    """A death message the platform heard of no stay before: its
    cancellation withdraws the death and opens nothing."""
    _received(hospital, _example(MORS))

    cancellation = _received(hospital, _cancelled(_example(MORS)))

    citizen.refresh_from_db()
    assert citizen.deceased_at is None and cancellation["death_withdrawn"]
    assert _open_stays(citizen) == set()


def _login(membership: Any) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def test_r1_the_coordinator_is_told_in_danish_why_the_referral_of_the_dead_is_closed(
    hospital: Partner, citizen: Citizen
) -> None:
    """The death ended the episode (outcome died) and with it the acute
    function's care relationship (R1): the referral's page stays closed to
    the coordinator (docs/decisions/0027), but tells her why and where its
    outcome is, and shows nothing of the citizen; the attempt is on the
    citizen's log (R9). The API and FHIR answer "not found", as for any
    record out of reach; a coordinator of another acute function gets the
    one "not available" page, which says nothing of the episode. What
    happened stays on her board and in the log the auditor reads."""
    referral = f.acute_referral(person=citizen, accepted=False)
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    _received(hospital, _example(MORS))
    episode = Episode.objects.get(pk=referral.episode_id)
    assert (episode.status, episode.outcome) == (Episode.Status.COMPLETED, Outcome.DIED)

    page = _login(coordinator).get(
        f"/coordinator/referrals/{referral.pk}/", HTTP_ACCEPT_LANGUAGE="da"
    )

    assert page.status_code == 403
    html = page.content.decode()
    assert 'data-code="referral.episode_ended"' in html
    assert "Forløbet er afsluttet, så henvisningens side viser ikke længere" in html
    assert "står på tavlen" in html
    assert citizen.family_name not in html and referral.reason not in html
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk,
        outcome="denied",
        actor_user_id=coordinator.user_id,
        resource_type="ServiceRequest",
    ).exists()
    api = f.client_for(coordinator)
    assert api.get(f"/api/acute/referrals/{referral.pk}").status_code == 404
    assert api.get(f"/fhir/ServiceRequest/referral-{referral.pk}").status_code == 404
    # Her board still says what happened.
    warnings = api.get("/api/acute/warnings", HTTP_ACCEPT_LANGUAGE="da").json()["results"]
    assert {(w["referral"], w["kind"]) for w in warnings} >= {
        (referral.pk, DeadlineWarning.Kind.DECEASED)
    }
    # Another acute function's coordinator learns nothing of the episode.
    elsewhere = f.organisation(Organisation.Kind.ACUTE_FUNCTION, "Vestegnens Akutfunktion")
    stranger = _login(f.staff(Role.COORDINATOR, elsewhere)).get(
        f"/coordinator/referrals/{referral.pk}/", HTTP_ACCEPT_LANGUAGE="da"
    )
    assert stranger.status_code == 403
    assert 'data-code="not_found"' in stranger.content.decode()
    assert "referral.episode_ended" not in stranger.content.decode()
    # The auditor reads the closing and its reason on the citizen's log.
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, detail__step="closed", detail__reason="deceased"
    ).exists()


def _death_from_other(org: Organisation, end: str) -> dict[str, Any]:
    """The other hospital's death message, the stay ending (she died) at ``end``."""
    message = _from_other(org, MORS)
    for entry in message["entry"]:
        if entry["resource"]["resourceType"] == "Encounter":
            entry["resource"]["period"]["end"] = end
    return message


def test_r12_a_death_both_hospitals_reported_stands_when_one_cancels_its_report(
    hospital: Partner, citizen: Citizen
) -> None:
    """Both hospitals report her death; the first cancels its report. The
    other's stands: she stays registered dead, at the time it gives
    (audited), nothing her death closed opens, and the coordinator is not
    told the death was withdrawn. Once the other hospital cancels its
    report too, the death is withdrawn, and its stay, which the death
    ended, is open again."""
    org, other, referral = _admitted_at_both(hospital, citizen)
    _received(hospital, _example(MORS))
    citizen.refresh_from_db()
    first = citizen.deceased_at
    _received(other, _death_from_other(org, "2022-12-09T11:15:00+02:00"))
    assert _open_stays(citizen) == set()

    cancellation = _received(hospital, _cancelled(_example(MORS)))

    citizen.refresh_from_db()
    assert citizen.deceased_at is not None and citizen.deceased_at != first
    assert citizen.deceased_at.isoformat() == "2022-12-09T09:15:00+00:00"
    assert cancellation["death_stands"] == THEIRS and "death_withdrawn" not in cancellation
    assert _open_stays(citizen) == set()
    assert not DeadlineWarning.objects.filter(kind=DeadlineWarning.Kind.DEATH_WITHDRAWN).exists()
    restated = AuditEntry.objects.get(citizen_id=citizen.pk, reason_code="death_restated")
    assert (restated.resource_type, restated.action) == ("Patient", "update")
    referral.refresh_from_db()
    assert referral.status == Referral.Status.CLOSED

    _received(other, _cancelled(_death_from_other(org, "2022-12-09T11:15:00+02:00")))

    citizen.refresh_from_db()
    assert citizen.deceased_at is None
    assert _open_stays(citizen) == {THEIRS}
    assert DeadlineWarning.objects.filter(
        referral=referral, kind=DeadlineWarning.Kind.DEATH_WITHDRAWN
    ).exists()


def test_r12_a_death_that_stands_given_as_a_day_is_kept_as_that_day(
    hospital: Partner, citizen: Citizen
) -> None:
    """The other hospital gave her death as a day alone; when the first
    cancels its own report, the death that stands is that day, kept and
    written back as the day, not its first moment as a time of day."""
    org, other, _referral = _admitted_at_both(hospital, citizen)
    _received(hospital, _example(MORS))
    day = _sent_by(
        org, _sent_anew(_example(MORS), deceasedBoolean=None, deceasedDateTime="2022-12-09")
    )
    assert _received(other, day)["died_on"] == "2022-12-09"
    citizen.refresh_from_db()
    # Registered by the first report, with its time: the second changes nothing.
    assert citizen.deceased_on is None

    cancellation = _received(hospital, _cancelled(_example(MORS)))

    citizen.refresh_from_db()
    assert cancellation["death_stands"] == THEIRS
    assert citizen.deceased_on == dt.date(2022, 12, 9)
    assert citizen.deceased_at == dt.datetime(2022, 12, 8, 23, tzinfo=dt.UTC)
    assert patient_resource(citizen)["deceasedDateTime"] == "2022-12-09"
