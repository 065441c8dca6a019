"""A municipality that has left the acute function (README, "Leaving"): its
staff are refused every citizen's data at the gate, so no sign-in in its name
is begun, by any door, with a clear Danish sentence and an entry in the audit
log; a role elsewhere is still chosen."""

from __future__ import annotations

import pytest

from consent.audit.models import AuditEntry
from core.models import ApiToken, Membership, Role, User
from portal.signin.services import SignInClaims, SignInRefused, oidc_sign_in
from tests import factories as f

pytestmark = pytest.mark.django_db

CODE = "auth.municipality_not_participating"
DANISH = "Din kommune deltager ikke længere i den tværkommunale akutfunktion"


def _left(code: str = "157") -> None:
    municipality = f.municipality(code)
    municipality.participates = False
    municipality.save(update_fields=["participates"])


def _refusals() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(reason_code=CODE, outcome="denied"))


def _token(api_client, user: User, **extra: object):
    return api_client.post(
        "/api/auth/token",
        {"username": user.username, "password": f.PASSWORD, "otp": f.totp_code(user), **extra},
        format="json",
    )


def test_a_home_nurse_of_a_municipality_that_left_gets_no_token(api_client) -> None:
    nurse = f.staff(Role.HOME_NURSE, f.home_nursing("157"))
    f.totp_device(nurse.user)
    _left("157")
    response = _token(api_client, nurse.user)
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == CODE
    assert error["message"].startswith(DANISH)
    [entry] = _refusals()
    assert entry.detail["username"] == nurse.user.username
    assert not ApiToken.objects.filter(membership=nurse).exists()


def test_the_page_login_refuses_her_before_the_code(client) -> None:
    nurse = f.staff(Role.HOME_NURSE, f.home_nursing("159"))
    f.totp_device(nurse.user)
    _left("159")
    response = client.post("/login/", {"username": nurse.user.username, "password": f.PASSWORD})
    assert response.status_code == 403
    assert DANISH in response.content.decode()
    assert client.get("/login/code/").status_code == 302  # no sign-in under way
    assert len(_refusals()) == 1


def test_a_role_elsewhere_is_still_chosen_and_the_left_one_not_offered(api_client) -> None:
    """A nurse also working for the joint function signs in there; asking for
    the role in the municipality that left is refused as such."""
    home = f.staff(Role.HOME_NURSE, f.home_nursing("173"))
    acute = Membership.objects.create(
        user=home.user, organisation=f.acute_function(), role=Role.ACUTE_NURSE
    )
    f.totp_device(home.user)
    _left("173")
    assert home.is_default  # the default is passed over
    response = _token(api_client, home.user)
    assert response.status_code == 201, response.content
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    assert api_client.get("/api/auth/whoami").json()["role"] == Role.ACUTE_NURSE
    api_client.credentials()
    asked = _token(api_client, home.user, organisation=home.organisation_id, role=Role.HOME_NURSE)
    assert asked.status_code == 403
    assert asked.json()["error"]["code"] == CODE
    assert acute.pk != home.pk


def test_the_role_switch_refuses_a_role_of_a_municipality_that_left(client) -> None:
    acute = f.staff(Role.ACUTE_NURSE, f.acute_function())
    home = Membership.objects.create(
        user=acute.user, organisation=f.home_nursing("230"), role=Role.HOME_NURSE
    )
    assert f.log_in(client, acute).status_code == 302
    _left("230")
    assert home.organisation.name not in client.get("/").content.decode()
    refused = client.post("/role/", {"membership": home.pk})
    assert refused.status_code == 400
    assert client.get("/api/auth/whoami").json()["role"] == Role.ACUTE_NURSE


def test_an_organisations_sign_in_for_a_municipality_that_left_is_refused_and_recorded() -> None:
    unit = f.home_nursing("157")
    unit.sor_code = "987654321012"
    unit.save(update_fields=["sor_code"])
    _left("157")
    claims = SignInClaims(
        issuer="http://127.0.0.1:8259",
        subject="home-1",
        organisation="987654321012",
        role=Role.HOME_NURSE,
        given_name="Hanne",
        family_name="Holm",
    )
    with pytest.raises(SignInRefused) as refused:
        oidc_sign_in(provider="test", claims=claims, organisations=frozenset({"987654321012"}))
    assert refused.value.code == CODE
    assert len(_refusals()) == 1
    assert not User.objects.filter(first_name="Hanne").exists()  # nobody made for it
