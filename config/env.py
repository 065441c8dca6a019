"""Typed helpers that read configuration from the environment.

Each helper fails loudly, naming the variable, when a value is present but
wrong: a typo must never silently fall back to a default.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TypeVar
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(
    name: str, default: str | None = None, *, environ: Mapping[str, str] | None = None
) -> str | None:
    source = os.environ if environ is None else environ
    value = source.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    value = env_str(name, environ=environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of {sorted(_TRUE | _FALSE)}; got a value that is neither."
    )


Number = TypeVar("Number", int, Decimal)


def _within(name: str, number: Number, minimum: Number | None, maximum: Number | None) -> Number:
    """``number`` if it lies within the bounds given; else the variable is named."""
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}.")
    return number


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    value = env_str(name, environ=environ)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number.") from None
    return _within(name, number, minimum, maximum)


def env_decimal(
    name: str,
    default: Decimal,
    *,
    minimum: Decimal,
    maximum: Decimal,
    places: int,
    environ: Mapping[str, str] | None = None,
) -> Decimal:
    """A decimal number such as ``0.5``, within bounds and with at most ``places``
    decimals. Bounds are required: this reads limits, and "NaN", "Infinity", a
    decimal comma or an extra digit must stop the platform, not lift the limit."""
    value = env_str(name, environ=environ)
    if value is None:
        return default
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name} must be a decimal number such as 0.5.") from None
    if not number.is_finite():
        raise ImproperlyConfigured(f"{name} must be a decimal number such as 0.5.")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        raise ImproperlyConfigured(f"{name} must have at most {places} decimals.")
    return _within(name, number, minimum, maximum)


def env_list(
    name: str, default: list[str], *, environ: Mapping[str, str] | None = None
) -> list[str]:
    value = env_str(name, environ=environ)
    if value is None:
        return list(default)
    items = [item.strip() for item in value.split(",")]
    if any(item == "" for item in items):
        raise ImproperlyConfigured(f"{name} must be a comma-separated list without empty items.")
    return items


def env_url(
    name: str,
    default: str | None,
    *,
    schemes: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
) -> str | None:
    value = env_str(name, default, environ=environ)
    if value is None:
        return None
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in schemes or not rest:
        # The value itself may carry a password: name the variable, not the value.
        raise ImproperlyConfigured(f"{name} must be a URL starting with one of {list(schemes)}.")
    try:
        _ = urlsplit(value).port  # reading it checks it
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be a URL whose port is a number (0-65535), with any special "
            "character in a password percent-encoded."
        ) from None
    return value


def env_choice(
    name: str,
    default: str,
    *,
    choices: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
) -> str:
    value = env_str(name, default, environ=environ)
    if value is None or value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {list(choices)}.")
    return value


def is_loopback(host: str) -> bool:
    """True for an address that only this machine can reach (127.0.0.0/8, ::1,
    ``localhost``); a name or wildcard (0.0.0.0, ::) that others may reach is not."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def oidc_providers_from_env(
    *, environ: Mapping[str, str] | None = None
) -> dict[str, dict[str, str]]:
    """The identity providers staff sign in through, by name.

    ``OIDC_PROVIDERS=region,gentofte`` names them; each has ``OIDC_<NAME>_ISSUER``,
    ``_CLIENT_ID``, ``_CLIENT_SECRET`` and ``_TITLE`` (shown as "Log ind med
    <title>"), and ``_ORGANISATIONS``: the SOR codes of the organisations it
    speaks for (comma-separated). A provider names only its own staff: a
    sign-in claiming any other organisation is refused, so one organisation's
    provider never makes staff of another. Each may set
    ``_ORGANISATION_CLAIM`` (the claim carrying the organisation's SOR code),
    ``_ROLE_CLAIM`` and ``_SCOPE``.
    """
    providers: dict[str, dict[str, str]] = {}
    for name in env_list("OIDC_PROVIDERS", [], environ=environ):
        if not name.isidentifier() or not name.islower():
            raise ImproperlyConfigured("OIDC_PROVIDERS must name providers in lower-case letters.")
        prefix = f"OIDC_{name.upper()}_"
        required = {}
        for key in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET", "TITLE"):
            value = env_str(prefix + key, environ=environ)
            if value is None:
                raise ImproperlyConfigured(f"{prefix}{key} is required for provider {name}.")
            required[key.lower()] = value
        env_url(prefix + "ISSUER", None, schemes=("https", "http"), environ=environ)
        organisations = env_list(prefix + "ORGANISATIONS", [], environ=environ)
        if not organisations or not all(
            code.isascii() and code.isdigit() for code in organisations
        ):
            raise ImproperlyConfigured(
                f"{prefix}ORGANISATIONS is required for provider {name}: the SOR codes"
                " of the organisations it speaks for, comma-separated."
            )
        providers[name] = {
            **required,
            "issuer": required["issuer"].rstrip("/"),
            "organisations": ",".join(dict.fromkeys(organisations)),
            "organisation_claim": env_str(
                prefix + "ORGANISATION_CLAIM", "organisation_sor", environ=environ
            )
            or "organisation_sor",
            "role_claim": env_str(prefix + "ROLE_CLAIM", "role", environ=environ) or "role",
            "scope": env_str(prefix + "SCOPE", "openid profile", environ=environ)
            or "openid profile",
        }
    return providers
