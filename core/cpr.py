"""The Danish personal identification number (*CPR-nummer*).

Ten digits: DDMMYY followed by a four-digit serial whose first digit, with the
year, fixes the century. Since 2007 not every valid number passes the old
modulus-11 check, so that check is not applied. The number itself is never put
into an error message, a log line or a URL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.errors import InvalidInput

CPR_SYSTEM = "urn:oid:1.2.208.176.1.2"


@dataclass(frozen=True)
class CprFacts:
    birth_date: dt.date
    sex: str  # "male" | "female", from the parity of the last digit


def _century(year2: int, seventh: int) -> int:
    if seventh <= 3:
        return 1900
    if seventh in (4, 9):
        return 2000 if year2 <= 36 else 1900
    return 2000 if year2 <= 57 else 1800


def normalise_cpr(raw: object) -> str:
    """Return the ten digits, accepting the usual ``DDMMYY-SSSS`` form."""
    if not isinstance(raw, str):
        raise InvalidInput("cpr.invalid", "The CPR number must be given as text.", field="cpr")
    digits = raw.strip().replace("-", "")
    if len(digits) != 10 or not digits.isdigit():
        raise InvalidInput(
            "cpr.invalid", "A CPR number has exactly 10 digits (DDMMYY-SSSS).", field="cpr"
        )
    return digits


def cpr_facts(raw: object, *, today: dt.date | None = None) -> CprFacts:
    digits = normalise_cpr(raw)
    day, month, year2 = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    year = _century(year2, int(digits[6])) + year2
    try:
        birth_date = dt.date(year, month, day)
    except ValueError:
        raise InvalidInput(
            "cpr.invalid", "The first six digits of a CPR number must be a valid date.", field="cpr"
        ) from None
    if birth_date > (today or dt.date.today()):
        raise InvalidInput(
            "cpr.invalid", "The CPR number's birth date lies in the future.", field="cpr"
        )
    return CprFacts(birth_date=birth_date, sex="female" if int(digits[9]) % 2 == 0 else "male")


def validate_cpr(raw: object) -> str:
    """Validate and return the normalised ten digits."""
    cpr_facts(raw)
    return normalise_cpr(raw)


def mask_cpr(cpr: str) -> str:
    """What most screens show: the birth date part, never the serial."""
    return f"{cpr[:6]}-XXXX"
