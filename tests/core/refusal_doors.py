"""What the tests of refused doors (``/api/`` and pages) share: an id no
object has, the newest audit entry, a route's twin naming nothing, the
facts a denied entry records, and the routes a resolver serves."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.urls import URLPattern, URLResolver

from consent.audit.models import AuditEntry

NOWHERE = 987654321  # an id no object has


def newest() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def entries_after(before: int) -> list[tuple[Any, ...]]:
    """Who was refused what, on whom, for each entry written after ``before``."""
    return [
        (
            e.citizen_id,
            e.outcome,
            e.reason_code,
            e.actor_user_id,
            e.actor_role,
            e.actor_organisation_id,
            e.resource_type,
            e.action,
            e.purpose,
        )
        for e in AuditEntry.objects.filter(pk__gt=before)
    ]


def role_refused(citizen_id: int, member: Any, door: Any) -> tuple[Any, ...]:
    """The entry :func:`entries_after` reads for ``member`` refused by role at
    ``door`` (an endpoint or a page: its resource type, action and purpose)."""
    return (
        citizen_id,
        "denied",
        "role_not_permitted",
        member.user_id,
        member.role,
        member.organisation_id,
        door.resource_type,
        door.action,
        door.purpose,
    )


def nowhere_instead(url: str, pks: Iterable[int]) -> str:
    """The same route naming objects that do not exist."""
    for pk in pks:
        url = url.replace(f"/{pk}/", f"/{NOWHERE}/")
        if url.endswith(f"/{pk}"):
            url = url[: -len(str(pk))] + str(NOWHERE)
    return url


def routes(
    resolver: URLResolver, view_of: Callable[[Any], Any], prefix: str = ""
) -> list[tuple[str, Any]]:
    """Each route the resolver serves whose callback ``view_of`` names a view
    (None: not one of those looked for)."""
    found: list[tuple[str, Any]] = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            found.extend(routes(entry, view_of, prefix + str(entry.pattern)))
        elif isinstance(entry, URLPattern) and (view := view_of(entry.callback)) is not None:
            found.append((prefix + str(entry.pattern), view))
    return found
