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
