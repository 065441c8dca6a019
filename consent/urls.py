from django.urls import URLPattern, path

from consent import pages

urlpatterns: list[URLPattern] = [
    path("consent/insight/", pages.insight_find, name="consent-insight-find"),
    path("consent/insight/<id:citizen_id>/", pages.insight, name="consent-insight"),
    path("analyses/", pages.analyses_page, name="analyses"),
    path("analyses/run", pages.analysis_run_page, name="analysis-run"),
    path("analyses/runs/<id:release_id>/", pages.analysis_result_page, name="analysis-result"),
    path(
        "analyses/runs/<id:release_id>/csv",
        pages.analysis_result_csv,
        name="analysis-result-csv",
    ),
]
