"""The Danish personal identification number (*CPR-nummer*).

Ten digits: DDMMYY followed by a four-digit serial whose first digit, with the
year, fixes the century. Since 2007 not every valid number passes the old
modulus-11 check, so that check is not applied. The number itself is never put
into an error message, a log line or a URL.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.errors import InvalidInput

CPR_SYSTEM = "urn:oid:1.2.208.176.1.2"


# A CPR number written in running text: ten digits, optionally DDMMYY-SSSS
# (the dash also URL-encoded), not part of a longer number; or a replacement
# CPR (DDMMYY, a digit, two letters, a digit). The logs scrub what matches.
CPR_IN_TEXT = re.compile(r"(?<!\d)(\d{6})(?:-|%2[dD])?(\d{4}|\d[A-Za-z]{2}\d)(?!\d)")


def cpr_in_text(text: str) -> bool:
    """Whether ``text`` holds anything the logs would scrub as a CPR number."""
    return CPR_IN_TEXT.search(text) is not None


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
    if len(digits) != 10 or not (digits.isascii() and digits.isdigit()):
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
    # Today in Copenhagen: a child born at 00:30 is born "today" while UTC is still yesterday.
    if birth_date > (today or timezone.localdate()):
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


# --- Replacement CPR (*erstatningspersonnummer*, eCPR) ---------------------------
#
# A person without a CPR number (a tourist, a newborn not yet registered, an
# unidentified patient) is given a replacement number: nationally by the
# Danish Health Data Authority's eCPR service (X-eCPR, one system), or
# locally by a region's patient administration (D-eCPR, one system per
# issuer under ``urn:oid:1.2.208.176.1.6.1.3.``). The formats are DK-core's
# invariants ``x-ecpr`` and ``d-ecpr``: DDMMYY, one digit saying which kind,
# two capital letters, one digit. A replacement CPR identifies a citizen as
# much as a CPR number does, and is treated the same: never in an error
# message, a log line or a URL.

X_ECPR_SYSTEM = "urn:oid:1.2.208.176.1.6.1.1"
D_ECPR_SYSTEM_PREFIX = "urn:oid:1.2.208.176.1.6.1.3."
_ECPR_DATE = (
    r"(?:(?:0[1-9]|[12][0-9]|3[01])(?:01|03|05|07|08|10|12)"
    r"|(?:0[1-9]|[12][0-9]|30)(?:04|06|09|11)"
    r"|(?:0[1-9]|[12][0-9])02)[0-9]{2}"
)
X_ECPR_PATTERN = re.compile(rf"^{_ECPR_DATE}[17][A-Z]{{2}}[0-9]$")
D_ECPR_PATTERN = re.compile(rf"^{_ECPR_DATE}[056][A-Z]{{2}}[0-9]$")
# What the database holds of any of them (the date is checked above).
REPLACEMENT_CPR_SHAPE = r"^[0-9]{7}[A-Z]{2}[0-9]$"


@dataclass(frozen=True)
class ReplacementCpr:
    """A replacement CPR: the issuing system and the ten characters."""

    system: str
    value: str


def is_replacement_cpr_system(system: object) -> bool:
    return isinstance(system, str) and (
        system == X_ECPR_SYSTEM
        or (
            system.startswith(D_ECPR_SYSTEM_PREFIX)
            and system[len(D_ECPR_SYSTEM_PREFIX) :].replace(".", "").isdigit()
        )
    )


def normalise_replacement_cpr(raw: object, system: object = X_ECPR_SYSTEM) -> ReplacementCpr:
    """The one check of a replacement CPR, wherever one comes in: the system
    is X-eCPR's or a D-eCPR issuer's, the value fits that kind's format
    (letters upper-cased, ``DDMMYY-NLLN`` accepted) and its date is a day."""
    if not is_replacement_cpr_system(system):
        raise InvalidInput(
            "replacement_cpr.system_invalid",
            "A replacement CPR is issued under the X-eCPR system "
            f"({X_ECPR_SYSTEM}) or a D-eCPR system ({D_ECPR_SYSTEM_PREFIX}<issuer>).",
            field="replacement_cpr",
            params={"x_ecpr": X_ECPR_SYSTEM, "d_ecpr": D_ECPR_SYSTEM_PREFIX},
        )
    assert isinstance(system, str)
    if not isinstance(raw, str):
        raise InvalidInput(
            "replacement_cpr.invalid",
            "The replacement CPR must be given as text.",
            field="replacement_cpr",
        )
    value = raw.strip().replace("-", "").upper()
    pattern = X_ECPR_PATTERN if system == X_ECPR_SYSTEM else D_ECPR_PATTERN
    if not pattern.match(value):
        x_ecpr = system == X_ECPR_SYSTEM
        kind, digits = ("X-eCPR", "1 or 7") if x_ecpr else ("D-eCPR", "0, 5 or 6")
        raise InvalidInput(
            "replacement_cpr.invalid",
            f"A replacement CPR has 10 characters ({kind}: DDMMYY, {digits}, two capital "
            "letters, one digit).",
            field="replacement_cpr",
            params={
                "kind": kind,
                # The seventh character, in the reader's language (core.messages).
                "digits": gettext_lazy("1 or 7") if x_ecpr else gettext_lazy("0, 5 or 6"),
            },
        )
    return ReplacementCpr(system=system, value=value)


def looks_like_replacement_cpr(raw: object) -> bool:
    """Whether a typed identifier is a replacement CPR rather than a CPR
    number (letters where a CPR number's serial has digits)."""
    if not isinstance(raw, str):
        return False
    value = raw.strip().replace("-", "").upper()
    return bool(X_ECPR_PATTERN.match(value) or D_ECPR_PATTERN.match(value))


def replacement_cpr_facts(number: ReplacementCpr, *, today: dt.date | None = None) -> CprFacts:
    """Birth date and sex as the replacement CPR carries them: the date of
    its first six digits in the latest century that puts it in the past, the
    sex from the parity of its last digit (as for a CPR number)."""
    value = number.value
    day, month, year2 = int(value[0:2]), int(value[2:4]), int(value[4:6])
    today = today or timezone.localdate()
    for century in (2000, 1900):
        try:
            birth_date = dt.date(century + year2, month, day)
        except ValueError:  # 29 February of a year that had none
            continue
        if birth_date <= today:
            return CprFacts(
                birth_date=birth_date, sex="female" if int(value[9]) % 2 == 0 else "male"
            )
    raise InvalidInput(
        "replacement_cpr.invalid",
        "The first six characters of a replacement CPR must be a past date.",
        field="replacement_cpr",
    )


def mask_replacement_cpr(value: str) -> str:
    """As a CPR number is masked: the date part, never the rest."""
    return f"{value[:6]}-XXXX"
