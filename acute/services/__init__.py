"""Every write of the acute function, one module per use case: referrals
coming in (``referrals``), triage (``triage``), nurse shifts (``shifts``),
dispatch (``dispatch``), the visit's state machine (``visits``), what the
nurse documents (``documentation``) and re-sent tablet forms
(``submissions``), follow-ups and the end of an episode (``episodes``), the
deadline watch (``deadlines``), hospital admissions (``admissions``), a
citizen's registered death and its correction (``deaths``), a referral
withdrawn (``withdrawals``) and a coordinator's decision checked against
what her page showed (``as_shown``).

Services are keyword-only and atomic, and take the ``actor`` who acts. Each
records its audit entry inside its own transaction and sends the domain
signals of ``acute.signals`` there too, so receivers' outbox rows commit with
the event. Who may call a service is decided by the API's role check; the
service itself checks what only it can know (the nurse is the assigned one,
the transition is in order).

Every name is importable from ``acute.services`` as well.
"""

from acute.selectors import dispatch_rank, nurse_on_shift, nurse_states
from acute.services._common import (
    EPISODE_SOURCE,
    STEP_BOUND,
    STEP_CLOCK_SKEW,
    VISIT_SOURCE,
    step_time,
    tablet_time_judged,
)
from acute.services.admissions import (
    HOLD_HOSPITAL_ADMISSION,
    HOLD_OVERRIDE_REASON_MAX_LENGTH,
    RESUMED_ADMISSION_CANCELLED,
    RESUMED_DISCHARGED,
    referrals_admitted,
    referrals_hold_for_admission,
    referrals_resume_after_discharge,
    referrals_warn_admitted,
)
from acute.services.as_shown import (
    REFERRAL_CHANGED_SINCE_SHOWN,
    referral_shown_stamp,
    referral_still_as_shown,
)
from acute.services.deadlines import deadline_watch, warning_acknowledge
from acute.services.deaths import (
    citizen_death_follow,
    citizen_death_register,
    citizen_death_restate,
    citizen_death_withdraw,
    referrals_close_on_death,
)
from acute.services.dispatch import (
    dispatch_auto_assign,
    planned_referrals_dispatch,
    visit_assign,
)
from acute.services.documentation import VITAL_SIGN_UNITS, visit_note_add, vital_signs_record
from acute.services.episodes import (
    episode_complete,
    episode_end_warning_raise,
    visit_plan_follow_up,
)
from acute.services.referrals import (
    SOURCE_BY_KIND,
    acute_function_for,
    referral_citizen_named,
    referral_create,
    referral_intake,
    referral_phone_take,
)
from acute.services.shifts import (
    STATUSES_SET_BY_HAND,
    shift_create,
    shift_position_report,
    shift_status_set,
)
from acute.services.submissions import (
    CLIENT_REF_SHAPE,
    SubmissionResult,
    submission_fingerprint,
    visit_submission_once,
)
from acute.services.triage import referral_accept, referral_decline, referral_retriage
from acute.services.visits import (
    TRANSITIONS,
    visit_accept,
    visit_arrive,
    visit_complete,
    visit_decline,
    visit_set_off,
    visit_withdraw,
    visits_expire_unanswered,
)
from acute.services.withdrawals import referral_withdraw

__all__ = [
    "CLIENT_REF_SHAPE",
    "EPISODE_SOURCE",
    "HOLD_HOSPITAL_ADMISSION",
    "HOLD_OVERRIDE_REASON_MAX_LENGTH",
    "REFERRAL_CHANGED_SINCE_SHOWN",
    "RESUMED_ADMISSION_CANCELLED",
    "RESUMED_DISCHARGED",
    "SOURCE_BY_KIND",
    "STATUSES_SET_BY_HAND",
    "STEP_BOUND",
    "STEP_CLOCK_SKEW",
    "TRANSITIONS",
    "VISIT_SOURCE",
    "VITAL_SIGN_UNITS",
    "SubmissionResult",
    "acute_function_for",
    "citizen_death_follow",
    "citizen_death_register",
    "citizen_death_restate",
    "citizen_death_withdraw",
    "deadline_watch",
    "dispatch_auto_assign",
    # Reads, in ``acute.selectors``; still importable from here for older callers.
    "dispatch_rank",
    "episode_complete",
    "episode_end_warning_raise",
    "nurse_on_shift",
    "nurse_states",
    "planned_referrals_dispatch",
    "referral_accept",
    "referral_citizen_named",
    "referral_create",
    "referral_decline",
    "referral_intake",
    "referral_phone_take",
    "referral_retriage",
    "referral_shown_stamp",
    "referral_still_as_shown",
    "referral_withdraw",
    "referrals_admitted",
    "referrals_close_on_death",
    "referrals_hold_for_admission",
    "referrals_resume_after_discharge",
    "referrals_warn_admitted",
    "shift_create",
    "shift_position_report",
    "shift_status_set",
    "step_time",
    "submission_fingerprint",
    "tablet_time_judged",
    "visit_accept",
    "visit_arrive",
    "visit_assign",
    "visit_complete",
    "visit_decline",
    "visit_note_add",
    "visit_plan_follow_up",
    "visit_set_off",
    "visit_submission_once",
    "visit_withdraw",
    "visits_expire_unanswered",
    "vital_signs_record",
    "warning_acknowledge",
]
