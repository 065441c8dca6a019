from django.urls import URLPattern, path

from acute import api

urlpatterns: list[URLPattern] = [
    path("referrals", api.ReferralListView.as_view(), name="acute-referrals"),
    path("referrals/<int:pk>", api.ReferralDetailView.as_view(), name="acute-referral"),
    path(
        "referrals/<int:pk>/accept",
        api.ReferralTriageView.as_view(decision="accept"),
        name="acute-referral-accept",
    ),
    path(
        "referrals/<int:pk>/decline",
        api.ReferralTriageView.as_view(decision="decline"),
        name="acute-referral-decline",
    ),
    path(
        "referrals/<int:pk>/suggestions",
        api.SuggestionsView.as_view(),
        name="acute-referral-suggestions",
    ),
    path("referrals/<int:pk>/assign", api.AssignView.as_view(), name="acute-referral-assign"),
    path("visits", api.VisitListView.as_view(), name="acute-visits"),
    path("visits/<int:pk>", api.VisitDetailView.as_view(), name="acute-visit"),
    *[
        path(
            f"visits/<int:pk>/{step}",
            api.VisitStepView.as_view(step=step),
            name=f"acute-visit-{step}",
        )
        for step in ("accept", "decline", "en-route", "on-site", "complete")
    ],
    path("visits/<int:pk>/withdraw", api.WithdrawView.as_view(), name="acute-visit-withdraw"),
    path("visits/<int:pk>/notes", api.VisitNoteView.as_view(), name="acute-visit-notes"),
    path("visits/<int:pk>/vital-signs", api.VitalSignsView.as_view(), name="acute-visit-vitals"),
    path(
        "episodes/<int:pk>/follow-ups", api.FollowUpView.as_view(), name="acute-episode-follow-up"
    ),
    path(
        "episodes/<int:pk>/complete",
        api.EpisodeCompleteView.as_view(),
        name="acute-episode-complete",
    ),
    path("shifts", api.ShiftListView.as_view(), name="acute-shifts"),
    path("shifts/<int:pk>/status", api.ShiftStatusView.as_view(), name="acute-shift-status"),
    path("shifts/<int:pk>/position", api.ShiftPositionView.as_view(), name="acute-shift-position"),
    path("warnings", api.WarningListView.as_view(), name="acute-warnings"),
    path(
        "warnings/<int:pk>/acknowledge",
        api.WarningAcknowledgeView.as_view(),
        name="acute-warning-acknowledge",
    ),
    path("figures", api.FiguresView.as_view(), name="acute-figures"),
]
