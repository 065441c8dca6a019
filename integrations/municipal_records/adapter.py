"""A municipality's care record system (*EOJ*) as a partner."""

from __future__ import annotations

from integrations.adapters import PartnerAdapter
from integrations.messages import Event
from integrations.models import Partner
from integrations.municipal_records.inbound import shared_record_update_receive
from integrations.transport import SIGNED_HTTP


class MunicipalRecords(PartnerAdapter):
    """It updates the shared record (R2 checked at the door); the platform
    sends it nothing."""

    kind = Partner.Kind.MUNICIPAL_RECORDS
    receives = {Event.SHARED_RECORD_UPDATE: shared_record_update_receive}
    transport = SIGNED_HTTP
