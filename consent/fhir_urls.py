"""``/fhir/`` routes of the shared record. Record ids are digits only, so the
acute function's ``Encounter/visit-<n>`` never reaches these views."""

from django.urls import URLPattern, path, re_path

from consent import fhir_views as v

TYPES = r"(?P<resource_type>Condition|EpisodeOfCare|CarePlan|Encounter)"

urlpatterns: list[URLPattern] = [
    path("", v.TransactionView.as_view(), name="fhir-transaction"),
    path("Patient", v.PatientTypeView.as_view(), name="fhir-patient"),
    path("Patient/_search", v.PatientSearchView.as_view(), name="fhir-patient-search-post"),
    re_path(r"^Patient/(?P<citizen_id>[0-9]+)$", v.PatientInstanceView.as_view()),
    re_path(r"^Patient/(?P<citizen_id>[0-9]+)/\$everything$", v.PatientEverythingView.as_view()),
    re_path(r"^Patient/(?P<citizen_id>[0-9]+)/\$insight$", v.PatientInsightView.as_view()),
    path("Consent", v.ConsentTypeView.as_view(), name="fhir-consent"),
    re_path(r"^Consent/(?P<consent_id>[0-9]+)$", v.ConsentInstanceView.as_view()),
    re_path(r"^Consent/(?P<consent_id>[0-9]+)/\$withdraw$", v.ConsentWithdrawView.as_view()),
    re_path(rf"^{TYPES}$", v.RecordTypeView.as_view(), name="fhir-record-type"),
    re_path(rf"^{TYPES}/(?P<resource_id>[0-9]+)$", v.RecordInstanceView.as_view()),
    re_path(
        rf"^{TYPES}/(?P<resource_id>[0-9]+)/_history/(?P<vid>[0-9]+)$",
        v.RecordVersionView.as_view(),
    ),
]
