"""Matched before consent's: ``Encounter/visit-<n>`` is a visit of the acute function."""

from django.urls import URLPattern, path

from acute import fhir_views as views

urlpatterns: list[URLPattern] = [
    path("ServiceRequest", views.ServiceRequestCreateView.as_view(), name="fhir-servicerequest"),
    path(
        "ServiceRequest/referral-<int:pk>",
        views.ServiceRequestReadView.as_view(),
        name="fhir-servicerequest-read",
    ),
    path("Task/visit-<int:pk>", views.TaskReadView.as_view(), name="fhir-task-read"),
    path("Encounter/visit-<int:pk>", views.EncounterReadView.as_view(), name="fhir-visit-read"),
    path(
        "Observation/vital-<int:pk>",
        views.ObservationReadView.as_view(),
        name="fhir-vital-sign-read",
    ),
]
