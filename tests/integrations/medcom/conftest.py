"""What the MedCom reception tests share: our acute function and a hospital
with MedCom's SOR and EAN numbers, and MedCom's test person as our citizen."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from core.models import Citizen, Organisation
from integrations.medcom import envelope
from integrations.medcom.envelope import Issue
from integrations.models import OutboundMessage, Partner
from tests import factories as f

HOSPITAL_SOR, HOSPITAL_EAN = "265161000016000", "5790000209354"
OUR_SOR, OUR_EAN = "953741000016009", "5790001348120"
EXAMPLE_CPR = "2509479989"  # MedCom's test person, Bruno Test Elmer


@pytest.fixture
def hospital() -> Partner:
    acute = f.acute_function()
    acute.sor_code, acute.ean = OUR_SOR, OUR_EAN
    acute.save(update_fields=["sor_code", "ean"])
    org = f.organisation(
        Organisation.Kind.HOSPITAL, "Herlev og Gentofte", sor_code=HOSPITAL_SOR, ean=HOSPITAL_EAN
    )
    return f.integration_partner(
        Partner.Kind.HOSPITAL, org, endpoint_url="http://127.0.0.1:9/hospital"
    )


@pytest.fixture
def helpline() -> Partner:
    """1813, sending its referrals in the platform's own envelope."""
    f.acute_function()
    return f.integration_partner(
        Partner.Kind.HELPLINE_1813,
        f.organisation(Organisation.Kind.HELPLINE_1813, "1813"),
        endpoint_url="http://127.0.0.1:9/1813",
    )


@pytest.fixture
def citizen() -> Citizen:
    person = f.citizen()
    Citizen.objects.filter(pk=person.pk).update(cpr=EXAMPLE_CPR)
    person.refresh_from_db()
    return person


def awaiting_ack(
    partner: Partner, citizen: Citizen, event: str = "admission-handoff"
) -> OutboundMessage:
    """A message of ours to ``partner`` about ``citizen``, sent and awaiting
    the partner's acknowledgement."""
    return OutboundMessage.objects.create(
        partner=partner,
        event=event,
        citizen=citizen,
        bundle={"resourceType": "Bundle"},
        status=OutboundMessage.Status.AWAITING_ACK,
    )


def acknowledgement_of(
    message: OutboundMessage,
    code: str,
    issues: Iterable[Issue] = (),
    *,
    sender: Partner | None = None,
) -> dict[str, Any]:
    """A MedCom Acknowledgement of our ``message``, with ``code`` (and
    ``issues``), from ``sender``'s SOR endpoint to ours: by default the
    partner the message was sent to."""
    partner = (sender or message.partner).organisation
    return envelope.acknowledgement(
        answering=str(message.message_id),
        code=code,
        sender=partner,
        receiver=f.acute_function(),
        receiver_endpoint=f"https://sor2.sum.dsdn.dk/#id={OUR_SOR}",
        sender_endpoint=f"https://sor2.sum.dsdn.dk/#id={partner.sor_code}",
        issues=issues,
    )
