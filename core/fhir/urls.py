"""``/fhir/``: each app adds its resources in ``<app>/fhir_urls.py``."""

from django.urls import include, path, re_path

from core.fhir.endpoints import HistoryView, MetadataView, UnknownResourceView

urlpatterns = [
    path("metadata", MetadataView.as_view(), name="fhir-metadata"),
    # History is served on no type, before any type's routes take "_history"
    # for an id; a version read (…/_history/<vid>) is the types' own.
    re_path(r"^_history$", HistoryView.as_view(), name="fhir-history-system"),
    re_path(r"^(?P<resource_type>[A-Za-z]+)/_history$", HistoryView.as_view()),
    re_path(
        r"^(?P<resource_type>[A-Za-z]+)/(?P<resource_id>[^/]+)/_history$", HistoryView.as_view()
    ),
    # acute before consent: visits are Encounters with ids "visit-<n>", matched
    # first; consent serves the shared record's Encounters (hospital contacts).
    path("", include("acute.fhir_urls")),
    path("", include("acute.clinical.fhir_urls")),
    path("", include("consent.fhir_urls")),
    path("", include("consent.audit.fhir_urls")),
    path("", include("medicine_cabinet.fhir_urls")),
    path("", include("integrations.fhir_urls")),
    # Any path at all, a newline in it too (``.`` alone stops at one).
    re_path(r"^(?P<rest>(?s:.*))$", UnknownResourceView.as_view(), name="fhir-unknown"),
]
