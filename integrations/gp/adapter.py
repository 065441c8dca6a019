"""The GP practice as a partner."""

from __future__ import annotations

from integrations.adapters import PartnerAdapter
from integrations.builders import episode_outcome, order_confirmation_request
from integrations.gp.outbound import home_care_observation
from integrations.messages import Event
from integrations.models import Partner
from integrations.transport import SIGNED_HTTP


class GeneralPractice(PartnerAdapter):
    """The GP practice's inbox: results of a visit it asked for, the outcome
    of the episode, and its physicians' phone orders to confirm. It sends the
    platform nothing but acknowledgements."""

    kind = Partner.Kind.GP
    sends = {
        Event.HOME_CARE_OBSERVATION: home_care_observation,
        Event.CARE_COMMUNICATION: episode_outcome,
        Event.ORDER_CONFIRMATION_REQUEST: order_confirmation_request,
    }
    transport = SIGNED_HTTP
