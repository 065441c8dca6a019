from django.urls import path

from integrations import api

urlpatterns = [
    path("outbox", api.OutboxBoardView.as_view(), name="integrations-outbox"),
    path("outbox/<id:pk>", api.OutboxMessageView.as_view(), name="integrations-outbox-message"),
    path(
        "outbox/<id:pk>/resend", api.OutboxResendView.as_view(), name="integrations-outbox-resend"
    ),
    path(
        "outbox/<id:pk>/handled",
        api.OutboxHandledView.as_view(),
        name="integrations-outbox-handled",
    ),
    path("inbox/refused", api.InboxRefusalsView.as_view(), name="integrations-inbox-refused"),
    path(
        "inbox/refused/<id:pk>/noted",
        api.InboxRefusalNoteView.as_view(),
        name="integrations-inbox-refused-noted",
    ),
    path(
        "care-threads/unmatched",
        api.CareThreadsUnmatchedView.as_view(),
        name="integrations-care-threads-unmatched",
    ),
    path(
        "care-threads/<id:pk>",
        api.CareThreadView.as_view(),
        name="integrations-care-thread",
    ),
    path(
        "care-threads/<id:pk>/reply",
        api.CareThreadReplyView.as_view(),
        name="integrations-care-thread-reply",
    ),
    path(
        "care-threads/<id:pk>/handled",
        api.CareThreadHandledView.as_view(),
        name="integrations-care-thread-handled",
    ),
]
