"""CSV meant to be opened in a spreadsheet (Excel, LibreOffice) in Denmark:
a UTF-8 byte order mark so æ, ø and å read right, text that cannot start a
formula, and decimals with a decimal comma."""

from __future__ import annotations

from decimal import Decimal

BOM = "\ufeff"

# A cell starting with one of these is read as a formula by spreadsheets (a
# tab or a line break first hides the = behind it from a naive check, and
# some read the full-width forms as the ASCII ones).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_text(value: str) -> str:
    """A text cell that a spreadsheet shows as text, never runs as a formula:
    also not one whose formula follows spaces (a spreadsheet that trims a
    cell's spaces on import would run it)."""
    if value[:1] in FORMULA_STARTS or value.lstrip()[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def csv_decimal(value: float | Decimal) -> str:
    """A decimal as a Danish spreadsheet reads it: ``0,75``, never ``0.75``
    (which it would take for a date or a thousands separator)."""
    exact = value if isinstance(value, Decimal) else Decimal(repr(value))
    return format(exact.normalize(), "f").replace(".", ",")
