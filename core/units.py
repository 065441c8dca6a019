"""Units as a clinician writes them: UCUM codes are stored, these are shown."""

from __future__ import annotations

import re
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


# A decimal number written inside a text (``0.4`` in "0.4 mg/mL, 1 mL"): not
# part of a longer run of digits and points (a version, "1.2.3").
_DECIMAL_IN_TEXT = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?!\.?\d)")


def decimals_label(text: str | None) -> str:
    """A text kept with the machine's decimal point (a medicine's strength
    "0.4 mg/mL", an order's medicine as typed), shown with the active
    language's decimal mark: "0,4 mg/mL" on a Danish page. The stored text,
    and what the API and FHIR answer, keep the point."""
    if not text:
        return ""
    mark = str(formats.get_format("DECIMAL_SEPARATOR"))
    if mark == ".":
        return text
    return _DECIMAL_IN_TEXT.sub(lambda m: f"{m.group(1)}{mark}{m.group(2)}", text)
