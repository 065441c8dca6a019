"""``/fhir/$process-message``: where partners send their messages."""

from django.urls import path

from integrations.api import ProcessMessageView

urlpatterns = [
    path("$process-message", ProcessMessageView.as_view(), name="fhir-process-message"),
]
