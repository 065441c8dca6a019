"""``full_clean_changed``: a write that changes a few fields of a row read
from the database checks those fields, and asks the database nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.validation import full_clean_changed
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_the_changed_fields_are_checked_without_a_round_trip(django_assert_num_queries):
    referral = f.acute_referral()
    referral.on_hold_since = timezone.now()
    referral.on_hold_reason = "hospital_admission"
    with django_assert_num_queries(0):
        full_clean_changed(referral, fields=["on_hold_since", "on_hold_reason"])


def test_a_changed_field_that_breaks_its_rule_is_refused():
    referral = f.acute_referral()
    referral.on_hold_reason = "x" * 33  # longer than the column
    with pytest.raises(ValidationError) as refused:
        full_clean_changed(referral, fields=["on_hold_reason"])
    assert set(refused.value.error_dict) == {"on_hold_reason"}


def test_an_unchanged_field_is_left_alone():
    referral = f.acute_referral()
    # Broken in memory, but not among the fields this write changes.
    referral.reason = ""
    full_clean_changed(referral, fields=["on_hold_reason"])
