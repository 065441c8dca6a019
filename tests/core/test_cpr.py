import datetime as dt

import pytest

from core.cpr import cpr_facts, mask_cpr, validate_cpr
from core.errors import InvalidInput


@pytest.mark.parametrize(
    ("cpr", "birth", "sex"),
    [
        ("0101401234", dt.date(1940, 1, 1), "female"),  # seventh digit 1: 1900s
        ("010140-1233", dt.date(1940, 1, 1), "male"),  # with the usual hyphen
        ("2902044005", dt.date(2004, 2, 29), "male"),  # seventh digit 4, year <= 36: 2000s
        ("0101404006", dt.date(1940, 1, 1), "female"),  # seventh digit 4, year > 36: 1900s
        ("3112905002", dt.date(1890, 12, 31), "female"),  # seventh digit 5, year > 57: 1800s
        ("0101109001", dt.date(2010, 1, 1), "male"),  # seventh digit 9, year <= 36: 2000s
    ],
)
def test_cpr_facts_follow_the_century_rules(cpr: str, birth: dt.date, sex: str) -> None:
    facts = cpr_facts(cpr)
    assert facts.birth_date == birth
    assert facts.sex == sex


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "12345",
        "01014012345",
        "0101a01234",
        "3202401234",
        "2902014001",
        "0113401234",
        None,
        101401234,
    ],
)
def test_invalid_cpr_is_refused_with_a_code_and_without_echoing_it(bad: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_cpr(bad)
    assert caught.value.code == "cpr.invalid"
    assert caught.value.field == "cpr"
    if isinstance(bad, str) and bad:
        assert bad not in caught.value.message


def test_birth_date_in_the_future_is_refused() -> None:
    with pytest.raises(InvalidInput):
        cpr_facts("0101304001", today=dt.date(2026, 1, 1))  # 1 Jan 2030


def test_masking_hides_the_serial() -> None:
    assert mask_cpr("0101401234") == "010140-XXXX"
