from django.urls import URLPattern, path

from acute.clinical import pages

urlpatterns: list[URLPattern] = [
    path("physician/orders/", pages.physician_orders_page, name="physician-orders"),
    path("physician/orders/<int:order_id>/confirm/", pages.order_confirm, name="order-confirm"),
    path(
        "physician/orders/<int:order_id>/prescription-sent/",
        pages.prescription_sent,
        name="order-prescription-sent",
    ),
]
