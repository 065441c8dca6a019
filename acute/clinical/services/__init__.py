"""Writes of the visit's clinical work: delegations, results, procedures and
physician medication orders (R7, R8), one module per use case.

Every service takes the visit or order already let through the gate
(``acute.clinical.selectors``); it validates everything before the first row
is written, so a refusal never leaves half a record. A refusal of a rule
(R7 delegation, R8 read-back or §4) is recorded in the audit log as a denied
attempt before it is raised, outside the refused write's transaction.

The names below are the package's interface; callers import them from here.
"""

from acute.clinical.services.common import (
    CLOCK_SKEW,
    COPENHAGEN,
    RESULT_STATUSES,
    gp_referral,
    refuse,
)
from acute.clinical.services.corrections import Amended, lab_result_correct, lab_result_withdraw
from acute.clinical.services.delegations import delegation_record
from acute.clinical.services.dose_alerts import late_dose_alert_raise
from acute.clinical.services.order_follow_up import (
    WithdrawalPhoned,
    medication_order_cancel,
    medication_order_confirm,
    medication_order_correct,
    medication_order_received_record,
    medication_order_reject,
    physician_alert_acknowledge,
    prescription_mark_sent,
)
from acute.clinical.services.orders import (
    DOSE,
    MAX_DOSES_PER_DAY,
    MAX_ORDER_DAYS,
    ORDER_DECIMAL_COMMA,
    ORDER_STATUSES,
    TOTAL_QUANTITY,
    OrderDetails,
    is_dependence_forming,
    phone_order_record,
    written_order_record,
)
from acute.clinical.services.procedures import procedure_record
from acute.clinical.services.results import RESULT_RELATIONS, ResultInput, lab_results_record
from acute.clinical.services.watch import WatchFigures, medication_orders_watch

__all__ = [
    "CLOCK_SKEW",
    "COPENHAGEN",
    "DOSE",
    "MAX_DOSES_PER_DAY",
    "MAX_ORDER_DAYS",
    "ORDER_DECIMAL_COMMA",
    "ORDER_STATUSES",
    "RESULT_RELATIONS",
    "RESULT_STATUSES",
    "TOTAL_QUANTITY",
    "Amended",
    "OrderDetails",
    "ResultInput",
    "WatchFigures",
    "WithdrawalPhoned",
    "delegation_record",
    "gp_referral",
    "is_dependence_forming",
    "lab_result_correct",
    "lab_result_withdraw",
    "lab_results_record",
    "late_dose_alert_raise",
    "medication_order_cancel",
    "medication_order_confirm",
    "medication_order_correct",
    "medication_order_received_record",
    "medication_order_reject",
    "medication_orders_watch",
    "phone_order_record",
    "physician_alert_acknowledge",
    "prescription_mark_sent",
    "procedure_record",
    "refuse",
    "written_order_record",
]
