"""The replacement CPR (*erstatningspersonnummer*): checked in one place
(``core.cpr.normalise_replacement_cpr``, DK-core's x-ecpr and d-ecpr
formats), held by the citizen with its issuing system, and kept by the
database: a citizen has a CPR number or a replacement CPR, a replacement CPR
is unique within its issuer and never without it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from core.cpr import (
    X_ECPR_SYSTEM,
    ReplacementCpr,
    looks_like_replacement_cpr,
    normalise_replacement_cpr,
    replacement_cpr_facts,
)
from core.errors import InvalidInput
from core.models import Citizen
from tests import factories as f

D_ECPR = "urn:oid:1.2.208.176.1.6.1.3.177"


@pytest.mark.parametrize(
    ("raw", "system", "value"),
    [
        ("0703921VJ4", X_ECPR_SYSTEM, "0703921VJ4"),  # DK-core's X-eCPR example
        ("070392-1vj4", X_ECPR_SYSTEM, "0703921VJ4"),  # hyphen and lower case accepted
        ("1206550VK9", D_ECPR, "1206550VK9"),  # DK-core's D-eCPR example
        ("2902007AB1", X_ECPR_SYSTEM, "2902007AB1"),
    ],
)
def test_a_replacement_cpr_of_either_kind_is_accepted(raw, system, value):
    assert normalise_replacement_cpr(raw, system) == ReplacementCpr(system, value)
    assert looks_like_replacement_cpr(raw)


@pytest.mark.parametrize(
    ("raw", "system", "code"),
    [
        ("0703921VJ4", "urn:oid:1.2.208.176.1.2", "replacement_cpr.system_invalid"),
        ("0703921VJ4", "urn:oid:1.2.208.176.1.6.1.3.", "replacement_cpr.system_invalid"),
        ("0703920VJ4", X_ECPR_SYSTEM, "replacement_cpr.invalid"),  # 0: a D-eCPR
        ("0703921VJ4", D_ECPR, "replacement_cpr.invalid"),  # 1: an X-eCPR
        ("3104921VJ4", X_ECPR_SYSTEM, "replacement_cpr.invalid"),  # no 31 April
        ("0703921V14", X_ECPR_SYSTEM, "replacement_cpr.invalid"),
        ("0703921234", X_ECPR_SYSTEM, "replacement_cpr.invalid"),  # a CPR number
        (None, X_ECPR_SYSTEM, "replacement_cpr.invalid"),
    ],
)
def test_anything_else_is_refused_naming_the_rule_never_the_value(raw, system, code):
    with pytest.raises(InvalidInput) as refused:
        normalise_replacement_cpr(raw, system)
    assert refused.value.code == code
    assert refused.value.field == "replacement_cpr"
    assert raw is None or raw not in refused.value.message


def test_birth_date_and_sex_come_from_the_replacement_cpr():
    today = dt.date(2026, 1, 1)
    facts = replacement_cpr_facts(ReplacementCpr(X_ECPR_SYSTEM, "0703921VJ4"), today=today)
    assert (facts.birth_date, facts.sex) == (dt.date(1992, 3, 7), "female")
    facts = replacement_cpr_facts(ReplacementCpr(X_ECPR_SYSTEM, "0101207AB3"), today=today)
    assert (facts.birth_date, facts.sex) == (dt.date(2020, 1, 1), "male")


@pytest.mark.django_db
def test_a_citizen_needs_an_identifier_and_the_database_says_so():
    citizen = f.citizen()
    with pytest.raises(IntegrityError), transaction.atomic():
        Citizen.objects.filter(pk=citizen.pk).update(cpr=None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"replacement_cpr": "0703921VJ4", "replacement_cpr_system": ""},  # without its issuer
        {"replacement_cpr": "07039-1VJ4", "replacement_cpr_system": X_ECPR_SYSTEM},  # shape
        {"replacement_cpr": None, "replacement_cpr_system": X_ECPR_SYSTEM},
    ],
)
def test_the_database_keeps_a_replacement_cpr_whole(fields):
    citizen = f.citizen()
    with pytest.raises(IntegrityError), transaction.atomic():
        Citizen.objects.filter(pk=citizen.pk).update(**fields)


@pytest.mark.django_db
def test_a_replacement_cpr_is_unique_within_its_issuer_only():
    first, second, third = f.citizen(), f.citizen(), f.citizen()
    Citizen.objects.filter(pk=first.pk).update(
        replacement_cpr="0703920VJ4", replacement_cpr_system=D_ECPR
    )
    # Another region may issue the same characters.
    Citizen.objects.filter(pk=second.pk).update(
        replacement_cpr="0703920VJ4", replacement_cpr_system="urn:oid:1.2.208.176.1.6.1.3.178"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Citizen.objects.filter(pk=third.pk).update(
            replacement_cpr="0703920VJ4", replacement_cpr_system=D_ECPR
        )
