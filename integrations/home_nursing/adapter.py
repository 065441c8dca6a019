"""Municipal home nursing as a partner."""

from __future__ import annotations

from integrations.adapters import PartnerAdapter
from integrations.care_threads.build import care_reply
from integrations.care_threads.receive import care_communication_receive
from integrations.home_nursing.outbound import handback_or_outcome
from integrations.medcom.envelope import MedComEvent
from integrations.messages import Event
from integrations.models import Partner
from integrations.transport import SIGNED_HTTP


class HomeNursing(PartnerAdapter):
    """The home nursing of the citizen's own municipality: its CareCommunication
    is the hand-back when an episode ends (R11), or the outcome to another
    municipality's home nursing that referred her; it writes to the acute
    function about a citizen it cares for, and gets the reply in the thread."""

    kind = Partner.Kind.HOME_NURSING
    receives = {MedComEvent.CARE_COMMUNICATION: care_communication_receive}
    sends = {
        Event.CARE_COMMUNICATION: handback_or_outcome,
        Event.CARE_COMMUNICATION_REPLY: care_reply,
    }
    transport = SIGNED_HTTP
