"""Model validation that speaks the platform's error language."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from core.errors import Conflict, InvalidInput


def full_clean_or_raise(
    instance: models.Model, *, code: str, exclude: list[str] | None = None
) -> None:
    """Run ``full_clean`` and turn Django's ValidationError into :class:`InvalidInput`
    naming the first offending field. Django's messages never echo the value;
    a database constraint's own message (which names the constraint) is
    replaced by words a client can act on."""
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            field, errors = next(iter(exc.error_dict.items()))
            messages = [m for e in errors for m in e.messages]
        else:
            field, messages = "__all__", exc.messages
        message = "; ".join(_without_constraint_names(instance, messages))
        raise InvalidInput(code, message, field=None if field == "__all__" else field) from None


def _without_constraint_names(instance: models.Model, messages: list[str]) -> list[str]:
    named = {
        constraint.name: constraint
        for constraint in instance._meta.constraints
        if isinstance(constraint, models.BaseConstraint)
    }
    plain = []
    for message in messages:
        constraint = next((c for name, c in named.items() if name in str(message)), None)
        if constraint is None:
            plain.append(str(message))
        elif isinstance(constraint, models.UniqueConstraint):
            plain.append(str(_("Another record already uses these identifiers.")))
        else:
            plain.append(str(_("The values given do not fit together.")))
    return plain


def insert_or_conflict(instance: models.Model, *, code: str, message: str) -> None:
    """Insert ``instance``; a unique constraint it breaks (someone got there
    first) becomes :class:`Conflict` and leaves the caller's transaction usable."""
    try:
        with transaction.atomic():
            instance.save(force_insert=True)
    except IntegrityError:
        raise Conflict(code, message) from None
