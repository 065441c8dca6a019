from django.urls import path

from consent.audit import pages

urlpatterns = [
    path("audit/", pages.audit_search_page, name="audit-search"),
    path("audit/flagged", pages.audit_flagged_page, name="audit-flagged"),
    path("audit/entries/<id:entry_id>", pages.audit_entry_page, name="audit-entry-page"),
    path("audit/entries/<id:entry_id>/review", pages.audit_review_page, name="audit-review-page"),
    path("audit/export.csv", pages.audit_export_page, name="audit-export-page"),
    path(
        "audit/witness-alarms/<id:refusal_id>/acknowledge",
        pages.audit_alarm_acknowledge_page,
        name="audit-alarm-acknowledge",
    ),
    path("audit/verify", pages.audit_verify_page, name="audit-verify-page"),
]
