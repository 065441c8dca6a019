from django.urls import path

from acute.clinical import api

urlpatterns = [
    path("catalogue", api.CatalogueView.as_view(), name="clinical-catalogue"),
    path("visits/<int:visit_id>", api.VisitClinicalView.as_view(), name="clinical-visit"),
    path("visits/<int:visit_id>/results", api.ResultsView.as_view(), name="clinical-results"),
    path(
        "visits/<int:visit_id>/procedures",
        api.ProceduresView.as_view(),
        name="clinical-procedures",
    ),
    path(
        "visits/<int:visit_id>/delegations",
        api.DelegationsView.as_view(),
        name="clinical-delegations",
    ),
    path(
        "visits/<int:visit_id>/phone-orders",
        api.PhoneOrdersView.as_view(),
        name="clinical-phone-orders",
    ),
    path(
        "visits/<int:visit_id>/written-orders",
        api.WrittenOrdersView.as_view(),
        name="clinical-written-orders",
    ),
    path("orders/mine", api.MyOrdersView.as_view(), name="clinical-orders-mine"),
    path("orders/overdue", api.OverdueOrdersView.as_view(), name="clinical-orders-overdue"),
    path(
        "orders/<int:order_id>/confirm",
        api.ConfirmOrderView.as_view(),
        name="clinical-order-confirm",
    ),
    path(
        "orders/<int:order_id>/prescription-sent",
        api.PrescriptionSentView.as_view(),
        name="clinical-prescription-sent",
    ),
    path(
        "orders/<int:order_id>/cancel",
        api.CancelOrderView.as_view(),
        name="clinical-order-cancel",
    ),
    path("alerts", api.MyAlertsView.as_view(), name="clinical-alerts"),
    path("board/alerts", api.BoardAlertsView.as_view(), name="clinical-board-alerts"),
    path(
        "alerts/<int:alert_id>/acknowledge",
        api.AcknowledgeAlertView.as_view(),
        name="clinical-alert-acknowledge",
    ),
]
