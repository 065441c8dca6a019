"""Municipal home nursing as a partner."""

from __future__ import annotations

from integrations.adapters import PartnerAdapter
from integrations.home_nursing.outbound import handback
from integrations.messages import Event
from integrations.models import Partner
from integrations.transport import SIGNED_HTTP


class HomeNursing(PartnerAdapter):
    """The home nursing of the citizen's own municipality: its CareCommunication
    is the hand-back when an episode ends (R11)."""

    kind = Partner.Kind.HOME_NURSING
    sends = {Event.CARE_COMMUNICATION: handback}
    transport = SIGNED_HTTP
