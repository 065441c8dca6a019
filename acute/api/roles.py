"""Who may call the acute function's API: its roles (different roles per
HTTP method on one URL with :func:`core.permissions.per_method`)."""

from __future__ import annotations

from core.models import Role
from core.permissions import per_method as per_method
from core.permissions import roles

COORDINATOR = roles(Role.COORDINATOR)
NURSE = roles(Role.ACUTE_NURSE)
CLINICAL_READERS = roles(Role.COORDINATOR, Role.ACUTE_NURSE)
REFERRERS = roles(Role.COORDINATOR, Role.PHYSICIAN, Role.HOME_NURSE)
FIGURE_READERS = roles(Role.COORDINATOR, Role.ANALYST)
