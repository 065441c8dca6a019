"""``/api/cabinet/``: see ``medicine_cabinet/api.py`` for who may use what."""

from django.urls import URLPattern, URLResolver, include, path

from medicine_cabinet import api

# The steps of one count: counted, recounted where it differed, submitted, approved.
on_count: list[URLPattern] = [
    path("lines", api.CountLinesView.as_view(), name="cabinet-count-lines"),
    path(
        "lines/<id:line_id>/recount", api.CountRecountView.as_view(), name="cabinet-count-recount"
    ),
    path("submit", api.CountSubmitView.as_view(), name="cabinet-count-submit"),
    path("approve", api.CountApproveView.as_view(), name="cabinet-count-approve"),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("medicines", api.MedicinesView.as_view(), name="cabinet-medicines"),
    path("locations", api.LocationsView.as_view(), name="cabinet-locations"),
    path(
        "locations/<id:location_id>/balance",
        api.LocationBalanceView.as_view(),
        name="cabinet-location-balance",
    ),
    path("cabinets", api.CabinetsView.as_view(), name="cabinet-cabinets"),
    path("my-bag", api.MyBagView.as_view(), name="cabinet-my-bag"),
    path("stock", api.StockView.as_view(), name="cabinet-stock"),
    path("receipts", api.ReceiptsView.as_view(), name="cabinet-receipts"),
    path("transfers", api.TransfersView.as_view(), name="cabinet-transfers"),
    path("waste", api.WasteView.as_view(), name="cabinet-waste"),
    path("removals", api.RemovalsView.as_view(), name="cabinet-removals"),
    path("lots/<id:lot_id>/recall", api.LotRecallView.as_view(), name="cabinet-lot-recall"),
    path("lots/<id:lot_id>/history", api.LotHistoryView.as_view(), name="cabinet-lot-history"),
    path("register/<id:medicine_id>", api.RegisterView.as_view(), name="cabinet-register"),
    path("counts", api.CountsView.as_view(), name="cabinet-counts"),
    path("counts/<id:count_id>", api.CountDetailView.as_view(), name="cabinet-count-detail"),
    path("counts/<id:count_id>/", include(on_count)),
    path("notifications", api.NotificationsView.as_view(), name="cabinet-notifications"),
    path(
        "notifications/<id:notification_id>/acknowledge",
        api.NotificationAcknowledgeView.as_view(),
        name="cabinet-notification-acknowledge",
    ),
    path("reports/monthly-use", api.MonthlyUseView.as_view(), name="cabinet-monthly-use"),
    path("administrations", api.AdministrationsView.as_view(), name="cabinet-administrations"),
    path(
        "administrations/suggested-lot",
        api.LotSuggestionView.as_view(),
        name="cabinet-suggested-lot",
    ),
]
