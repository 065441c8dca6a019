"""The GP practice as a partner."""

from __future__ import annotations

from integrations.adapters import PartnerAdapter
from integrations.builders import episode_outcome, order_confirmation_request
from integrations.care_threads.build import care_reply
from integrations.care_threads.receive import care_communication_receive
from integrations.gp.outbound import home_care_observation
from integrations.medcom.envelope import MedComEvent
from integrations.messages import Event
from integrations.models import Partner
from integrations.transport import SIGNED_HTTP


class GeneralPractice(PartnerAdapter):
    """The GP practice's inbox: results of a visit it asked for, the outcome
    of the episode, and its physicians' phone orders to confirm. It writes to
    the acute function about a citizen (MedCom CareCommunication) and gets
    the nurse's or coordinator's reply in the same thread."""

    kind = Partner.Kind.GP
    receives = {MedComEvent.CARE_COMMUNICATION: care_communication_receive}
    sends = {
        Event.HOME_CARE_OBSERVATION: home_care_observation,
        Event.CARE_COMMUNICATION: episode_outcome,
        Event.ORDER_CONFIRMATION_REQUEST: order_confirmation_request,
        Event.CARE_COMMUNICATION_REPLY: care_reply,
    }
    transport = SIGNED_HTTP
