"""Which partner may send which message, wired to each partner package's handler."""

from __future__ import annotations

from integrations.helpline_1813.inbound import referral_receive
from integrations.hospital.inbound import hospital_notification_receive
from integrations.inbound import register_handler
from integrations.messages import Event
from integrations.models import Partner
from integrations.municipal_records.inbound import shared_record_update_receive


def register_inbound_handlers() -> None:
    register_handler(Partner.Kind.HELPLINE_1813, Event.REFERRAL, referral_receive)
    register_handler(
        Partner.Kind.HOSPITAL, Event.HOSPITAL_NOTIFICATION, hospital_notification_receive
    )
    register_handler(
        Partner.Kind.MUNICIPAL_RECORDS, Event.SHARED_RECORD_UPDATE, shared_record_update_receive
    )
