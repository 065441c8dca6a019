from django.urls import URLPattern, path, re_path

from consent import api

urlpatterns: list[URLPattern] = [
    path("break-glass", api.BreakGlassView.as_view(), name="consent-break-glass"),
    path("analyses", api.AnalysisListView.as_view(), name="consent-analyses"),
    path(
        "analyses/runs/<id:release_id>",
        api.AnalysisAnswerView.as_view(),
        name="consent-analysis-answer",
    ),
    path(
        "analyses/runs/<id:release_id>/csv",
        api.AnalysisAnswerCsvView.as_view(),
        name="consent-analysis-answer-csv",
    ),
    re_path(
        r"^analyses/(?P<name>[a-z0-9-]+)$",
        api.AnalysisRunView.as_view(),
        name="consent-analysis-run",
    ),
    re_path(
        r"^analyses/(?P<name>[a-z0-9-]+)/csv$",
        api.AnalysisCsvRetiredView.as_view(),
        name="consent-analysis-csv",
    ),
]
