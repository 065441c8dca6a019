"""eGFR by CKD-EPI 2021 against worked examples computed by hand from the
published equation (Inker et al. 2021): creatinine in mg/dL * 88.42 = µmol/L."""

from __future__ import annotations

from decimal import Decimal

import pytest

from acute.clinical.egfr import egfr_ckd_epi_2021
from core.errors import InvalidInput


@pytest.mark.parametrize(
    ("creatinine_mg_dl", "age", "female", "expected"),
    [
        # 142 * (1.0/0.9)^-1.2 * 0.9938^50 = 142 * 0.8812 * 0.7327 = 91.7
        (1.0, 50, False, 92),
        # 142 * (1.0/0.7)^-1.2 * 0.9938^50 * 1.012 = 142 * 0.6518 * 0.7327 * 1.012 = 68.6
        (1.0, 50, True, 69),
        # below kappa: 142 * (0.6/0.7)^-0.241 * 0.9938^30 * 1.012
        #   = 142 * 1.0379 * 0.8298 * 1.012 = 123.8
        (0.6, 30, True, 124),
        # 142 * (2.0/0.9)^-1.2 * 0.9938^80 = 142 * 0.3834 * 0.6083 = 33.1
        (2.0, 80, False, 33),
        # exactly kappa (male): 142 * 1 * 1 * 0.9938^40 = 142 * 0.7800 = 110.8
        (0.9, 40, False, 111),
    ],
)
def test_egfr_matches_hand_computed_ckd_epi_2021(creatinine_mg_dl, age, female, expected):
    umol = Decimal(str(creatinine_mg_dl)) * Decimal("88.42")
    assert egfr_ckd_epi_2021(creatinine_umol_l=umol, age=age, female=female) == expected


def test_egfr_is_refused_for_children():
    with pytest.raises(InvalidInput) as err:
        egfr_ckd_epi_2021(creatinine_umol_l=Decimal("50"), age=12, female=True)
    assert err.value.code == "lab.egfr_not_applicable"
