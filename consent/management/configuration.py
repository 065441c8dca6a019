"""The configuration the administration keeps, the one thing ``dumpdata``
writes out and ``loaddata`` reads in: organisations, staff and roles, the
formulary, the test catalogue and the stock's locations.

Deny by default: a model added later is refused by both commands until it is
named here, and nothing named here holds a citizen's data.
"""

from __future__ import annotations

from django.db import models

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
