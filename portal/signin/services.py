"""Who a sign-in through an identity provider is, and in which role; tokens
for systems. Every outcome, allowed or refused, is in the audit log (R9)."""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from consent.audit.services import Action, Outcome, Purpose, audit_record
from core.actors import Actor
from core.catchment import withdrawn_municipality
from core.errors import PlatformError
from core.logging import scrub
from core.middleware import SIGN_OUT_PENDING_ATTRIBUTE, session_idle_seconds
from core.models import (
    ApiToken,
    ExternalIdentity,
    Membership,
    Organisation,
    Role,
    SystemClient,
    User,
    hash_token,
)
from core.permissions import SESSION_MEMBERSHIP_KEY, actor_from_request
from core.scopes import parse_scopes
from core.services.memberships import MUNICIPALITY_LEFT, MUNICIPALITY_LEFT_MESSAGE
from core.validation import full_clean_or_raise, insert_or_conflict

SIGN_IN_TASK = "sign-in"
SYSTEM_GRANT_TASK = "system-client-credentials"
ADMINISTRATION_TASK = "administration"
# A claim may name any role but these: an administrator is made by hand, never by a claim.
ROLES_FROM_CLAIMS = frozenset(Role.values) - {Role.ADMINISTRATOR}
_SAFE_VALUE = re.compile(r"^[\w.:@/+-]{1,100}$")


class SignInRefused(PlatformError):
    """A sign-in the platform does not accept; ``code`` says why."""

    kind = "unauthenticated"


def _safe(value: object) -> str:
    """A claim's value fit for the audit log: short, plain, no CPR number."""
    text = str(value) if value is not None else ""
    return scrub(text) if _SAFE_VALUE.match(text) else "(unreadable)"


def sign_in_refusal_record(
    *, provider: str, issuer: str, code: str, claims: dict[str, Any] | None = None
) -> None:
    """A refused sign-in, in the audit log with what the provider claimed."""
    detail: dict[str, Any] = {"provider": provider, "issuer": issuer}
    if claims:
        detail["subject"] = _safe(claims.get("sub"))
        for key, value in claims.items():
            if key in ("organisation", "role"):
                detail[f"claimed_{key}"] = _safe(value)
    _session_refusal_record(code, detail)


def _session_record(
    *,
    actor: Actor,
    code: str,
    detail: dict[str, Any],
    action: str = Action.CREATE,
    outcome: str = Outcome.PERMITTED,
) -> None:
    """A session begun, refused or ended, in the audit log (no citizen)."""
    audit_record(
        actor=actor,
        action=action,
        purpose=Purpose.OPERATIONS,
        citizen_id=None,
        outcome=outcome,
        resource_type="Session",
        reason_code=code,
        detail=detail,
    )


def _session_refusal_record(code: str, detail: dict[str, Any]) -> None:
    """A sign-in refused, in the audit log as a denied attempt at a session."""
    _session_record(
        actor=Actor.system(SIGN_IN_TASK), code=code, detail=detail, outcome=Outcome.DENIED
    )


def login_lockout_record(
    sender: object, *, username: str, code: str, client_address: str | None, **kwargs: Any
) -> None:
    """A password login (page, API or admin) refused for earlier failures, in
    the audit log: who was being tried and from where (connected to
    ``core.services.signals.login_locked_out``)."""
    _session_refusal_record(
        code, {"username": _safe(username), "client_address": client_address or ""}
    )


def login_refusal_record(
    sender: object, *, username: str, code: str, client_address: str | None, **kwargs: Any
) -> None:
    """A password login refused — a wrong username, password or code — in the
    audit log like a lockout (connected to ``core.services.signals.login_refused``)."""
    _session_refusal_record(
        code, {"username": _safe(username), "client_address": client_address or ""}
    )


def password_login_record(
    sender: object,
    *,
    membership: Membership,
    door: str,
    client_address: str | None,
    **kwargs: Any,
) -> None:
    """A password login (with its code) that succeeded, in the audit log like a
    sign-in through an identity provider (connected to
    ``core.services.signals.password_login_succeeded``)."""
    _session_record(
        actor=Actor.for_membership(membership),
        code="signin.password",
        detail={"door": door, "client_address": client_address or ""},
    )


