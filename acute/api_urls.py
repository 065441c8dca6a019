from django.urls import URLPattern, URLResolver, include, path

from acute import api

on_referral: list[URLPattern] = [
    *[
        path(
            decision,
            api.ReferralTriageView.as_view(decision=decision),
            name=f"acute-referral-{decision}",
        )
        for decision in ("accept", "decline")
    ],
    path("suggestions", api.SuggestionsView.as_view(), name="acute-referral-suggestions"),
    path("assign", api.AssignView.as_view(), name="acute-referral-assign"),
    path("withdraw", api.ReferralWithdrawView.as_view(), name="acute-referral-withdraw"),
    path("urgency", api.ReferralUrgencyView.as_view(), name="acute-referral-urgency"),
]
on_visit: list[URLPattern] = [
    *[
        path(step, api.VisitStepView.as_view(step=step), name=f"acute-visit-{step}")
        for step in ("accept", "decline", "en-route", "on-site", "complete")
    ],
    path("withdraw", api.WithdrawView.as_view(), name="acute-visit-withdraw"),
    path("notes", api.VisitNoteView.as_view(), name="acute-visit-notes"),
    path("vital-signs", api.VitalSignsView.as_view(), name="acute-visit-vitals"),
]
on_episode: list[URLPattern] = [
    path("follow-ups", api.FollowUpView.as_view(), name="acute-episode-follow-up"),
    path("complete", api.EpisodeCompleteView.as_view(), name="acute-episode-complete"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("referrals", api.ReferralListView.as_view(), name="acute-referrals"),
    path("referrals/<id:pk>", api.ReferralDetailView.as_view(), name="acute-referral"),
    path("referrals/<id:pk>/", include(on_referral)),
    path("visits", api.VisitListView.as_view(), name="acute-visits"),
    path("visits/<id:pk>", api.VisitDetailView.as_view(), name="acute-visit"),
    path("visits/<id:pk>/", include(on_visit)),
    path("episodes/<id:pk>/", include(on_episode)),
    path("shifts", api.ShiftListView.as_view(), name="acute-shifts"),
    path("shifts/<id:pk>/status", api.ShiftStatusView.as_view(), name="acute-shift-status"),
    path("shifts/<id:pk>/position", api.ShiftPositionView.as_view(), name="acute-shift-position"),
    path("warnings", api.WarningListView.as_view(), name="acute-warnings"),
    path(
        "warnings/<id:pk>/acknowledge",
        api.WarningAcknowledgeView.as_view(),
        name="acute-warning-acknowledge",
    ),
    path("figures", api.FiguresView.as_view(), name="acute-figures"),
]
