"""Matched before consent's: ``Encounter/visit-<n>`` is a visit of the acute function."""

from django.urls import URLPattern, path

from acute import fhir_views as views

urlpatterns: list[URLPattern] = [
    path("ServiceRequest", views.ServiceRequestCreateView.as_view(), name="fhir-servicerequest"),
    *(pattern for resource in views.RESOURCES for pattern in resource.urls()),
]
