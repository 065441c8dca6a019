from django.urls import URLPattern, path

from portal.signin import pages

urlpatterns: list[URLPattern] = [
    path("login/oidc/<slug:provider_name>/", pages.oidc_start, name="oidc-start"),
    path("login/oidc/<slug:provider_name>/callback", pages.oidc_callback, name="oidc-callback"),
]
