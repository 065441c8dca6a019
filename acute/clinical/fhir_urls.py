from django.urls import path

from acute.clinical import fhir_views as views

urlpatterns = [
    path("Observation/lab-<int:pk>", views.ObservationRead.as_view(), name="fhir-lab-observation"),
    path("Observation", views.ObservationSearch.as_view(), name="fhir-lab-observation-search"),
    path("Procedure/<int:pk>", views.ProcedureRead.as_view(), name="fhir-procedure"),
    path("Procedure", views.ProcedureSearch.as_view(), name="fhir-procedure-search"),
    path(
        "MedicationRequest/<int:pk>",
        views.MedicationRequestRead.as_view(),
        name="fhir-medication-request",
    ),
    path(
        "MedicationRequest",
        views.MedicationRequestSearch.as_view(),
        name="fhir-medication-request-search",
    ),
]
