"""The hospital as a partner."""

from __future__ import annotations

from integrations.adapters import PartnerAdapter
from integrations.builders import episode_outcome, order_confirmation_request
from integrations.care_threads.build import care_reply
from integrations.care_threads.receive import care_communication_receive
from integrations.hospital.inbound import hospital_notification_receive
from integrations.hospital.medcom import hospital_notification_medcom_receive
from integrations.hospital.outbound import admission_handoff
from integrations.medcom.envelope import MedComEvent
from integrations.messages import Event
from integrations.models import Partner
from integrations.transport import SIGNED_HTTP


class Hospital(PartnerAdapter):
    """The hospital reports admissions and discharges (R12); it gets the
    admission hand-off, the outcome of an episode it referred, and its
    physicians' phone orders to confirm."""

    kind = Partner.Kind.HOSPITAL
    receives = {
        Event.HOSPITAL_NOTIFICATION: hospital_notification_receive,
        MedComEvent.HOSPITAL_NOTIFICATION: hospital_notification_medcom_receive,
        MedComEvent.CARE_COMMUNICATION: care_communication_receive,
    }
    sends = {
        Event.ADMISSION_HANDOFF: admission_handoff,
        Event.CARE_COMMUNICATION: episode_outcome,
        Event.ORDER_CONFIRMATION_REQUEST: order_confirmation_request,
        Event.CARE_COMMUNICATION_REPLY: care_reply,
    }
    transport = SIGNED_HTTP
