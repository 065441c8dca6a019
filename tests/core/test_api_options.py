"""OPTIONS is no operation of ``/api/``: the API is described by its schema
(``/api/schema/``), not by REST framework's description of each view, and a
path the platform does not serve is "not found" whatever the method."""

from __future__ import annotations

import pytest

from core.models import Role
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options"])
def test_an_unknown_api_path_is_not_found_whatever_the_method(method: str) -> None:
    response = getattr(f.client_for(None), method)("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_options_on_an_endpoint_describes_nothing() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    response = f.client_for(coordinator).options("/api/acute/referrals/1")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "request.method_not_allowed"
    assert "name" not in response.json()
