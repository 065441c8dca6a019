from django.urls import path

from consent.audit import api

urlpatterns = [
    path("AuditEvent", api.AuditEventSearchView.as_view(), name="fhir-auditevent-search"),
    path(
        "AuditEvent/<int:entry_id>", api.AuditEventReadView.as_view(), name="fhir-auditevent-read"
    ),
]
