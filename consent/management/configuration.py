"""The configuration the administration keeps, the one thing ``dumpdata``
writes out and ``loaddata`` reads in: organisations, staff and roles, the
formulary, the test catalogue and the stock's locations.

Deny by default: a model added later is refused by both commands until it is
named here, and nothing named here holds a citizen's data.
"""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db import models

from consent.audit.services import Purpose
from consent.services.denied import audit_denied
from core.actors import Actor

CONFIGURATION = frozenset(
    {
        "auth.Group",
        "auth.Permission",
        "clinical.TestDefinition",
        "contenttypes.ContentType",
        "core.Membership",
        "core.Organisation",
        "core.User",
        "medicine_cabinet.Location",
        "medicine_cabinet.Medicine",
    }
)


def table_label(model: type[models.Model]) -> str:
    """The label of the table a model writes to: a proxy is its concrete model."""
    concrete = model._meta.concrete_model or model
    return concrete._meta.label


def configuration_only(*, task: str, action: str, reason: str, asked: set[str], told: str) -> None:
    """Refuse, before anything is written or read out, a command asked for
    anything outside the configuration: the attempt recorded as denied
    (R9), naming the models refused and never their rows, then a
    :class:`CommandError` saying ``told`` and what may be named."""
    refused = sorted(asked - CONFIGURATION)
    if not refused:
        return
    audit_denied(
        actor=Actor.system(task),
        action=action,
        purpose=Purpose.OPERATIONS,
        reason_code=reason,
        detail={"models": refused},
    )
    raise CommandError(
        f"{told} Refused: {', '.join(refused)}. Configuration: {', '.join(sorted(CONFIGURATION))}."
    )
