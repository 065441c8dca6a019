from django.urls import URLPattern, path

from acute import pages

urlpatterns: list[URLPattern] = [
    path("nurse/shift/", pages.nurse_shift, name="nurse-shift"),
    path("nurse/shift/status/", pages.nurse_status_set, name="nurse-status"),
    path("nurse/shift/position/", pages.nurse_position, name="nurse-position"),
    path("nurse/visits/", pages.nurse_visits, name="nurse-visits"),
    path("nurse/visits/<int:visit_id>/", pages.nurse_visit, name="nurse-visit"),
    path("nurse/visits/<int:visit_id>/step/", pages.visit_step, name="visit-step"),
    path("nurse/visits/<int:visit_id>/note/", pages.visit_note, name="visit-note"),
    path("nurse/visits/<int:visit_id>/vitals/", pages.visit_vitals, name="visit-vitals"),
    path("nurse/visits/<int:visit_id>/interpret/", pages.lab_interpret, name="visit-interpret"),
    path("nurse/visits/<int:visit_id>/lab/", pages.visit_lab, name="visit-lab"),
    path("nurse/visits/<int:visit_id>/order/", pages.visit_phone_order, name="visit-order"),
    path("nurse/visits/<int:visit_id>/give/", pages.visit_give, name="visit-give"),
    path("nurse/visits/<int:visit_id>/procedure/", pages.visit_procedure, name="visit-procedure"),
    path(
        "nurse/visits/<int:visit_id>/delegation/",
        pages.visit_delegation,
        name="visit-delegation",
    ),
    path("nurse/visits/<int:visit_id>/complete/", pages.visit_complete, name="visit-complete"),
    path("nurse/visits/<int:visit_id>/break-glass/", pages.break_glass, name="visit-break-glass"),
    path("coordinator/", pages.coordinator_board, name="coordinator-board"),
    path("coordinator/live/", pages.coordinator_board_live, name="coordinator-board-live"),
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
