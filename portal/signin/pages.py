"""``/login/oidc/<provider>/``: off to the organisation's identity provider,
and back to ``/login/oidc/<provider>/callback`` with a code to exchange."""

from __future__ import annotations

import logging

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _
from django.views.decorators.cache import never_cache
from joserfc.errors import JoseError

from core.permissions import public_page, serves
from core.services.memberships import MUNICIPALITY_LEFT, MUNICIPALITY_LEFT_MESSAGE
from core.views.signin import login_complete, safe_next
from portal.signin.providers import IdentityProvider, client_for, provider_named
from portal.signin.services import SignInClaims, SignInRefused, oidc_sign_in, sign_in_refusal_record

logger = logging.getLogger(__name__)

NEXT_KEY = "oidc_next"

# What a refused person reads; the code goes to the audit log and the page.
REFUSALS = {
    "signin.provider_unknown": _("There is no such way to sign in."),
    "signin.provider_unavailable": _(
        "Your organisation's sign-in service did not answer. Try again in a moment."
    ),
    "signin.issuer_unknown": _("The sign-in came from an issuer the platform does not trust."),
    "signin.state_mismatch": _(
        "The sign-in did not match the one started here. Start again from the login page."
    ),
    "signin.code_rejected": _(
        "The sign-in has expired or was already used. Start again from the login page."
    ),
    "signin.provider_error": _("Your organisation's sign-in service refused the sign-in."),
    "signin.callback_invalid": _(
        "The answer from your organisation's sign-in service was incomplete."
        " Start again from the login page."
    ),
    "signin.id_token_invalid": _("The sign-in could not be verified."),
    "signin.claims_missing": _(
        "Your organisation's sign-in did not say who you are, where you work and in which role."
    ),
    "signin.organisation_unknown": _("Your organisation is not one the platform knows."),
    "signin.organisation_not_of_provider": _(
        "This sign-in service does not speak for the organisation it named."
        " Sign in through your own organisation's sign-in."
    ),
    "signin.role_unknown": _("Your role is not one you can sign in to the platform with."),
    "signin.role_withdrawn": _("Your access to the platform has been withdrawn."),
    MUNICIPALITY_LEFT: MUNICIPALITY_LEFT_MESSAGE,
}


def _refused(request: HttpRequest, code: str, *, status: int = 403) -> HttpResponse:
    return render(
        request,
        "signin/refused.html",
        {"code": code, "message": gettext(REFUSALS[code])},
        status=status,
    )


def _check_issuer(provider: IdentityProvider) -> str:
    """The issuer as discovered, which must be the one configured (OpenID
    Connect Discovery 1.0, §4.3): a token can only come from whom we trust."""
    metadata = client_for(provider).load_server_metadata()
    issuer = str(metadata.get("issuer", "")).rstrip("/")
    if issuer != provider.issuer:
        raise SignInRefused("signin.issuer_unknown", REFUSALS["signin.issuer_unknown"])
    return str(metadata["issuer"])


@public_page
@never_cache
@serves("GET")
def oidc_start(request: HttpRequest, provider_name: str) -> HttpResponse:
    provider = provider_named(provider_name)
    if provider is None:
        return _refused(request, "signin.provider_unknown", status=404)
    try:
        _check_issuer(provider)
    except requests.RequestException:
        logger.warning("identity provider %s did not answer", provider.name)
        return _refused(request, "signin.provider_unavailable", status=503)
    except SignInRefused as exc:
        sign_in_refusal_record(provider=provider.name, issuer=provider.issuer, code=exc.code)
        return _refused(request, exc.code)
    next_url = request.GET.get("next", "")
    request.session[NEXT_KEY] = safe_next(next_url)
    redirect_uri = request.build_absolute_uri(reverse("oidc-callback", args=[provider.name]))
    return client_for(provider).authorize_redirect(request, redirect_uri)


@public_page
@never_cache
@serves("GET")
def oidc_callback(request: HttpRequest, provider_name: str) -> HttpResponse:
    provider = provider_named(provider_name)
    if provider is None:
        return _refused(request, "signin.provider_unknown", status=404)
    code = ""
    claims: dict[str, object] | None = None
    try:
        issuer = _check_issuer(provider)
        token = client_for(provider).authorize_access_token(
            request, claims_options={"iss": {"essential": True, "value": issuer}}
        )
        claims = dict(token.get("userinfo") or {})
        if not claims:
            raise SignInRefused("signin.id_token_invalid", "")
    except MismatchingStateError:
        code = "signin.state_mismatch"
    except OAuthError as exc:
        code = "signin.code_rejected" if exc.error == "invalid_grant" else "signin.provider_error"
    except JoseError:
        code = "signin.id_token_invalid"
    except AuthlibBaseError:
        # The callback itself malformed: no code (nor error) from the provider.
        code = "signin.callback_invalid"
    except SignInRefused as exc:
        code = exc.code
    except requests.RequestException:
        logger.warning("identity provider %s did not answer", provider.name)
        return _refused(request, "signin.provider_unavailable", status=503)
    if code:
        sign_in_refusal_record(provider=provider.name, issuer=provider.issuer, code=code)
        return _refused(request, code)
    assert claims is not None
    subject = str(claims.get("sub") or "")
    organisation = claims.get(provider.organisation_claim)
    role = claims.get(provider.role_claim)
    if not subject or not isinstance(organisation, str) or not isinstance(role, str):
        sign_in_refusal_record(
            provider=provider.name,
            issuer=provider.issuer,
            code="signin.claims_missing",
            claims={"sub": subject},
        )
        return _refused(request, "signin.claims_missing")
    try:
        membership = oidc_sign_in(
            provider=provider.name,
            claims=SignInClaims(
                issuer=provider.issuer,
                subject=subject,
                organisation=organisation,
                role=role,
                given_name=str(claims.get("given_name") or claims.get("name") or ""),
                family_name=str(claims.get("family_name") or ""),
            ),
            organisations=provider.organisations,
        )
    except SignInRefused as exc:
        return _refused(request, exc.code)
    next_url = request.session.pop(NEXT_KEY, "")
    return login_complete(request, membership=membership, next_url=next_url)
