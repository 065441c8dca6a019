from django.urls import path

from medicine_cabinet.fhir_views import (
    MedicationAdministrationReadView,
    MedicationAdministrationSearchView,
)

urlpatterns = [
    path(
        "MedicationAdministration",
        MedicationAdministrationSearchView.as_view(),
        name="fhir-medication-administration-search",
    ),
    path(
        "MedicationAdministration/<str:administration_id>",
        MedicationAdministrationReadView.as_view(),
        name="fhir-medication-administration-read",
    ),
]