SIGN_OUT_CODE = "signout"
IDLE_SIGN_OUT_CODE = "signout.idle"


def _sign_out_record(*, actor: Actor, code: str, detail: dict[str, Any]) -> None:
    _session_record(actor=actor, code=code, detail=detail, action=Action.DELETE)


def session_sign_out_record(
    sender: object, *, request: HttpRequest | None, user: User | None, **kwargs: Any
) -> None:
    """A session ended — logged out on a page or in the admin, or ended by the
    idle timeout — in the audit log, by the user whose session it was in the
    role it acted in (connected to Django's ``user_logged_out``, which every
    logout sends before the session is emptied)."""
    if user is None or user.pk is None:
        return
    session = getattr(request, "session", None)
    membership_id = session.get(SESSION_MEMBERSHIP_KEY) if session is not None else None
    # The role the session acted in, even one switched off meanwhile: one
    # query, and only when a session ends.
    membership = (
        Membership.objects.select_related("organisation")
        .filter(pk=membership_id, user=user)
        .first()
        if isinstance(membership_id, int)
        else None
    )
    actor = Actor(user=user, membership=membership)
    idle = session_idle_seconds(session, now=time.time()) if session is not None else None
    # A logout made on the tablet without a connection arrives late: it is
    # still hers, not the idle timeout's (core.middleware.PendingSignOutMiddleware).
    if idle is not None and not getattr(request, SIGN_OUT_PENDING_ATTRIBUTE, False):
        _sign_out_record(actor=actor, code=IDLE_SIGN_OUT_CODE, detail={"idle_seconds": int(idle)})
        return
    match = getattr(request, "resolver_match", None)
    door = "admin" if match is not None and "admin" in match.namespaces else "page"
    _sign_out_record(actor=actor, code=SIGN_OUT_CODE, detail={"door": door})


def token_sign_out_record(
    sender: object, *, membership: Membership, idle_seconds: int | None = None, **kwargs: Any
) -> None:
    """A bearer token revoked by its holder (the API's logout), or ended
    unused past its idle limit, in the audit log like a session's logout or
    idle end (connected to ``core.services.signals.token_signed_out``)."""
    if idle_seconds is not None:
        _sign_out_record(
            actor=Actor.for_membership(membership),
            code=IDLE_SIGN_OUT_CODE,
            detail={"door": "api", "idle_seconds": idle_seconds},
        )
        return
    _sign_out_record(
        actor=Actor.for_membership(membership), code=SIGN_OUT_CODE, detail={"door": "api"}
    )


ADMINISTRATION_CHANGE_CODE = "admin.change"


def administration_change_record(
    sender: type, *, request: HttpRequest, obj: Any, action: str, change: Any, **kwargs: Any
) -> None:
    """A change the administration made to who may act — a user and her
    roles, an organisation, a code app — in the audit log by the
    administrator who made it, in the change's own transaction (connected to
    ``core.services.signals.administration_changed``)."""
    audit_record(
        actor=actor_from_request(request) or Actor.system(ADMINISTRATION_TASK),
        action={"create": Action.CREATE, "delete": Action.DELETE}.get(action, Action.UPDATE),
        purpose=Purpose.OPERATIONS,
        citizen_id=None,
        resource_type=sender.__name__,
        reason_code=ADMINISTRATION_CHANGE_CODE,
        detail={"object_id": obj.pk, "change": change if isinstance(change, list) else []},
    )


@dataclass(frozen=True)
class SignInClaims:
    issuer: str
    subject: str
    organisation: str
    role: str
    given_name: str
    family_name: str


def _refuse(claims: SignInClaims, *, provider: str, code: str, message: str) -> SignInRefused:
    sign_in_refusal_record(
        provider=provider,
        issuer=claims.issuer,
        code=code,
        claims={"sub": claims.subject, "organisation": claims.organisation, "role": claims.role},
    )
    return SignInRefused(code, message)


