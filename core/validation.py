"""Model validation and required text, speaking the platform's error language."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from core.errors import Conflict, InvalidInput


def full_clean_or_raise(
    instance: models.Model, *, code: str, exclude: list[str] | None = None
) -> None:
    """Run ``full_clean`` and turn Django's ValidationError into :class:`InvalidInput`
    naming the first offending field. Django's messages never echo the value."""
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            field, errors = next(iter(exc.error_dict.items()))
            message = "; ".join(str(m) for e in errors for m in e.messages)
            raise InvalidInput(code, message, field=None if field == "__all__" else field) from None
        raise InvalidInput(code, "; ".join(exc.messages)) from None


def insert_or_conflict(instance: models.Model, *, code: str, message: str) -> None:
    """Insert ``instance``; a unique constraint it breaks (someone got there
    first) becomes :class:`Conflict` and leaves the caller's transaction usable."""
    try:
        with transaction.atomic():
            instance.save(force_insert=True)
    except IntegrityError:
        raise Conflict(code, message) from None


def required_text(
    value: str, *, code: str, field: str, message: str, rule: str | None = None
) -> str:
    """``value`` stripped; blank is refused with ``code`` on ``field``."""
    cleaned = (value or "").strip()
    if not cleaned:
        raise InvalidInput(code, message, field=field, rule=rule)
    return cleaned
