"""Units as a clinician writes them: UCUM codes are stored, these are shown."""

from __future__ import annotations

from decimal import Decimal

from django.utils import formats

UCUM_DISPLAY = {
    "Cel": "°C",
    "mm[Hg]": "mmHg",
    "/min": "/min",
    "%": "%",
    "10*9/L": "×10⁹/L",  # noqa: RUF001 - the multiplication sign
    "10*12/L": "×10¹²/L",  # noqa: RUF001 - the multiplication sign
    "umol/L": "µmol/L",
    "ug": "µg",
    "mL/min/{1.73_m2}": "mL/min/1,73 m²",
    "[iU]": "IE",
}


def unit_label(unit: str | None) -> str:
    """The unit as shown on a page and in a message (°C, not Cel)."""
    if not unit:
        return ""
    return UCUM_DISPLAY.get(unit, unit)


def number_label(value: Decimal | None) -> str:
    """A measured number as a clinician writes it, in the active language:
    no trailing zeros the column adds, a decimal comma on a Danish page
    (``3,5``, not ``3,500``; ``300``, not ``3E+2``)."""
    if value is None:
        return ""
    return formats.number_format(Decimal(f"{Decimal(value).normalize():f}"))
