from django.urls import URLPattern, path

from integrations.care_threads import pages as care_threads

urlpatterns: list[URLPattern] = [
    path(
        "care-threads/<int:thread_id>/reply/",
        care_threads.care_thread_reply_page,
        name="care-thread-reply",
    ),
]
