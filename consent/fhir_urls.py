"""``/fhir/`` routes of the shared record. Record ids are digits, so the acute
function's ``Encounter/visit-<n>`` (matched first) never reaches these views."""

from django.urls import URLPattern, path, re_path

from consent import fhir_views as v

urlpatterns: list[URLPattern] = [
    path("", v.TransactionView.as_view(), name="fhir-transaction"),
    re_path(r"^Patient/(?P<citizen_id>[0-9]+)/\$everything$", v.PatientEverythingView.as_view()),
    re_path(r"^Patient/(?P<citizen_id>[0-9]+)/\$insight$", v.PatientInsightView.as_view()),
    re_path(r"^Consent/(?P<consent_id>[0-9]+)/\$withdraw$", v.ConsentWithdrawView.as_view()),
    *v.PATIENT.urls(type_view=v.PatientTypeView, instance_view=v.PatientInstanceView),
    *v.CONSENT.urls(type_view=v.ConsentTypeView),
    *(
        pattern
        for resource in v.RECORD_RESOURCES
        for pattern in resource.urls(
            type_view=v.RecordTypeView,
            instance_view=v.RecordInstanceView,
            version_view=v.RecordVersionView,
        )
    ),
]
