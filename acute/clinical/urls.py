from django.urls import URLPattern, path

from acute.clinical import pages

urlpatterns: list[URLPattern] = [
    path("physician/orders/", pages.physician_orders_page, name="physician-orders"),
    path("physician/orders/new/", pages.written_order, name="order-written"),
    path("physician/orders/<id:order_id>/confirm/", pages.order_confirm, name="order-confirm"),
    path("physician/orders/<id:order_id>/reject/", pages.order_reject, name="order-reject"),
    path("physician/orders/<id:order_id>/stop/", pages.order_stop, name="order-stop"),
    path("physician/orders/<id:order_id>/correct/", pages.order_correct, name="order-correct"),
    path(
        "physician/alerts/<id:alert_id>/acknowledge/",
        pages.alert_acknowledge,
        name="physician-alert-acknowledge",
    ),
    path(
        "physician/orders/<id:order_id>/prescription-sent/",
        pages.prescription_sent,
        name="order-prescription-sent",
    ),
]
