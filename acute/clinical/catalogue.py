"""Reading the test catalogue: reference intervals, interpretation, plausibility.

Pure functions over :class:`TestDefinition`; no database writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from acute.clinical.models import LabResult, TestDefinition
from core.errors import InvalidInput
from core.messages import label
from core.validation import DecimalBounds, decimal_parse

# Spellings of a catalogue unit that mean the same thing (UCUM is case-sensitive,
# tablets are not always): accepted on input, stored as the catalogue's unit.
UNIT_SYNONYMS = {
    "umol/L": {"µmol/L", "μmol/L", "umol/l"},
    "mmol/L": {"mmol/l"},
    "mg/L": {"mg/l"},
    "mL/min/{1.73_m2}": {"mL/min/1.73m2", "ml/min/1.73m2", "mL/min/1.73 m²"},
    "{INR}": {"INR"},
}


# The micro sign (U+00B5) and the Greek mu (U+03BC) both write UCUM's "u".
_MICRO = str.maketrans({"\u00b5": "u", "\u03bc": "u"})
# A litre, with or without a prefix: UCUM spells it "L" or "l".
_LITRE = re.compile(r"([mdcu]?)[lL]")


def _unit_key(unit: str) -> str:
    """One spelling of a unit for comparing: micro as "u" and the litre as
    "L" in every component (``µmol/l``, ``μmol/L`` and ``umol/L`` alike), so
    a unit added to the catalogue by configuration is matched as the seeded
    ones are."""
    parts = unit.strip().translate(_MICRO).split("/")
    return "/".join(
        _LITRE.sub(lambda m: m.group(1) + "L", part.strip())
        if _LITRE.fullmatch(part.strip())
        else part.strip()
        for part in parts
    )


@dataclass(frozen=True)
class Interval:
    low: Decimal | None
    high: Decimal | None


def reference_interval(test: TestDefinition, *, sex: str) -> Interval:
    """The reference interval for the citizen's sex, falling back to the general one."""
    if sex == "female" and (
        test.reference_low_female is not None or test.reference_high_female is not None
    ):
        return Interval(test.reference_low_female, test.reference_high_female)
    if sex == "male" and (
        test.reference_low_male is not None or test.reference_high_male is not None
    ):
        return Interval(test.reference_low_male, test.reference_high_male)
    return Interval(test.reference_low, test.reference_high)


def interpret(test: TestDefinition, value: Decimal, *, sex: str) -> str:
    """HL7 interpretation code: critical limits first, then the reference interval."""
    if test.critical_low is not None and value < test.critical_low:
        return LabResult.Interpretation.CRITICAL_LOW
    if test.critical_high is not None and value > test.critical_high:
        return LabResult.Interpretation.CRITICAL_HIGH
    interval = reference_interval(test, sex=sex)
    if interval.low is not None and value < interval.low:
        return LabResult.Interpretation.LOW
    if interval.high is not None and value > interval.high:
        return LabResult.Interpretation.HIGH
    return LabResult.Interpretation.NORMAL


# A result is stored in LabResult.value: that column bounds what is accepted
# (the API's description states it, read from here), a comma standing for
# the point as a Danish laboratory writes it.
LAB_VALUE = DecimalBounds.of(LabResult, "value")
LAB_VALUE_DECIMAL_COMMA = True


def parse_value(
    raw: object, *, field: str, bounds: DecimalBounds = LAB_VALUE, code: str = "lab.value_invalid"
) -> Decimal:
    """A number typed or sent as a result (a decimal comma too), within what
    its column holds: refused with ``code`` (and its stem's ``…too_large``,
    ``…too_many_decimals``) naming ``field``. Written out, as a dose is: text
    with an exponent ("1e2") is refused, never stored as a CRP of 100."""
    return decimal_parse(raw, bounds, field=field, code=code, decimal_comma=LAB_VALUE_DECIMAL_COMMA)


def stored_value(test: TestDefinition, value: Decimal) -> Decimal:
    """The value as it is stored, interpreted and reported: rounded half up,
    as a laboratory rounds, to the catalogue's decimals (at most three). The
    interpretation shown while she types is of this value, so the badge she
    sees is the one stored, with its critical alert or without."""
    return value.quantize(Decimal(1).scaleb(-min(test.decimals, 3)), rounding=ROUND_HALF_UP)


def normalise_unit(test: TestDefinition, unit: object, *, field: str) -> str:
    """The catalogue's unit if ``unit`` means it; otherwise refused (a wrong unit
    usually means a value from another test or a mis-set meter)."""
    if isinstance(unit, str):
        given = _unit_key(unit)
        spellings = {test.unit, *UNIT_SYNONYMS.get(test.unit, set())}
        if given in {_unit_key(spelling) for spelling in spellings}:
            return test.unit
    raise InvalidInput(
        "lab.unit_mismatch",
        f"{test.display} is reported in {test.unit_display or test.unit}; "
        "the unit given does not match.",
        field=field,
        params={"test": label(test.display), "unit": test.unit_display or test.unit},
    )


def check_plausible(test: TestDefinition, value: Decimal, *, field: str) -> None:
    """Refuse a value that cannot be real (potassium 50 mmol/L)."""
    low, high = test.plausible_low, test.plausible_high
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidInput(
            "lab.value_implausible",
            f"{test.display}: the value lies outside what can be measured in a living person "
            f"({low} to {high} {test.unit_display or test.unit}); check the sample and the entry.",
            field=field,
            params={
                "test": label(test.display),
                "low": "" if low is None else low.normalize(),
                "high": "" if high is None else high.normalize(),
                "unit": test.unit_display or test.unit,
            },
        )
