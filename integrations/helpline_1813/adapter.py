"""The medical helpline 1813 as a partner."""

from __future__ import annotations

from integrations.adapters import PartnerAdapter
from integrations.builders import order_confirmation_request
from integrations.helpline_1813.inbound import referral_receive
from integrations.helpline_1813.outbound import referral_status
from integrations.messages import Event
from integrations.models import Partner
from integrations.transport import SIGNED_HTTP


class Helpline1813(PartnerAdapter):
    """1813 refers citizens and is told where each of its referrals stands; a
    phone order by one of its physicians goes back to be confirmed."""

    kind = Partner.Kind.HELPLINE_1813
    receives = {Event.REFERRAL: referral_receive}
    sends = {
        Event.REFERRAL_STATUS: referral_status,
        Event.ORDER_CONFIRMATION_REQUEST: order_confirmation_request,
    }
    transport = SIGNED_HTTP
