"""Who may call the acute function's API: its roles, and different roles per
HTTP method on one URL."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from core.models import Role
from core.permissions import roles

COORDINATOR = roles(Role.COORDINATOR)
NURSE = roles(Role.ACUTE_NURSE)
CLINICAL_READERS = roles(Role.COORDINATOR, Role.ACUTE_NURSE)
REFERRERS = roles(Role.COORDINATOR, Role.PHYSICIAN, Role.HOME_NURSE)
FIGURE_READERS = roles(Role.COORDINATOR, Role.ANALYST)


def per_method(**by_method: type[BasePermission]) -> type[BasePermission]:
    """One view, different roles per HTTP method; a method not named is refused."""

    class ByMethod(BasePermission):
        message = "Your role may not use this endpoint."
        # Read by the OpenAPI description to name who may call each method.
        permission_by_method = by_method

        def has_permission(self, request: Request, view: Any) -> bool:
            allowed = by_method.get(request.method or "")
            return allowed is not None and allowed().has_permission(request, view)

    return ByMethod
