from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from core.permissions import actor_from_request


def actor(request: HttpRequest) -> dict[str, Any]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"current_actor": None}
    return {"current_actor": actor_from_request(request)}
