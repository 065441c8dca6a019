"""Reads of the acute function, one module per use: records through the gate
(``records``), the coordinator's board (``board``), the nurse's tablet
(``tablet``), nurses on shift (``nurses``), ranking for dispatch
(``dispatch``) and the follow-up figures (``figures``).

Every name is importable from ``acute.selectors`` as well.
"""

from acute.selectors.board import (
    BOARD_LIMIT,
    BOARD_STATUSES,
    nurses_withdrawn_from,
    open_episodes_in,
    referral_board,
    warning_of,
    warnings_open,
)
from acute.selectors.dispatch import dispatch_rank, need_for
from acute.selectors.figures import (
    FIGURE_COLUMNS,
    PERIODS,
    figures,
    figures_csv,
    figures_date,
    figures_params_once,
    figures_refused,
    figures_release,
)
from acute.selectors.nurses import nurse_on_shift, nurse_states, shifts_on
from acute.selectors.records import (
    CATEGORY,
    HOSPITAL_WITHDRAWALS,
    VISIT_NURSE,
    episode_get,
    own_visit_under_way,
    referral_episode_ended_for,
    referral_get,
    visit_get,
    visit_withdrawn_refusal,
)
from acute.selectors.tablet import (
    nurse_visits,
    nurse_visits_withdrawn,
    visit_submission_received,
)

__all__ = [
    "BOARD_LIMIT",
    "BOARD_STATUSES",
    "CATEGORY",
    "FIGURE_COLUMNS",
    "HOSPITAL_WITHDRAWALS",
    "PERIODS",
    "VISIT_NURSE",
    "dispatch_rank",
    "episode_get",
    "figures",
    "figures_csv",
    "figures_date",
    "figures_params_once",
    "figures_refused",
    "figures_release",
    "need_for",
    "nurse_on_shift",
    "nurse_states",
    "nurse_visits",
    "nurse_visits_withdrawn",
    "nurses_withdrawn_from",
    "open_episodes_in",
    "own_visit_under_way",
    "referral_board",
    "referral_episode_ended_for",
    "referral_get",
    "shifts_on",
    "visit_get",
    "visit_submission_received",
    "visit_withdrawn_refusal",
    "warning_of",
    "warnings_open",
]
