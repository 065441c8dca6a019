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
    """One view, different roles per HTTP method. ``HEAD`` is judged as ``GET``
    (it runs the same read). A method the view serves but does not name here is
    refused. A method it does not serve at all (``OPTIONS``, ``PATCH`` …) is
    ``405 request.method_not_allowed`` for a caller one of its methods admits,
    as on every other endpoint, never "your role may not use this endpoint";
    anyone else is refused as before."""

    class ByMethod(BasePermission):
        message = "Your role may not use this endpoint."
        # Read by the OpenAPI description to name who may call each method.
        permission_by_method = by_method

        def has_permission(self, request: Request, view: Any) -> bool:
            method = request.method or ""
            if method == "HEAD":
                method = "GET"
            allowed = by_method.get(method)
            if allowed is not None:
                return allowed().has_permission(request, view)
            served = method != "OPTIONS" and hasattr(view, method.lower())
            if served:
                return False
            return any(each().has_permission(request, view) for each in by_method.values())

    return ByMethod
