"""HospitalNotifications in the sequences a hospital really sends (R12), as
the coordinator then reads them on the board's API: a stay named by the
national patient register's identifier, the department's own, or both, and
not alike from one message to the next; a leave that arrives before the
admission it belongs to; a revised discharge that overtakes the discharge;
the stays of two hospitals at once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from acute.models import DeadlineWarning, Referral
from consent.audit.models import AuditEntry
from consent.models import CareRelationship
from core.models import Citizen, Organisation, Role
from integrations.medcom.validation import validate_message
from integrations.models import InboundMessage, Partner
from tests import factories as f
from tests.integrations.medcom.conftest import HOSPITAL_EAN, HOSPITAL_SOR
from tests.integrations.medcom.peers import ack_parts, header_id, post_signed
from tests.integrations.medcom.test_hospital_notification import (
    SLHJ,
    STIN,
    STOR,
    _example,
    _sent_anew,
)

pytestmark = pytest.mark.django_db

LPR3 = "https://www.esundhed.dk/Registre/Landspatientregisteret"
DEPARTMENT = "https://sor2.sum.dsdn.dk/#id=265161000016000"
# MedCom's TEK-ID-2: one stay named by the register and by the department.
REGISTER_ID = (LPR3, "urn:uuid:05ca2eee-b457-56b7-94bd-c121faf78b1a")
DEPARTMENT_ID = (DEPARTMENT, "843080b6-f918-4789-a096-86d52bf50039")


def _named(name: str, *identifiers: tuple[str, str]) -> dict[str, Any]:
    """MedCom's example ``name`` as a new message, its stay named by ``identifiers``."""
    message = _sent_anew(_example(name))
    for entry in message["entry"]:
        if entry["resource"]["resourceType"] == "Encounter":
            entry["resource"]["episodeOfCare"] = [
                {"identifier": {"system": system, "value": value}} for system, value in identifiers
            ]
    return message


def _sent_by(organisation: Organisation, message: dict[str, Any]) -> dict[str, Any]:
    """The message as ``organisation`` sends it: its SOR and EAN numbers
    where MedCom's example has the hospital's (sender, and the issuer of its
    episode-of-care identifier)."""
    text = json.dumps(message)
    text = text.replace(HOSPITAL_SOR, str(organisation.sor_code))
    return json.loads(text.replace(HOSPITAL_EAN, str(organisation.ean)))


def _received(partner: Partner, message: dict[str, Any]) -> dict[str, Any]:
    status, body = post_signed(partner, message)
    assert (status, ack_parts(body)[0]) == (200, "ok"), body
    assert validate_message(body) == []
    return InboundMessage.objects.get(partner=partner, header_id=header_id(message)).result


def _board(referral: Referral) -> dict[str, Any]:
    """The referral as the coordinator reads it on the board's API."""
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    response = f.client_for(coordinator).get("/api/acute/referrals")
    assert response.status_code == 200, response.content
    return {row["id"]: row for row in response.json()["results"]}[referral.pk]


def _open_stays(citizen: Citizen) -> list[str]:
    return list(
        CareRelationship.objects.filter(
            citizen=citizen, basis=CareRelationship.Basis.HOSPITAL_CONTACT, ended_at__isnull=True
        ).values_list("source_id", flat=True)
    )


@pytest.mark.parametrize(
    ("admitted_by", "discharged_by"),
    [
        ((REGISTER_ID, DEPARTMENT_ID), (DEPARTMENT_ID, REGISTER_ID)),
        ((REGISTER_ID, DEPARTMENT_ID), (DEPARTMENT_ID,)),
        ((REGISTER_ID, DEPARTMENT_ID), (REGISTER_ID,)),
        ((DEPARTMENT_ID,), (REGISTER_ID, DEPARTMENT_ID)),
    ],
    ids=["both-in-another-order", "both-then-department", "both-then-register", "one-then-both"],
)
def test_r12_a_discharge_naming_the_stay_otherwise_than_its_admission_resumes_the_referral(
    hospital, citizen, admitted_by, discharged_by
):
    """MedCom lets a hospital name a stay by the register's identifier, its
    own, or both (TEK-ID-LPR3, TEK-ID-LOCAL, TEK-ID-2), in any order: it is
    one stay, and its discharge ends the hold its admission started."""
    referral = f.acute_referral(person=citizen, accepted=False)
    _received(hospital, _named(STIN, *admitted_by))
    assert _board(referral)["on_hold"]["reason"] == "hospital_admission"
    [stay] = _open_stays(citizen)

    result = _received(hospital, _named(SLHJ, *discharged_by))

    assert result["episode_of_care"] == stay
    assert result["referrals_resumed"] == [referral.pk]
    assert "still_admitted" not in result
    assert _board(referral)["on_hold"] is None
    assert _open_stays(citizen) == []
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, detail__step="resumed", detail__reason="hospital_discharge"
    ).exists()


def test_r12_a_stay_named_by_one_identifier_then_the_other_keeps_one_hold(hospital, citizen):
    """Admitted under the department's identifier, her leave names both,
    her discharge the register's alone: one stay throughout."""
    referral = f.acute_referral(person=citizen, accepted=False)
    _received(hospital, _named(STIN, DEPARTMENT_ID))
    leave = _received(hospital, _named(STOR, REGISTER_ID, DEPARTMENT_ID))
    assert leave["recorded"] is True
    assert len(_open_stays(citizen)) == 1

    result = _received(hospital, _named(SLHJ, REGISTER_ID))

    assert result["referrals_resumed"] == [referral.pk]
    referral.refresh_from_db()
    assert referral.on_hold_since is None and _open_stays(citizen) == []


