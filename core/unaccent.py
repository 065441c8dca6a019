"""Text "normalized by case and accent", as FHIR R4's string search compares
a name with what was searched (José is Jose, Sørensen Sorensen, Kjær Kjaer).

PostgreSQL's ``unaccent`` extension does it in the database (migration
``consent/0011_unaccent``). SQLite, the embedded default for trying the
platform out, gets a function of the same name with the same rules for the
letters a Danish register holds (:func:`unaccented`), registered on each new
connection, so a search finds the same citizens on both. Its result is plain
ASCII for those letters, which SQLite's ``LIKE`` compares without case.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db.models import CharField, Func

# Letters that are no letter plus an accent, written as PostgreSQL's
# unaccent rules write them.
_LETTERS = str.maketrans(
    {
        "Æ": "AE",
        "æ": "ae",
        "Ø": "O",
        "ø": "o",
        "Œ": "OE",
        "œ": "oe",
        "ß": "ss",
        "Đ": "D",
        "đ": "d",
        "Ł": "L",
        "ł": "l",
        "Þ": "TH",
        "þ": "th",
    }
)


def unaccented(text: str | None) -> str | None:
    """``text`` without its accents: each letter as its base letter, and the
    letters of :data:`_LETTERS` as PostgreSQL writes them."""
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class Unaccent(Func):
    """``unaccent(expression)`` in SQL, on PostgreSQL and SQLite alike."""

    function = "unaccent"
    output_field = CharField()


def register_on_sqlite(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created``: SQLite's ``unaccent``, as PostgreSQL's."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("unaccent", 1, unaccented, deterministic=True)
