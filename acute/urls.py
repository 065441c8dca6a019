from django.urls import URLPattern, path

from acute import pages

urlpatterns: list[URLPattern] = [
    path("nurse/shift/", pages.nurse_shift, name="nurse-shift"),
    path("nurse/shift/status/", pages.nurse_status_set, name="nurse-status"),
    path("nurse/shift/position/", pages.nurse_position, name="nurse-position"),
    path("coordinator/referrals/new/", pages.referral_phone, name="referral-phone"),
    path("coordinator/referrals/<int:referral_id>/", pages.referral_detail, name="referral-detail"),
    path(
        "coordinator/referrals/<int:referral_id>/assign/",
        pages.referral_assign,
        name="referral-assign",
    ),
    path(
        "coordinator/referrals/<int:referral_id>/triage/",
        pages.referral_triage,
        name="referral-triage",
    ),
    path("coordinator/figures/", pages.coordinator_figures, name="coordinator-figures"),
    path("referrals/new/", pages.referral_short, name="referral-short"),
]
