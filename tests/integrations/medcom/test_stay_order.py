"""R12: a hospital's messages about one stay arrive in the order the network
delivers them, not the order things happened. The stay is as its latest
event (``Provenance.occurredDateTime``) left it: an admission delayed past
its discharge, or a discharge stamped before the admission already received,
is acknowledged ``ok``, recorded and audited, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from consent.audit.models import AuditEntry
from consent.models import CareRelationship
from core.models import Citizen
from integrations.models import InboundMessage, Partner
from tests import factories as f
from tests.integrations.medcom.peers import ack_parts, header_id, post_signed
from tests.integrations.medcom.test_hospital_notification import (
    SLHJ,
    STIN,
    _example,
    _sent_anew,
)

pytestmark = pytest.mark.django_db


def _occurred(message: dict[str, Any], moment: str) -> dict[str, Any]:
    """The message with its own Provenance stating ``moment`` as when it happened."""
    own = header_id(message)
    for entry in message["entry"]:
        resource = entry["resource"]
        targets = [t.get("reference", "") for t in resource.get("target") or []]
        if resource["resourceType"] == "Provenance" and any(t.endswith(own) for t in targets):
            resource["occurredDateTime"] = resource["recorded"] = moment
    return message


def _open_stays(citizen: Citizen, partner: Partner):
    return CareRelationship.objects.filter(
        citizen=citizen, organisation=partner.organisation, ended_at__isnull=True
    )


def test_r12_an_admission_delivered_after_its_discharge_holds_nothing(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    discharge = _example(SLHJ)
    assert ack_parts(post_signed(hospital, discharge)[1])[0] == "ok"
    admission = _example(STIN)
    status, body = post_signed(hospital, admission)
    assert (status, ack_parts(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert referral.on_hold_since is None
    assert not _open_stays(citizen, hospital).exists()
    late = InboundMessage.objects.get(partner=hospital, header_id=header_id(admission))
    assert late.result["superseded_by"] == header_id(discharge)
    # R9: received about her and audited as the hospital's work, as any message is.
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, resource_id=late.bundle_id, outcome="permitted"
    ).exists()
    # A new admission to that stay, after the discharge, is received.
    again = _occurred(_sent_anew(_example(STIN)), "2022-12-20T08:00:00+02:00")
    assert ack_parts(post_signed(hospital, again)[1])[0] == "ok"
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"
    assert _open_stays(citizen, hospital).count() == 1


def test_r12_a_discharge_stamped_before_the_admission_received_leaves_her_admitted(
    hospital, citizen
):
    referral = f.acute_referral(person=citizen, accepted=False)
    post_signed(hospital, _example(STIN))  # admitted 2022-12-07 12:00:02 (+02:00)
    early = _occurred(_example(SLHJ), "2022-12-07T09:00:00+02:00")
    status, body = post_signed(hospital, early)
    assert (status, ack_parts(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"
    assert _open_stays(citizen, hospital).count() == 1


@pytest.mark.parametrize(
    ("stamped", "admitted"),
    [
        # 11:00 UTC: after the admission's 10:00:02 UTC, though its text sorts before.
        ("2022-12-07T11:00:00+00:00", False),
        # 08:00 UTC: before the admission, though its text sorts after.
        ("2022-12-07T13:00:00+05:00", True),
    ],
)
def test_r12_the_order_of_a_stay_is_that_of_its_moments_whatever_their_offsets(
    hospital, citizen, stamped, admitted
):
    referral = f.acute_referral(person=citizen, accepted=False)
    post_signed(hospital, _example(STIN))  # admitted 2022-12-07 12:00:02 (+02:00)
    discharge = _occurred(_example(SLHJ), stamped)
    status, body = post_signed(hospital, discharge)
    assert (status, ack_parts(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert (referral.on_hold_reason == "hospital_admission") is admitted
    assert _open_stays(citizen, hospital).exists() is admitted
    received = InboundMessage.objects.get(partner=hospital, header_id=header_id(discharge))
    assert ("superseded_by" in received.result) is admitted
    # The next admission of the stay is compared with the discharge as kept.
    again = _occurred(_sent_anew(_example(STIN)), "2022-12-07T12:30:00+02:00")
    assert ack_parts(post_signed(hospital, again)[1])[0] == "ok"
    later = InboundMessage.objects.get(partner=hospital, header_id=header_id(again))
    assert ("superseded_by" in later.result) is not admitted
