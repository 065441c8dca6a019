from django.urls import path

from consent.audit import api

urlpatterns = [
    path("entries", api.AuditEntryListView.as_view(), name="audit-entries"),
    path("entries/<int:entry_id>", api.AuditEntryDetailView.as_view(), name="audit-entry"),
    path(
        "entries/<int:entry_id>/review",
        api.AuditEntryReviewView.as_view(),
        name="audit-entry-review",
    ),
    path("export", api.AuditExportView.as_view(), name="audit-export"),
    path("verify", api.AuditVerifyView.as_view(), name="audit-verify"),
]
