"""FHIR date search parameters (``date=ge2024-01-01``, ``birthdate=1940``): the
comparator in front of a value, and a field compared with the range of time
the value stands for."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")


def date_prefix(value: str) -> tuple[str, str]:
    """The comparator and the date it compares with; ``eq`` when none is given."""
    if value[:2] in DATE_PREFIXES:
        return value[:2], value[2:]
    return "eq", value


def compared(field: str, prefix: str, start: Any, end: Any) -> Q:
    """``field`` compared with the range [start, end) a date value stands for:
    ``eq`` inside it, ``ne`` outside it, ``gt``/``sa`` after it, ``lt``/``eb``
    before it, ``ge`` from its start, ``le`` up to its end."""
    inside = Q(**{f"{field}__gte": start, f"{field}__lt": end})
    after = Q(**{f"{field}__gte": end})
    before = Q(**{f"{field}__lt": start})
    return {
        "eq": inside,
        "ne": ~inside,
        "gt": after,
        "sa": after,
        "lt": before,
        "eb": before,
        "ge": Q(**{f"{field}__gte": start}),
        "le": Q(**{f"{field}__lt": end}),
    }[prefix]
