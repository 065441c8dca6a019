"""eGFR from plasma creatinine with the CKD-EPI 2021 equation (race-free).

    eGFR = 142 * min(Scr/kappa, 1)^alpha * max(Scr/kappa, 1)^-1.200 * 0.9938^age * 1.012 [if female]

with Scr in mg/dL (µmol/L ÷ 88.42), kappa = 0.7 (female) / 0.9 (male) and
alpha = -0.241 (female) / -0.302 (male); age in whole years. Inker et al.,
N Engl J Med 2021;385:1737-49.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from core.errors import InvalidInput

UMOL_PER_MG_DL = 88.42


def age_in_years(birth_date: dt.date, on: dt.date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def egfr_ckd_epi_2021(*, creatinine_umol_l: Decimal | float, age: int, female: bool) -> Decimal:
    """eGFR in mL/min/1.73 m², rounded to a whole number as laboratories report it.

    The equation is validated for adults; below 18 years it is refused.
    """
    if age < 18:
        raise InvalidInput(
            "lab.egfr_not_applicable",
            "CKD-EPI 2021 applies to adults (18 years or older); eGFR is not computed.",
        )
    scr = float(creatinine_umol_l) / UMOL_PER_MG_DL
    if scr <= 0:
        raise InvalidInput("lab.value_implausible", "Creatinine must be above zero.")
    kappa, alpha = (0.7, -0.241) if female else (0.9, -0.302)
    ratio = scr / kappa
    value = 142 * min(ratio, 1.0) ** alpha * max(ratio, 1.0) ** -1.200 * 0.9938**age
    if female:
        value *= 1.012
    return Decimal(str(value)).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
