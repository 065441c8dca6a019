from django.urls import path

from core import api

urlpatterns = [
    path("auth/token", api.TokenView.as_view(), name="api-token"),
    path("auth/logout", api.TokenRevokeView.as_view(), name="api-logout"),
    path("auth/whoami", api.WhoAmIView.as_view(), name="api-whoami"),
]
