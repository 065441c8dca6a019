from django.urls import URLPattern, path

from integrations.care_threads import pages as care_threads

urlpatterns: list[URLPattern] = [
    path("care-threads/<id:thread_id>/", care_threads.care_thread_page, name="care-thread"),
    path(
        "care-threads/<id:thread_id>/handled/",
        care_threads.care_thread_handled_page,
        name="care-thread-handled",
    ),
    path(
        "care-threads/<id:thread_id>/reply/",
        care_threads.care_thread_reply_page,
        name="care-thread-reply",
    ),
]
