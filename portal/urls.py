from django.urls import URLPattern, path

from portal import board, visit_forms, visit_page

urlpatterns: list[URLPattern] = [
    path("nurse/visits/", visit_page.nurse_visits, name="nurse-visits"),
    path("nurse/visits/<int:visit_id>/", visit_page.nurse_visit, name="nurse-visit"),
    path("nurse/visits/<int:visit_id>/step/", visit_forms.visit_step, name="visit-step"),
    path("nurse/visits/<int:visit_id>/note/", visit_forms.visit_note, name="visit-note"),
    path("nurse/visits/<int:visit_id>/vitals/", visit_forms.visit_vitals, name="visit-vitals"),
    path(
        "nurse/visits/<int:visit_id>/interpret/", visit_forms.lab_interpret, name="visit-interpret"
    ),
    path("nurse/visits/<int:visit_id>/lab/", visit_forms.visit_lab, name="visit-lab"),
    path("nurse/visits/<int:visit_id>/order/", visit_forms.visit_phone_order, name="visit-order"),
    path("nurse/visits/<int:visit_id>/give/", visit_forms.visit_give, name="visit-give"),
    path(
        "nurse/visits/<int:visit_id>/procedure/",
        visit_forms.visit_procedure,
        name="visit-procedure",
    ),
    path(
        "nurse/visits/<int:visit_id>/delegation/",
        visit_forms.visit_delegation,
        name="visit-delegation",
    ),
    path(
        "nurse/visits/<int:visit_id>/complete/", visit_forms.visit_complete, name="visit-complete"
    ),
    path(
        "nurse/visits/<int:visit_id>/break-glass/",
        visit_forms.break_glass,
        name="visit-break-glass",
    ),
    path("coordinator/", board.coordinator_board, name="coordinator-board"),
    path("coordinator/live/", board.coordinator_board_live, name="coordinator-board-live"),
]