def test_r12_a_leave_that_arrives_before_its_admission_holds_the_referral(hospital, citizen):
    """The start of leave (STOR) is the first the platform hears of the
    stay, its admission (STIN) delivered after it: she is in hospital, so
    her referral is held and the coordinator warned; the late admission
    changes nothing more, and the discharge resumes the referral."""
    referral = f.acute_referral(person=citizen, accepted=False)

    leave = _received(hospital, _example(STOR))

    assert leave["referrals_on_hold"] == [referral.pk]
    row = _board(referral)
    assert row["on_hold"]["reason"] == "hospital_admission"
    assert [w["kind"] for w in row["warnings"]] == [DeadlineWarning.Kind.ADMITTED]
    assert len(_open_stays(citizen)) == 1
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, detail__step="on_hold", detail__reason="hospital_admission"
    ).exists()

    admission = _received(hospital, _example(STIN))
    assert admission["superseded_by"] == header_id(_example(STOR))
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"

    discharge = _received(hospital, _example(SLHJ))
    assert discharge["referrals_resumed"] == [referral.pk]
    assert _board(referral)["on_hold"] is None
    assert _open_stays(citizen) == []


def test_r12_a_leave_of_a_stay_already_ended_puts_nothing_on_hold(hospital, citizen):
    """A start of leave delivered after the discharge of its stay happened
    before it: she is home, nothing is held again."""
    referral = f.acute_referral(person=citizen, accepted=False)
    _received(hospital, _example(STIN))
    _received(hospital, _example(SLHJ))

    leave = _received(hospital, _example(STOR))

    assert leave["superseded_by"] == header_id(_example(SLHJ))
    referral.refresh_from_db()
    assert referral.on_hold_since is None and _open_stays(citizen) == []


def test_r12_a_leave_while_admitted_is_recorded_and_the_hold_kept(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    _received(hospital, _example(STIN))
    warnings = DeadlineWarning.objects.filter(referral=referral)
    raised = warnings.get().raised_at

    leave = _received(hospital, _example(STOR))

    assert leave["recorded"] is True and "referrals_on_hold" not in leave
    assert warnings.get().raised_at == raised
    assert _board(referral)["on_hold"]["reason"] == "hospital_admission"


def test_r12_stays_at_two_hospitals_resume_the_referral_when_both_have_discharged_her(
    hospital, citizen
):
    """Admitted at two hospitals at once (two partners, two SOR units):
    the first discharge leaves the hold, the second lifts it."""
    other_org = f.organisation(
        Organisation.Kind.HOSPITAL, "Bispebjerg", sor_code="6171000016004", ean=f.gln(77)
    )
    other = f.integration_partner(Partner.Kind.HOSPITAL, other_org)
    referral = f.acute_referral(person=citizen, accepted=False)
    _received(hospital, _example(STIN))
    _received(other, _sent_by(other_org, _sent_anew(_example(STIN))))
    assert len(_open_stays(citizen)) == 2

    first = _received(hospital, _example(SLHJ))

    assert first["referrals_resumed"] == [] and len(first["still_admitted"]) == 1
    assert _board(referral)["on_hold"]["reason"] == "hospital_admission"

    second = _received(other, _sent_by(other_org, _sent_anew(_example(SLHJ))))

    assert second["referrals_resumed"] == [referral.pk]
    assert _board(referral)["on_hold"] is None
    assert _open_stays(citizen) == []


def _revised_discharge() -> dict[str, Any]:
    """MedCom's discharge home (SLHJ) revised (RE_SLHJ): its end corrected,
    sent an hour after the discharge."""
    message = _sent_anew(_example(SLHJ))
    own = header_id(message)
    for entry in message["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Encounter":
            resource["period"]["end"] = "2022-12-18T09:15:00+02:00"
        if resource["resourceType"] == "Provenance" and resource["target"][0]["reference"].endswith(
            own
        ):
            resource["activity"]["coding"][0]["code"] = "revise-discharge-inpatient-home"
            resource["occurredDateTime"] = "2022-12-18T10:45:32+02:00"
            resource["entity"] = [
                {
                    "role": "revision",
                    "what": {"reference": f"MessageHeader/{header_id(_example(SLHJ))}"},
                }
            ]
    return message


def test_r12_a_revised_discharge_that_arrives_before_the_discharge_resumes_the_referral(
    hospital, citizen
):
    """The revised discharge (RE_SLHJ) overtakes the discharge it revises:
    it says she went home, so the stay ends and the referral resumes; the
    discharge, delivered late, changes nothing more."""
    referral = f.acute_referral(person=citizen, accepted=False)
    _received(hospital, _example(STIN))

    revision = _revised_discharge()
    revised = _received(hospital, revision)

    assert revised["referrals_resumed"] == [referral.pk]
    assert _board(referral)["on_hold"] is None
    assert _open_stays(citizen) == []
    late = _received(hospital, _example(SLHJ))
    assert late["superseded_by"] == header_id(revision)


def test_r12_a_revised_discharge_after_the_discharge_is_recorded(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    _received(hospital, _example(STIN))
    _received(hospital, _example(SLHJ))

    revised = _received(hospital, _revised_discharge())

    assert revised["recorded"] is True
    referral.refresh_from_db()
    assert referral.on_hold_since is None and _open_stays(citizen) == []
