"""Partner simulators: small real HTTP servers on 127.0.0.1 that speak the
platform's messages — a 1813, a hospital, a GP inbox and a home nursing inbox.

Each one receives signed message Bundles (checking our signature), checks a
MedCom message with MedCom's rules, answers every message in the MedCom
envelope with MedCom's Acknowledgement (anything else with the platform's
own), de-duplicates by Bundle.id and MessageHeader.id like a real MedCom
receiver, and sends its own messages to the platform's
``/fhir/$process-message``. It can be told to fail, to delay, to leave the
acknowledgement for later or out, and to send duplicates. The tests and the
demo (``manage.py partner_simulators``) use them; they touch no database.

The package: :mod:`.server` (the simulator), :mod:`.acks` (its answers),
:mod:`.messages` (what partners send).
"""

from __future__ import annotations

from .acks import in_envelope, medcom_ack, simulator_ack
from .messages import (
    helpline_referral,
    hospital_notification,
    partner_message,
    physician,
    shared_record_update,
)
from .server import PartnerSimulator, SimulatorState

__all__ = [
    "PartnerSimulator",
    "SimulatorState",
    "helpline_referral",
    "hospital_notification",
    "in_envelope",
    "medcom_ack",
    "partner_message",
    "physician",
    "shared_record_update",
    "simulator_ack",
]
