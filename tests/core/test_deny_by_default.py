"""Deny by default: a view that declares no access refuses everyone, whoever asks."""

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, get_resolver, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config import urls as project_urls
from core.middleware import SELF_GUARDED_APPS, SELF_GUARDED_MODULES, _is_api_view
from core.permissions import DenyAll, session_membership_set
from tests import factories as f

pytestmark = pytest.mark.django_db


class ForgetfulApiView(APIView):
    """Declares no permission_classes."""

    def get(self, request: Request) -> Response:
        return Response({"secret": "should never be served"})


def forgetful_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("should never be served")


urlpatterns = [
    path("forgetful-api", ForgetfulApiView.as_view()),
    path("forgetful-page", forgetful_page),
    *project_urls.urlpatterns,
]


@pytest.mark.urls("tests.core.test_deny_by_default")
@pytest.mark.parametrize("role", f.ALL_ROLES)
def test_api_view_without_declared_permission_refuses_every_role(role: str) -> None:
    client = f.client_for(f.staff(role, f.acute_function()))
    response = client.get("/forgetful-api")
    assert response.status_code == 403
    assert "secret" not in response.content.decode()


@pytest.mark.urls("tests.core.test_deny_by_default")
def test_api_view_without_declared_permission_refuses_the_anonymous() -> None:
    response = f.client_for(None).get("/forgetful-api")
    assert response.status_code in (401, 403)


@pytest.mark.urls("tests.core.test_deny_by_default")
@pytest.mark.parametrize("role", f.ALL_ROLES)
def test_page_without_declared_access_refuses_every_role(client: Any, role: str) -> None:
    membership = f.staff(role, f.acute_function())
    client.force_login(membership.user)
    session = client.session
    session_membership_set(session, membership)
    session.save()
    response = client.get("/forgetful-page")
    assert response.status_code == 403
    assert "should never be served" not in response.content.decode()


def _walk(resolver: URLResolver, prefix: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name in SELF_GUARDED_APPS:
                continue
            found.extend(_walk(entry, prefix + str(entry.pattern)))
        elif isinstance(entry, URLPattern):
            found.append((prefix + str(entry.pattern), entry.callback))
    return found


def test_every_route_of_the_platform_declares_who_may_use_it() -> None:
    undeclared = []
    for route, callback in _walk(get_resolver()):
        module = getattr(callback, "__module__", "") or ""
        if module.startswith(SELF_GUARDED_MODULES):
            continue
        if _is_api_view(callback):
            cls = callback.cls
            classes = cls.permission_classes
            if not classes or any(c is DenyAll for c in classes):
                undeclared.append(route)
        elif getattr(callback, "page_access", None) is None:
            undeclared.append(route)
    assert undeclared == []
