"""Staff sign in through their organisation's identity provider: OpenID
Connect authorization code with PKCE against a real provider (the certified
npm ``oidc-provider``, tests/oidc/provider.mjs) on 127.0.0.1, over HTTP, as a
browser would, into the platform served live on the test database.

Every refusal is a clear Danish page and an entry in the audit log (R9)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests
from django.test import Client

from consent.audit.models import AuditEntry, Outcome
from core.models import ExternalIdentity, Membership, Organisation, Role, User
from tests import factories
from tests.oidc.provider import CLIENT_ID, CLIENT_SECRET, RunningProvider, start_provider

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

PORT = 8611  # the provider the platform trusts
ROGUE_PORT = 8612  # serves a discovery document naming another issuer
SHORT_PORT = 8613  # codes live one second
SOR = "900000111111"
HOSPITAL_SOR = "900000222222"  # known to the platform, not the test provider's
ACCOUNTS: dict[str, dict[str, Any]] = {
    "nina": {
        "name": "Nina Nielsen",
        "given_name": "Nina",
        "family_name": "Nielsen",
        "organisation_sor": SOR,
        "role": "acute_nurse",
    },
    "stranger": {"name": "Sten Fremmed", "organisation_sor": "999999999999", "role": "acute_nurse"},
    "janitor": {"name": "Jens Pedel", "organisation_sor": SOR, "role": "janitor"},
    "boss": {"name": "Bo Chef", "organisation_sor": SOR, "role": "administrator"},
    "imposter": {"name": "Ib Lånt", "organisation_sor": HOSPITAL_SOR, "role": "physician"},
}


@pytest.fixture(scope="module")
def providers(
    live_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, RunningProvider]]:
    tmp = tmp_path_factory.mktemp("oidc")
    redirect = [
        f"{live_server.url}/login/oidc/{name}/callback" for name in ("test", "rogue", "short")
    ]
    started = {
        "test": start_provider(tmp, port=PORT, redirect_uris=redirect, accounts=ACCOUNTS),
        "rogue": start_provider(
            tmp,
            port=ROGUE_PORT,
            redirect_uris=redirect,
            accounts=ACCOUNTS,
            issuer=f"http://127.0.0.1:{ROGUE_PORT}/someone-else",
        ),
        "short": start_provider(
            tmp, port=SHORT_PORT, redirect_uris=redirect, accounts=ACCOUNTS, code_ttl=1
        ),
    }
    yield started
    for provider in started.values():
        provider.stop()


@pytest.fixture
def platform(live_server: Any, providers: dict[str, RunningProvider], settings: Any) -> str:
    def conf(port: int, title: str) -> dict[str, str]:
        return {
            "title": title,
            "issuer": f"http://127.0.0.1:{port}",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "organisation_claim": "organisation_sor",
            "role_claim": "role",
            "scope": "openid profile tvaerakut",
            "organisations": SOR,
        }

    settings.OIDC_PROVIDERS = {
        "test": conf(PORT, "Testregionen"),
        "rogue": conf(ROGUE_PORT, "Falsk"),
        "short": conf(SHORT_PORT, "Kortlivet"),
    }
    factories.organisation(Organisation.Kind.ACUTE_FUNCTION, "Akutfunktionen", sor_code=SOR)
    return str(live_server.url)


def _to_callback(session: requests.Session, base: str, account: str, provider: str = "test") -> str:
    """Start at the platform, sign in at the provider (unless it still knows
    the browser), and stop at the redirect back to the platform's callback:
    its URL, not yet followed."""
    callback = f"{base}/login/oidc/{provider}/callback"
    response = session.get(f"{base}/login/oidc/{provider}/", allow_redirects=False)
    while True:
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(callback):
                return location
            response = session.get(location, allow_redirects=False)
        elif "/interaction/" in response.url and response.request.method == "GET":
            action = _found(re.search(r'action="([^"]+)"', response.text))
            response = session.post(
                urljoin(response.url, action), data={"login": account}, allow_redirects=False
            )
        else:
            raise AssertionError(f"no way back: {response.status_code} {response.text[:500]}")


def _sign_in(
    session: requests.Session, base: str, account: str, provider: str = "test"
) -> requests.Response:
    return session.get(_to_callback(session, base, account, provider))


def _refusal(response: requests.Response) -> str:
    assert response.status_code == 403, response.text[:500]
    assert "Log ind afvist" in response.text
    return _found(re.search(r'data-code="([^"]+)"', response.text))


def _audited_refusal(code: str) -> AuditEntry:
    entry = AuditEntry.objects.get(reason_code=code)
    assert entry.outcome == Outcome.DENIED
    assert entry.resource_type == "Session"
    return entry


def test_the_login_page_offers_each_provider_beside_the_password(platform: str) -> None:
    html = Client().get("/login/").content.decode()
    assert "Log ind med Testregionen" in html
    assert 'href="/login/oidc/test/"' in html
    assert 'name="password"' in html


def test_a_nurse_signs_in_and_acts_in_the_role_and_organisation_her_claims_name(
    platform: str,
) -> None:
    session = requests.Session()
    callback = _to_callback(session, platform, "nina")
    query = parse_qs(urlsplit(callback).query)
    assert query["iss"] == [f"http://127.0.0.1:{PORT}"]
    home = session.get(callback)
    assert home.status_code == 200
    assert urlsplit(home.url).path == "/"
    assert "Akutsygeplejerske" in home.text and "Akutfunktionen" in home.text

    identity = ExternalIdentity.objects.select_related("user").get(subject="nina")
    user = identity.user
    assert identity.issuer == f"http://127.0.0.1:{PORT}"
    assert (user.first_name, user.last_name) == ("Nina", "Nielsen")
    assert not (user.is_staff or user.is_superuser or user.has_usable_password())
    membership = Membership.objects.get(user=user)
    assert (membership.role, membership.organisation.sor_code) == (Role.ACUTE_NURSE, SOR)
    entry = AuditEntry.objects.get(reason_code="signin.oidc")
    assert entry.outcome == Outcome.PERMITTED
    assert (entry.actor_user_id, entry.actor_role) == (user.pk, Role.ACUTE_NURSE)

    # The next sign-in is the same person, not a new user.
    again = requests.Session()
    assert _sign_in(again, platform, "nina").status_code == 200
    assert User.objects.filter(external_identities__subject="nina").count() == 1
    assert AuditEntry.objects.filter(reason_code="signin.oidc").count() == 2


def test_an_unknown_organisation_is_refused_with_a_page_and_an_audit_entry(platform: str) -> None:
    session = requests.Session()
    response = _sign_in(session, platform, "stranger")
    assert _refusal(response) == "signin.organisation_unknown"
    assert "Din organisation er ikke kendt af platformen." in response.text
    entry = _audited_refusal("signin.organisation_unknown")
    assert entry.detail["claimed_organisation"] == "999999999999"
    assert entry.detail["subject"] == "stranger"
    assert not User.objects.exists()
    assert session.get(f"{platform}/", allow_redirects=False).status_code == 302


def test_a_provider_naming_an_organisation_it_does_not_speak_for_is_refused(
    platform: str,
) -> None:
    # The hospital is known to the platform, but the test provider speaks
    # for the acute function only: it cannot make the hospital's physicians.
    factories.organisation(Organisation.Kind.HOSPITAL, "Hospitalet", sor_code=HOSPITAL_SOR)
    session = requests.Session()
    response = _sign_in(session, platform, "imposter")
    assert _refusal(response) == "signin.organisation_not_of_provider"
    assert "taler ikke på vegne af den organisation" in response.text
    entry = _audited_refusal("signin.organisation_not_of_provider")
    assert entry.detail["claimed_organisation"] == HOSPITAL_SOR
    assert entry.detail["subject"] == "imposter"
    assert not User.objects.exists()
    assert not Membership.objects.exists()
    assert session.get(f"{platform}/", allow_redirects=False).status_code == 302


def test_an_unknown_role_or_an_administrator_claim_is_refused(platform: str) -> None:
    for account in ("janitor", "boss"):
        response = _sign_in(requests.Session(), platform, account)
        assert _refusal(response) == "signin.role_unknown"
    assert AuditEntry.objects.filter(reason_code="signin.role_unknown").count() == 2
    assert not User.objects.exists()


def test_a_withdrawn_role_stays_withdrawn(platform: str) -> None:
    assert _sign_in(requests.Session(), platform, "nina").status_code == 200
    Membership.objects.filter(user__external_identities__subject="nina").update(is_active=False)
    assert _refusal(_sign_in(requests.Session(), platform, "nina")) == "signin.role_withdrawn"
    _audited_refusal("signin.role_withdrawn")


def test_a_state_that_does_not_match_is_refused(platform: str) -> None:
    session = requests.Session()
    callback = _to_callback(session, platform, "nina")
    parts = urlsplit(callback)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query["state"] = "not-the-state-this-browser-was-given"
    response = session.get(f"{platform}{parts.path}?{urlencode(query)}")
    assert _refusal(response) == "signin.state_mismatch"
    _audited_refusal("signin.state_mismatch")
    assert not User.objects.exists()


def test_a_replayed_authorization_code_is_refused(platform: str) -> None:
    session = requests.Session()
    first = _to_callback(session, platform, "nina")
    assert session.get(first).status_code == 200
    # The same callback again: its state was spent with the first use.
    assert _refusal(session.get(first)) == "signin.state_mismatch"
    # The used code inside a fresh sign-in's state: the provider refuses it.
    fresh = urlsplit(_to_callback(session, platform, "nina"))
    query = {key: values[0] for key, values in parse_qs(fresh.query).items()}
    query["code"] = parse_qs(urlsplit(first).query)["code"][0]
    response = session.get(f"{platform}{fresh.path}?{urlencode(query)}")
    assert _refusal(response) == "signin.code_rejected"
    _audited_refusal("signin.code_rejected")


def test_an_expired_authorization_code_is_refused(platform: str) -> None:
    session = requests.Session()
    callback = _to_callback(session, platform, "nina", provider="short")
    time.sleep(2.5)
    assert _refusal(session.get(callback)) == "signin.code_rejected"
    _audited_refusal("signin.code_rejected")
    assert not User.objects.exists()


def test_a_provider_speaking_for_an_unknown_issuer_is_refused(platform: str) -> None:
    response = requests.Session().get(f"{platform}/login/oidc/rogue/")
    assert _refusal(response) == "signin.issuer_unknown"
    entry = _audited_refusal("signin.issuer_unknown")
    assert entry.detail["issuer"] == f"http://127.0.0.1:{ROGUE_PORT}"


def test_an_unknown_provider_name_is_not_found(platform: str) -> None:
    response = requests.get(f"{platform}/login/oidc/nowhere/", timeout=10)
    assert response.status_code == 404


def _found(match: re.Match[str] | None) -> str:
    assert match is not None
    return match[1]


def _callback_with(session: requests.Session, platform: str, **replace: str | None) -> Any:
    """The provider's redirect back, its query changed: ``None`` drops a parameter."""
    parts = urlsplit(_to_callback(session, platform, "nina"))
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    for key, value in replace.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return session.get(f"{platform}{parts.path}?{urlencode(query)}")


