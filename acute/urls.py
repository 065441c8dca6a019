from django.urls import URLPattern, URLResolver, include, path

from acute.pages import figures, referral_forms, referrals, shift, withdrawals

# The coordinator's page of one referral, and what she decides on it.
on_referral: list[URLPattern] = [
    path("", referrals.referral_detail, name="referral-detail"),
    path("assign/", referrals.referral_assign, name="referral-assign"),
    path("triage/", referrals.referral_triage, name="referral-triage"),
    path("urgency/", referrals.referral_urgency, name="referral-urgency"),
    path("episode/", referrals.referral_episode_complete, name="referral-episode-complete"),
    path("withdraw/", withdrawals.referral_withdraw, name="referral-withdraw"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("nurse/shift/", shift.nurse_shift, name="nurse-shift"),
    path("nurse/shift/status/", shift.nurse_status_set, name="nurse-status"),
    path("nurse/shift/position/", shift.nurse_position, name="nurse-position"),
    path("coordinator/referrals/new/", referral_forms.referral_phone, name="referral-phone"),
    path(
        "coordinator/referrals/new/citizen/",
        referral_forms.referral_citizen_lookup,
        name="referral-citizen-lookup",
    ),
    path("coordinator/referrals/<id:referral_id>/", include(on_referral)),
    path("coordinator/figures/", figures.coordinator_figures, name="coordinator-figures"),
    path("referrals/new/", referral_forms.referral_short, name="referral-short"),
]
