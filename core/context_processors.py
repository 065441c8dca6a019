from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from core.permissions import actor_from_request


def actor(request: HttpRequest) -> dict[str, Any]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"current_actor": None, "device_owner": "", "idle_seconds": 0}
    return {
        "current_actor": actor_from_request(request),
        "device_owner": device_owner(request.user.pk),
        # A page left untouched this long asks whether its session still holds
        # (core/static/core/idle.js).
        "idle_seconds": settings.SESSION_IDLE_SECONDS,
    }


def device_owner(user_id: int) -> str:
    """An opaque name for the signed-in user on this tablet: the offline queue
    and the service worker's cache belong to it, and a page showing another
    name clears them (docs/decisions/0013). Not the user id, so the tablet's
    storage tells nobody who used it."""
    return salted_hmac("tvaerakut.device-owner", str(user_id)).hexdigest()[:32]
