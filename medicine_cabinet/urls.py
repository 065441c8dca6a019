from django.urls import URLPattern, path

from medicine_cabinet import bag_page, pages

urlpatterns: list[URLPattern] = [
    path("cabinet/", pages.stock, name="cabinet-stock"),
    path("cabinet/receive/", pages.receive, name="cabinet-receive"),
    path("cabinet/recall/", pages.recall, name="cabinet-recall"),
    path("cabinet/recall/<id:lot_id>/", pages.recall_detail, name="cabinet-recall-detail"),
    path("cabinet/counts/", pages.counts, name="cabinet-counts"),
    path("cabinet/counts/start/", pages.count_start, name="cabinet-count-start"),
    path("cabinet/counts/<id:count_id>/", pages.count_detail, name="cabinet-count"),
    path("cabinet/counts/<id:count_id>/do/", pages.count_action, name="cabinet-count-action"),
    # The acute nurse's own bag: take from a cabinet, return to it.
    path("nurse/bag/", bag_page.nurse_bag, name="nurse-bag"),
    path("nurse/bag/take/", bag_page.bag_take, name="nurse-bag-take"),
    path("nurse/bag/return/", bag_page.bag_return, name="nurse-bag-return"),
]
