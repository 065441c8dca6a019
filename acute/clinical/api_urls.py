from django.urls import URLPattern, URLResolver, include, path

from acute.clinical import api

# What is recorded on one visit, and what the ordering physician does with one order.
on_visit: list[URLPattern] = [
    path("results", api.ResultsView.as_view(), name="clinical-results"),
    path("procedures", api.ProceduresView.as_view(), name="clinical-procedures"),
    path("delegations", api.DelegationsView.as_view(), name="clinical-delegations"),
    path("phone-orders", api.PhoneOrdersView.as_view(), name="clinical-phone-orders"),
    path("written-orders", api.WrittenOrdersView.as_view(), name="clinical-written-orders"),
]
on_order: list[URLPattern] = [
    path("confirm", api.ConfirmOrderView.as_view(), name="clinical-order-confirm"),
    path(
        "prescription-sent", api.PrescriptionSentView.as_view(), name="clinical-prescription-sent"
    ),
    path("cancel", api.CancelOrderView.as_view(), name="clinical-order-cancel"),
    path("received", api.OrderReceivedView.as_view(), name="clinical-order-received"),
    path(
        "withdrawal-phoned",
        api.OrderWithdrawalPhonedView.as_view(),
        name="clinical-order-withdrawal-phoned",
    ),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("catalogue", api.CatalogueView.as_view(), name="clinical-catalogue"),
    path("visits/<id:visit_id>", api.VisitClinicalView.as_view(), name="clinical-visit"),
    path("visits/<id:visit_id>/", include(on_visit)),
    path(
        "results/<id:result_id>/withdraw",
        api.ResultWithdrawView.as_view(),
        name="clinical-result-withdraw",
    ),
    path(
        "results/<id:result_id>/correct",
        api.ResultCorrectView.as_view(),
        name="clinical-result-correct",
    ),
    path("orders/mine", api.MyOrdersView.as_view(), name="clinical-orders-mine"),
    path("orders/overdue", api.OverdueOrdersView.as_view(), name="clinical-orders-overdue"),
    path("orders/<id:order_id>/", include(on_order)),
    path("alerts", api.MyAlertsView.as_view(), name="clinical-alerts"),
    path("board/alerts", api.BoardAlertsView.as_view(), name="clinical-board-alerts"),
    path(
        "alerts/<id:alert_id>/acknowledge",
        api.AcknowledgeAlertView.as_view(),
        name="clinical-alert-acknowledge",
    ),
]
