from django.urls import URLPattern, URLResolver, include, path

from acute import pages

# The coordinator's page of one referral, and what she decides on it.
on_referral: list[URLPattern] = [
    path("", pages.referral_detail, name="referral-detail"),
    path("assign/", pages.referral_assign, name="referral-assign"),
    path("triage/", pages.referral_triage, name="referral-triage"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("nurse/shift/", pages.nurse_shift, name="nurse-shift"),
    path("nurse/shift/status/", pages.nurse_status_set, name="nurse-status"),
    path("nurse/shift/position/", pages.nurse_position, name="nurse-position"),
    path("coordinator/referrals/new/", pages.referral_phone, name="referral-phone"),
    path(
        "coordinator/referrals/new/citizen/",
        pages.referral_citizen_lookup,
        name="referral-citizen-lookup",
    ),
    path("coordinator/referrals/<int:referral_id>/", include(on_referral)),
    path("coordinator/figures/", pages.coordinator_figures, name="coordinator-figures"),
    path("referrals/new/", pages.referral_short, name="referral-short"),
]
