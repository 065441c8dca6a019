"""The configured identity providers as Authlib clients: discovery from the
issuer's ``.well-known/openid-configuration``, PKCE (S256), state and nonce."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.conf import settings

# Discovery and keys are read again after this long, so that a provider's
# rotated keys and endpoints are picked up without a restart.
METADATA_MAX_AGE_SECONDS = 3600


@dataclass(frozen=True)
class IdentityProvider:
    name: str
    title: str
    issuer: str
    client_id: str
    client_secret: str
    organisation_claim: str
    role_claim: str
    scope: str
    # The SOR codes of the organisations it speaks for: it signs in their
    # staff and no one else's (config/env.py, ``OIDC_<NAME>_ORGANISATIONS``).
    organisations: frozenset[str]

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"


def provider_named(name: str) -> IdentityProvider | None:
    conf = settings.OIDC_PROVIDERS.get(name)
    if conf is None:
        return None
    return IdentityProvider(
        name=name,
        title=conf["title"],
        issuer=conf["issuer"].rstrip("/"),
        client_id=conf["client_id"],
        client_secret=conf["client_secret"],
        organisation_claim=conf.get("organisation_claim", "organisation_sor"),
        role_claim=conf.get("role_claim", "role"),
        scope=conf.get("scope", "openid profile"),
        organisations=frozenset(code for code in conf.get("organisations", "").split(",") if code),
    )


_clients: dict[IdentityProvider, tuple[float, DjangoOAuth2App]] = {}
_lock = threading.Lock()


def client_for(provider: IdentityProvider) -> DjangoOAuth2App:
    now = time.monotonic()
    with _lock:
        cached = _clients.get(provider)
        if cached is not None and now - cached[0] < METADATA_MAX_AGE_SECONDS:
            return cached[1]
        client: Any = OAuth().register(
            provider.name,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            server_metadata_url=provider.discovery_url,
            client_kwargs={
                "scope": provider.scope,
                "code_challenge_method": "S256",
                "default_timeout": settings.OIDC_HTTP_TIMEOUT_SECONDS,
            },
        )
        _clients[provider] = (now, client)
        return client
