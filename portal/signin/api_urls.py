from django.urls import URLPattern, path

from portal.signin import api

urlpatterns: list[URLPattern] = [
    path("auth/oauth/token", api.SystemTokenView.as_view(), name="api-oauth-token"),
    path("auth/oauth/revoke", api.SystemTokenRevokeView.as_view(), name="api-oauth-revoke"),
]
