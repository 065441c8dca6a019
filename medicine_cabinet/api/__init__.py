"""``/api/cabinet/``: the medicine stock (R8).

Who may do what (tested in ``tests/medicine_cabinet/test_api_roles.py``):

- medicine officer: formulary, cabinets, receiving, waste and removals in
  cabinets, recalls, counts and their approval, notifications, reports;
- acute nurse: her own bag — transfers with a cabinet, waste, removals,
  counting it — and administration on her visit;
- coordinator: reads stock by location (to know what a bag holds), nothing else;
- everyone else is refused.

A §4 movement carries ``witness: {"username", "password"}``: the witness's own
credentials, checked (and throttled) like a login, in the same request.

The endpoints live by use: ``stock`` (formulary, locations, movements, lots),
``counts`` (counts, notifications, reports) and ``administration`` (doses);
``common`` holds what they share. Every view is importable from here.
"""

from medicine_cabinet.api.administration import (
    AdministrationsView,
    LotSuggestionView,
)
from medicine_cabinet.api.common import medicine_json
from medicine_cabinet.api.counts import (
    CountApproveView,
    CountDetailView,
    CountLinesView,
    CountRecountView,
    CountSubmitView,
    CountsView,
    MonthlyUseView,
    NotificationAcknowledgeView,
    NotificationsView,
)
from medicine_cabinet.api.stock import (
    CabinetsView,
    LocationBalanceView,
    LocationsView,
    LotHistoryView,
    LotRecallView,
    MedicinesView,
    MyBagView,
    ReceiptsView,
    RegisterView,
    RemovalsView,
    StockView,
    TransfersView,
    WasteView,
)

__all__ = [
    "AdministrationsView",
    "CabinetsView",
    "CountApproveView",
    "CountDetailView",
    "CountLinesView",
    "CountRecountView",
    "CountSubmitView",
    "CountsView",
    "LocationBalanceView",
    "LocationsView",
    "LotHistoryView",
    "LotRecallView",
    "LotSuggestionView",
    "MedicinesView",
    "MonthlyUseView",
    "MyBagView",
    "NotificationAcknowledgeView",
    "NotificationsView",
    "ReceiptsView",
    "RegisterView",
    "RemovalsView",
    "StockView",
    "TransfersView",
    "WasteView",
    "medicine_json",
]