def oidc_sign_in(
    *, provider: str, claims: SignInClaims, organisations: frozenset[str]
) -> Membership:
    """The membership a person signs in to, from the ID token's claims.

    The organisation (by SOR code) and the role must be ones the platform
    knows, and the organisation one of ``organisations``, those the provider
    is trusted to speak for: a provider never makes staff of an organisation
    that is not its own. A person seen for the first time becomes a user with
    no password, never staff or superuser. A membership an administrator has
    switched off stays off.
    """
    organisation = (
        Organisation.objects.filter(sor_code=claims.organisation, is_active=True).first()
        if claims.organisation
        else None
    )
    if organisation is None:
        raise _refuse(
            claims,
            provider=provider,
            code="signin.organisation_unknown",
            message="Your organisation is not one the platform knows.",
        )
    if organisation.sor_code not in organisations:
        raise _refuse(
            claims,
            provider=provider,
            code="signin.organisation_not_of_provider",
            message=(
                "This sign-in service does not speak for the organisation it named."
                " Sign in through your own organisation's sign-in."
            ),
        )
    if withdrawn_municipality(organisation) is not None:
        # Its staff would be refused every citizen's data at the gate.
        raise _refuse(
            claims,
            provider=provider,
            code=MUNICIPALITY_LEFT,
            message=MUNICIPALITY_LEFT_MESSAGE,
        )
    if claims.role not in ROLES_FROM_CLAIMS:
        raise _refuse(
            claims,
            provider=provider,
            code="signin.role_unknown",
            message="Your role is not one you can sign in to the platform with.",
        )
    with transaction.atomic():
        identity = (
            ExternalIdentity.objects.select_for_update()
            .select_related("user")
            .filter(issuer=claims.issuer, subject=claims.subject)
            .first()
        )
        if identity is None:
            user = User(
                username=_new_username(provider),
                first_name=claims.given_name[:150],
                last_name=claims.family_name[:150],
                is_staff=False,
                is_superuser=False,
            )
            user.set_unusable_password()
            user.save()
            identity = ExternalIdentity.objects.create(
                issuer=claims.issuer, subject=claims.subject, user=user
            )
        user = identity.user
        membership, created = Membership.objects.get_or_create(
            user=user,
            organisation=organisation,
            role=claims.role,
            defaults={"is_default": not user.memberships.filter(is_default=True).exists()},
        )
        membership.user = user
        membership.organisation = organisation
        if membership.in_force():
            identity.last_sign_in_at = timezone.now()
            identity.save(update_fields=["last_sign_in_at"])
            _session_record(
                actor=Actor.for_membership(membership),
                code="signin.oidc",
                detail={"provider": provider, "issuer": claims.issuer, "new_role": created},
            )
            return membership
    raise _refuse(
        claims,
        provider=provider,
        code="signin.role_withdrawn",
        message="Your access to the platform has been withdrawn.",
    )


def _new_username(provider: str) -> str:
    return f"{provider}-{secrets.token_hex(6)}"[:150]


# --- Systems: OAuth 2.0 client credentials ---------------------------------


class TokenRefused(PlatformError):
    """An OAuth token request refused; ``oauth_error`` is RFC 6749's name for it."""

    kind = "invalid"

    def __init__(self, oauth_error: str, code: str, message: str, *, status: int = 400):
        super().__init__(code, message)
        self.oauth_error = oauth_error
        self.status = status


def system_client_register(
    *, client_id: str, name: str, membership: Membership, scopes: str
) -> tuple[SystemClient, str]:
    """A system that may ask for tokens, and its secret (shown once, kept as a hash)."""
    if membership.role == Role.ADMINISTRATOR:
        raise TokenRefused(
            "invalid_request", "system.role", "A system cannot act as administrator."
        )
    if parse_scopes(scopes) is None:
        raise TokenRefused(
            "invalid_scope", "system.scope_invalid", "The scopes are not SMART system scopes."
        )
    secret = secrets.token_urlsafe(32)
    client = SystemClient(
        client_id=client_id,
        name=name,
        membership=membership,
        scopes=" ".join(scopes.split()),
        secret_hash=hash_token(secret),
    )
    # A client id already registered is refused on its field (409
    # system.client_id_taken), by the model's validation or, registered
    # meanwhile, by the database: never a second system under the same id.
    full_clean_or_raise(client, code="system.invalid")
    insert_or_conflict(client, code="system.invalid", message="The system could not be registered.")
    return client, secret


