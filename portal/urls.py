from django.urls import URLPattern, URLResolver, include, path

from portal import board, visit_dose, visit_forms, visit_page, visit_result_fix

# What the nurse records on her visit's page, each a form posted to it.
on_visit: list[URLPattern] = [
    path("", visit_page.nurse_visit, name="nurse-visit"),
    path("step/", visit_forms.visit_step, name="visit-step"),
    path("decline/", visit_forms.visit_decline, name="visit-decline"),
    path("note/", visit_forms.visit_note, name="visit-note"),
    path("vitals/", visit_forms.visit_vitals, name="visit-vitals"),
    path("interpret/", visit_forms.lab_interpret, name="visit-interpret"),
    path("lab/", visit_forms.visit_lab, name="visit-lab"),
    path(
        "results/<id:result_id>/fix/",
        visit_result_fix.visit_result_fix,
        name="visit-result-fix",
    ),
    path("order/", visit_forms.visit_phone_order, name="visit-order"),
    path("give/", visit_dose.visit_give, name="visit-give"),
    path("procedure/", visit_forms.visit_procedure, name="visit-procedure"),
    path("delegation/", visit_forms.visit_delegation, name="visit-delegation"),
    path("complete/", visit_forms.visit_complete, name="visit-complete"),
    path("episode/", visit_forms.visit_episode_complete, name="visit-episode-complete"),
    path("break-glass/", visit_forms.break_glass, name="visit-break-glass"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("nurse/visits/", visit_page.nurse_visits, name="nurse-visits"),
    path("nurse/visits/<id:visit_id>/", include(on_visit)),
    path("coordinator/", board.coordinator_board, name="coordinator-board"),
    path("coordinator/live/", board.coordinator_board_live, name="coordinator-board-live"),
    path(
        "coordinator/warnings/<id:warning_id>/acknowledge/",
        board.warning_acknowledge,
        name="coordinator-warning-acknowledge",
    ),
    path(
        "coordinator/alerts/<id:alert_id>/acknowledge/",
        board.clinical_alert_acknowledge,
        name="coordinator-alert-acknowledge",
    ),
    path(
        "coordinator/orders/<id:order_id>/received/",
        board.order_received,
        name="coordinator-order-received",
    ),
    path(
        "coordinator/orders/<id:order_id>/withdrawal-phoned/",
        board.order_withdrawal_phoned,
        name="coordinator-order-withdrawal-phoned",
    ),
    path(
        "coordinator/outbox/<id:message_id>/resend/",
        board.outbox_message_resend,
        name="coordinator-outbox-resend",
    ),
    path(
        "coordinator/outbox/<id:message_id>/handled/",
        board.outbox_message_handled,
        name="coordinator-outbox-handled",
    ),
    path(
        "coordinator/refused/<id:message_id>/noted/",
        board.refusal_noted,
        name="coordinator-refusal-noted",
    ),
]
