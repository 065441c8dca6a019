"""Every write to the medicine stock (R8), one module per use case.

Each movement is a ledger entry written in the same transaction as the change
to the location's :class:`~medicine_cabinet.models.Balance` row, which is
locked first (``select_for_update``), so two nurses drawing the last dose
cannot both get it and no balance ever goes below zero (the database refuses
that too). Every movement is recorded in the audit log in the same transaction.

§4 medicines (dependence-forming, *afhængighedsskabende*) move only with a
witness: another member of the acute function's staff, on duty, whose own
credentials (:class:`WitnessCredentials`) the movement's service checks. Every
§4 movement judges its witness in one place
(:func:`~medicine_cabinet.services.checks.check_witness`), which records a
refused witness as a denied attempt (R9): on the stock ledger, or, for a dose
given to a citizen, on the citizen's record.

The names below are the package's interface; callers import them from here.
"""

from medicine_cabinet.services.administration import administration_give
from medicine_cabinet.services.checks import (
    COUNTED,
    GATE_CATEGORY,
    QUANTITY,
    WITNESS_ROLES,
    WitnessCredentials,
    check_may_see,
    needs_witness,
    quantity_parse,
    witness_verify,
)
from medicine_cabinet.services.counts import (
    Recount,
    count_approve,
    count_record,
    count_recount,
    count_sheet_save,
    count_start,
    count_submit,
)
from medicine_cabinet.services.formulary import (
    STOCK_UNIT_LABELS,
    bag_for_nurse,
    cabinet_create,
    check_atc_code,
    check_dependence_forming,
    medicine_label,
    medicine_upsert,
)
from medicine_cabinet.services.ledger import STOCK_RESOURCE
from medicine_cabinet.services.movements import (
    stock_remove_expired,
    stock_remove_recalled,
    stock_transfer,
    stock_waste,
)
from medicine_cabinet.services.notifications import (
    notification_acknowledge,
    offline_dose_refused_flag,
)
from medicine_cabinet.services.recalls import lot_recall
from medicine_cabinet.services.receipts import stock_receive
from medicine_cabinet.services.watch import (
    EXPIRY_WINDOWS,
    cabinet_watch,
    count_watch_overdue,
    stock_watch_expiry,
    stock_watch_low,
)

__all__ = [
    "COUNTED",
    "EXPIRY_WINDOWS",
    "GATE_CATEGORY",
    "QUANTITY",
    "STOCK_RESOURCE",
    "STOCK_UNIT_LABELS",
    "WITNESS_ROLES",
    "Recount",
    "WitnessCredentials",
    "administration_give",
    "bag_for_nurse",
    "cabinet_create",
    "cabinet_watch",
    "check_atc_code",
    "check_dependence_forming",
    "check_may_see",
    "count_approve",
    "count_record",
    "count_recount",
    "count_sheet_save",
    "count_start",
    "count_submit",
    "count_watch_overdue",
    "lot_recall",
    "medicine_label",
    "medicine_upsert",
    "needs_witness",
    "notification_acknowledge",
    "offline_dose_refused_flag",
    "quantity_parse",
    "stock_receive",
    "stock_remove_expired",
    "stock_remove_recalled",
    "stock_transfer",
    "stock_waste",
    "stock_watch_expiry",
    "stock_watch_low",
    "witness_verify",
]