def test_a_callback_carrying_the_providers_error_is_refused(platform: str) -> None:
    session = requests.Session()
    response = _callback_with(
        session, platform, code=None, error="access_denied", error_description="no"
    )
    assert _refusal(response) == "signin.provider_error"
    _audited_refusal("signin.provider_error")
    assert not User.objects.exists()


def test_a_callback_without_a_code_or_without_a_state_is_refused(platform: str) -> None:
    """A callback without its code was a server error."""
    no_code = _callback_with(requests.Session(), platform, code=None)
    assert _refusal(no_code) == "signin.callback_invalid"
    assert "ufuldstændigt" in no_code.text
    _audited_refusal("signin.callback_invalid")
    no_state = _callback_with(requests.Session(), platform, state=None)
    assert _refusal(no_state) == "signin.state_mismatch"
    # Straight to the callback, no sign-in started in this browser.
    bare = requests.get(f"{platform}/login/oidc/test/callback", timeout=10)
    assert _refusal(bare) == "signin.state_mismatch"
    assert not User.objects.exists()


def test_the_session_is_renewed_at_sign_in_and_next_stays_on_the_platform(platform: str) -> None:
    session = requests.Session()
    session.get(f"{platform}/login/")
    before = session.cookies.get("sessionid")
    for next_url in ("//evil.example/", "/\\evil.example/", "https://evil.example/"):
        start = session.get(
            f"{platform}/login/oidc/test/", params={"next": next_url}, allow_redirects=False
        )
        assert start.is_redirect
    response = session.get(_to_callback(session, platform, "nina"), allow_redirects=False)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).netloc in ("", urlsplit(platform).netloc)
    assert session.cookies.get("sessionid") not in (None, before)
