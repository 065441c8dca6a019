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


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("/api/acute/referrals", Role.COORDINATOR),
        ("/api/acute/visits/1/vital-signs", Role.ACUTE_NURSE),
    ],
)
@pytest.mark.parametrize("method", ["options", "put", "patch", "delete"])
def test_a_method_an_endpoint_does_not_serve_is_405_for_a_role_it_admits(
    path: str, role: str, method: str
) -> None:
    """An endpoint with different roles per method answers a method it does not
    serve as every endpoint does, not "your role may not use this endpoint"."""
    member = f.staff(role, f.acute_function())
    response = getattr(f.client_for(member), method)(path)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "request.method_not_allowed"


def test_a_role_no_method_admits_is_still_refused_and_head_is_judged_as_get() -> None:
    acute = f.acute_function()
    analyst = f.client_for(f.staff(Role.ANALYST, f.municipality()))
    assert analyst.options("/api/acute/referrals").json()["error"]["code"] == "auth.forbidden"
    assert analyst.patch("/api/acute/visits/1/vital-signs").status_code == 403
    # A physician may send a referral (POST) but not read the coordinator's list:
    # HEAD runs the list's read, so it is refused as GET is.
    physician = f.client_for(f.staff(Role.PHYSICIAN, f.gp_practice()))
    assert physician.get("/api/acute/referrals").status_code == 403
    assert physician.head("/api/acute/referrals").status_code == 403
    coordinator = f.client_for(f.staff(Role.COORDINATOR, acute))
    assert coordinator.head("/api/acute/referrals").status_code == 200
