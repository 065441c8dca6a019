"""The hospital's admission and discharge notifications over real HTTP from
the hospital simulator (R12): visits withdrawn, the hospital's care
relationship opened and closed, a follow-up referral after discharge."""

from __future__ import annotations

import pytest

from acute.models import Referral, Visit
from consent.models import CareRelationship
from tests import factories as f
from tests.integrations.helpers import ack_of, notify_hospital, visit_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_r12_an_admission_withdraws_open_visits_and_opens_the_hospital_contact(
    live_network,
) -> None:
    citizen = f.citizen()
    visit = visit_for(citizen, live_network.acute)
    sim = live_network.sims["hospital"]
    reply = notify_hospital(sim, citizen, encounter_id="E1", admitted=True)
    assert ack_of(reply)[0] == "ok"
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED
    contact = CareRelationship.objects.get(
        citizen=citizen, organisation=live_network.hospital.organisation
    )
    assert contact.basis == CareRelationship.Basis.HOSPITAL_CONTACT and contact.ended_at is None

    # Discharge with a follow-up: the contact closes, a hospital referral starts.
    reply = notify_hospital(
        sim, citizen, encounter_id="E1", admitted=False, follow_up_reason="Kontrol af væsketal"
    )
    assert ack_of(reply)[0] == "ok"
    contact.refresh_from_db()
    assert contact.ended_at is not None
    follow_up = Referral.objects.get(citizen=citizen, source=Referral.Source.HOSPITAL)
    assert follow_up.source_organisation == live_network.hospital.organisation
    assert follow_up.reason == "Kontrol af væsketal"
    assert follow_up.responsible_physician_name == "Overlæge Berg, medicinsk afdeling"
    assert follow_up.urgency == "next_day"  # priority routine
    # What the platform fills in is written in Danish, as the staff write (not "Follow-up ...").
    assert follow_up.requested_actions == "Opfølgende besøg efter udskrivelse"


def test_r12_a_follow_up_without_the_discharging_physician_is_fatal_and_keeps_the_contact(
    live_network,
) -> None:
    citizen = f.citizen()
    sim = live_network.sims["hospital"]
    assert ack_of(notify_hospital(sim, citizen, encounter_id="E2", admitted=True))[0] == "ok"
    reply = notify_hospital(
        sim,
        citizen,
        encounter_id="E2",
        admitted=False,
        follow_up_reason="Kontrol",
        strip_physician=True,
    )
    code, _, outcome = ack_of(reply)
    assert code == "fatal-error"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "hospital.physician_missing"
    # All or nothing: the discharge did not half happen.
    assert not Referral.objects.filter(citizen=citizen).exists()
    assert CareRelationship.objects.get(citizen=citizen).ended_at is None


def test_r12_a_citizen_registered_dead_is_not_admitted_nor_referred_after_discharge(
    live_network,
) -> None:
    """The hospital's own admission message for a citizen the platform knows
    as dead gets a fatal-error naming the rule and changes nothing (no care
    relationship for the hospital); a discharge with a follow-up referral is
    refused all the same. Each attempt is on her record (R9)."""
    import datetime as dt

    from django.utils import timezone

    from consent.audit.models import AuditEntry
    from core.models import Citizen

    citizen = f.citizen()
    Citizen.objects.filter(pk=citizen.pk).update(deceased_at=timezone.now() - dt.timedelta(hours=2))
    sim = live_network.sims["hospital"]
    code, _, outcome = ack_of(notify_hospital(sim, citizen, encounter_id="E3", admitted=True))
    assert code == "fatal-error"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "hospital.citizen_deceased"
    assert not CareRelationship.objects.filter(citizen=citizen).exists()
    reply = notify_hospital(
        sim, citizen, encounter_id="E3", admitted=False, follow_up_reason="Kontrol"
    )
    code, _, outcome = ack_of(reply)
    assert code == "fatal-error"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "referral.citizen_deceased"
    assert not Referral.objects.filter(citizen=citizen).exists()
    denied = AuditEntry.objects.filter(citizen_id=citizen.pk, outcome="denied")
    assert set(denied.values_list("reason_code", flat=True)) == {
        "hospital.citizen_deceased",
        "referral.citizen_deceased",
    }


def test_r12_a_follow_up_for_a_new_citizen_who_died_in_hospital_registers_no_one(
    live_network,
) -> None:
    """A discharge asking for a follow-up for a citizen the platform does not
    know, whose Patient says she died during the stay: she would be registered
    dead, so the follow-up referral is refused as for any citizen registered
    dead, and the registration rolls back with it (one message, one
    transaction)."""
    import datetime as dt

    from django.utils import timezone

    from consent.audit.models import AuditEntry
    from core.fhir.patient import patient_resource
    from core.models import Citizen
    from integrations.simulators import hospital_notification

    patient = patient_resource(f.citizen())
    cpr = f.cpr_number()
    patient["identifier"][0]["value"] = cpr
    died = timezone.now() - dt.timedelta(hours=3)
    patient["deceasedDateTime"] = died.isoformat(timespec="seconds")
    sim = live_network.sims["hospital"]
    message = hospital_notification(
        sender_code=sim.code,
        patient=patient,
        encounter_id="E4",
        admitted=False,
        follow_up_reason="Kontrol",
    )
    before = set(AuditEntry.objects.values_list("pk", flat=True))
    [reply] = sim.send(message)
    code, _, outcome = ack_of(reply)
    assert code == "fatal-error"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "referral.citizen_deceased"
    assert not Citizen.objects.filter(cpr=cpr).exists()
    assert not Referral.objects.exists()
    # The refused attempt is audited all the same (R9), naming no citizen.
    [entry] = AuditEntry.objects.exclude(pk__in=before)
    assert (entry.citizen_id, entry.outcome) == (None, "denied")
    assert (entry.resource_type, entry.reason_code) == ("Bundle", "referral.citizen_deceased")
    assert entry.detail["new_citizen"] is True and entry.detail["partner"] == sim.code
    assert cpr not in str(entry.detail)
