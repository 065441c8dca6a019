from django.urls import path

from consent.audit import api, log_api

urlpatterns = [
    path("entries", api.AuditEntryListView.as_view(), name="audit-entries"),
    path("entries/<id:entry_id>", api.AuditEntryDetailView.as_view(), name="audit-entry"),
    path(
        "entries/<id:entry_id>/review",
        api.AuditEntryReviewView.as_view(),
        name="audit-entry-review",
    ),
    path("export", api.AuditExportView.as_view(), name="audit-export"),
    path("verify", api.AuditVerifyView.as_view(), name="audit-verify"),
    path("log/checkpoint", log_api.CheckpointView.as_view(), name="audit-log-checkpoint"),
    path("log/cosignatures", log_api.CosignatureView.as_view(), name="audit-log-cosignatures"),
    path("log/consistency", log_api.ConsistencyView.as_view(), name="audit-log-consistency"),
    path(
        "log/entries/<id:entry_id>/inclusion",
        log_api.InclusionView.as_view(),
        name="audit-log-inclusion",
    ),
]
