from django.urls import path

from integrations import api

urlpatterns = [
    path("outbox", api.OutboxBoardView.as_view(), name="integrations-outbox"),
    path("outbox/<int:pk>", api.OutboxMessageView.as_view(), name="integrations-outbox-message"),
    path(
        "outbox/<int:pk>/resend", api.OutboxResendView.as_view(), name="integrations-outbox-resend"
    ),
    path(
        "outbox/<int:pk>/handled",
        api.OutboxHandledView.as_view(),
        name="integrations-outbox-handled",
    ),
    path("inbox/refused", api.InboxRefusalsView.as_view(), name="integrations-inbox-refused"),
    path(
        "inbox/refused/<int:pk>/noted",
        api.InboxRefusalNoteView.as_view(),
        name="integrations-inbox-refused-noted",
    ),
    path(
        "care-threads/unmatched",
        api.CareThreadsUnmatchedView.as_view(),
        name="integrations-care-threads-unmatched",
    ),
    path(
        "care-threads/<int:pk>",
        api.CareThreadView.as_view(),
        name="integrations-care-thread",
    ),
    path(
        "care-threads/<int:pk>/reply",
        api.CareThreadReplyView.as_view(),
        name="integrations-care-thread-reply",
    ),
    path(
        "care-threads/<int:pk>/handled",
        api.CareThreadHandledView.as_view(),
        name="integrations-care-thread-handled",
    ),
]
