"""``/api/clinical/``: tests, procedures, delegations and physician orders on a visit.

Thin endpoints: parse, one access function, one service or selector, serialize.
By use: ``visit`` (catalogue, results, procedures, delegations), ``orders``
(phone and written orders, R8) and ``alerts``; ``shapes`` holds what they
share. Every view is importable from here.
"""

from acute.clinical.api.alerts import (
    AcknowledgeAlertView,
    BoardAlertsView,
    MyAlertsView,
)
from acute.clinical.api.orders import (
    CancelOrderView,
    ConfirmOrderView,
    MyOrdersView,
    OrderReceivedView,
    OrderWithdrawalPhonedView,
    OverdueOrdersView,
    PhoneOrdersView,
    PrescriptionSentView,
    WrittenOrdersView,
)
from acute.clinical.api.visit import (
    CatalogueView,
    DelegationsView,
    ProceduresView,
    ResultCorrectView,
    ResultsView,
    ResultWithdrawView,
    VisitClinicalView,
)

__all__ = [
    "AcknowledgeAlertView",
    "BoardAlertsView",
    "CancelOrderView",
    "CatalogueView",
    "ConfirmOrderView",
    "DelegationsView",
    "MyAlertsView",
    "MyOrdersView",
    "OrderReceivedView",
    "OrderWithdrawalPhonedView",
    "OverdueOrdersView",
    "PhoneOrdersView",
    "PrescriptionSentView",
    "ProceduresView",
    "ResultCorrectView",
    "ResultWithdrawView",
    "ResultsView",
    "VisitClinicalView",
    "WrittenOrdersView",
]