def _system_refusal(
    *,
    client: SystemClient | None,
    client_id: str,
    oauth_error: str,
    code: str,
    message: str,
    status: int = 400,
) -> TokenRefused:
    audit_record(
        actor=Actor.system(
            SYSTEM_GRANT_TASK,
            on_behalf_of=Actor.for_membership(client.membership) if client else None,
        ),
        action=Action.CREATE,
        purpose=Purpose.OPERATIONS,
        citizen_id=None,
        outcome=Outcome.DENIED,
        resource_type="Token",
        reason_code=code,
        detail={"client_id": _safe(client_id)},
    )
    return TokenRefused(oauth_error, code, message, status=status)


def _client_authenticated(*, client_id: str, client_secret: str) -> SystemClient:
    """The registered system with this id and secret; refused (and recorded) otherwise."""
    client = (
        SystemClient.objects.select_related("membership__user", "membership__organisation")
        .filter(client_id=client_id)
        .first()
    )
    given = hash_token(client_secret)
    if client is None or not hmac.compare_digest(given, client.secret_hash):
        raise _system_refusal(
            client=None,
            client_id=client_id,
            oauth_error="invalid_client",
            code="oauth.invalid_client",
            message="Unknown client or wrong secret.",
            status=401,
        )
    return client


def system_token_issue(*, client_id: str, client_secret: str, scope: str) -> tuple[str, int, str]:
    """A short-lived bearer token for a registered system: (token, seconds, scopes).

    The scopes asked for must each be among those the system was registered
    with; none asked for means all of them.
    """
    client = _client_authenticated(client_id=client_id, client_secret=client_secret)
    membership = client.membership
    if not (client.is_active and membership.in_force()):
        raise _system_refusal(
            client=client,
            client_id=client_id,
            oauth_error="invalid_client",
            code="oauth.client_inactive",
            message="This client may no longer ask for tokens.",
            status=401,
        )
    registered = set(client.scopes.split())
    # Scopes as RFC 6749 §3.3 has them: a set, however they were spaced or repeated.
    asked = list(dict.fromkeys(scope.split())) or sorted(registered)
    if parse_scopes(" ".join(asked)) is None or not set(asked) <= registered:
        raise _system_refusal(
            client=client,
            client_id=client_id,
            oauth_error="invalid_scope",
            code="oauth.invalid_scope",
            message="The scope asks for more than this client was registered with.",
        )
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    granted = " ".join(asked)
    ttl = settings.SYSTEM_TOKEN_TTL_SECONDS
    with transaction.atomic():
        ApiToken.objects.create(
            key_hash=hash_token(raw),
            membership=membership,
            system_client=client,
            scopes=granted,
            created_at=now,
            expires_at=now + dt.timedelta(seconds=ttl),
        )
        audit_record(
            actor=Actor.system(SYSTEM_GRANT_TASK, on_behalf_of=Actor.for_membership(membership)),
            action=Action.CREATE,
            purpose=Purpose.OPERATIONS,
            citizen_id=None,
            resource_type="Token",
            reason_code="oauth.client_credentials",
            detail={"client_id": client.client_id, "scope": granted},
        )
    return raw, ttl, granted


def system_token_revoke(*, client_id: str, client_secret: str, token: str) -> None:
    """RFC 7009: the system revokes a token it was issued. The client must
    authenticate; a token that is unknown, already ended or another's is
    answered the same (nothing said about it) and left as it is. A
    revocation is recorded in the audit log."""
    client = _client_authenticated(client_id=client_id, client_secret=client_secret)
    with transaction.atomic():
        revoked = ApiToken.objects.filter(
            key_hash=hash_token(token), system_client=client, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        if revoked:
            audit_record(
                actor=Actor.system(
                    SYSTEM_GRANT_TASK, on_behalf_of=Actor.for_membership(client.membership)
                ),
                action=Action.UPDATE,
                purpose=Purpose.OPERATIONS,
                citizen_id=None,
                resource_type="Token",
                reason_code="oauth.token_revoked",
                detail={"client_id": client.client_id},
            )
