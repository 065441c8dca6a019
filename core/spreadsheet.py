"""CSV meant to be opened in a spreadsheet (Excel, LibreOffice) in Denmark:
a UTF-8 byte order mark so æ, ø and å read right, text that cannot start a
formula, and decimals with a decimal comma."""

from __future__ import annotations

from decimal import Decimal

BOM = "\ufeff"

# A cell starting with one of these is read as a formula by spreadsheets (a
# tab or carriage return first hides the = behind it from a naive check).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """A text cell that a spreadsheet shows as text, never runs as a formula."""
    return "'" + value if value[:1] in FORMULA_STARTS else value


def csv_decimal(value: float | Decimal) -> str:
    """A decimal as a Danish spreadsheet reads it: ``0,75``, never ``0.75``
    (which it would take for a date or a thousands separator)."""
    exact = value if isinstance(value, Decimal) else Decimal(repr(value))
    return format(exact.normalize(), "f").replace(".", ",")
