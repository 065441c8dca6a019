"""JSON API of the acute function under ``/api/acute/``, for coordinators and
nurses: ``referrals``, ``visits`` (and episodes), ``shifts`` and ``deadlines``
(warnings and the follow-up figures), with the roles in ``roles`` and the
records' JSON shape in ``output``.

Thin views: parse, one gate or selector, one service, serialize. Reads and
writes of citizen data pass the gate first (``acute.selectors``); writes record
their audit entry inside the service's transaction.
"""

from acute.api.deadlines import FiguresView, WarningAcknowledgeView, WarningListView
from acute.api.referrals import (
    AssignView,
    ReferralDetailView,
    ReferralListView,
    ReferralTriageView,
    SuggestionsView,
)
from acute.api.shifts import ShiftListView, ShiftPositionView, ShiftStatusView
from acute.api.urgency import ReferralUrgencyView
from acute.api.visits import (
    EpisodeCompleteView,
    FollowUpView,
    VisitDetailView,
    VisitListView,
    VisitNoteView,
    VisitStepView,
    VitalSignsView,
    WithdrawView,
)
from acute.api.withdrawals import ReferralWithdrawView

__all__ = [
    "AssignView",
    "EpisodeCompleteView",
    "FiguresView",
    "FollowUpView",
    "ReferralDetailView",
    "ReferralListView",
    "ReferralTriageView",
    "ReferralUrgencyView",
    "ReferralWithdrawView",
    "ShiftListView",
    "ShiftPositionView",
    "ShiftStatusView",
    "SuggestionsView",
    "VisitDetailView",
    "VisitListView",
    "VisitNoteView",
    "VisitStepView",
    "VitalSignsView",
    "WarningAcknowledgeView",
    "WarningListView",
    "WithdrawView",
]
