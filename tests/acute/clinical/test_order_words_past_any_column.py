"""R8: an order's frequency and duration as written ("3 times daily", "3
days") give its schedule when no numbers are sent. Words naming more doses a
day or more days than the numbers may (48 a day, 366 days) are refused as
those numbers are, naming the words, and nothing is stored: "99999 days"
was taken as a schedule of 99999 days on SQLite, past the column on
PostgreSQL."""

from __future__ import annotations

import pytest

from acute.clinical.models import MedicationOrder
from tests import factories
from tests.acute.clinical.conftest import PHONE_ORDER, Scene

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("frequency", "duration", "field"),
    [
        ("3 times daily", "367 days", "duration"),
        ("3 times daily", "99999 days", "duration"),
        ("3 times daily", "9" * 90 + " days", "duration"),
        ("49 times daily", "3 days", "frequency"),
        ("9" * 80 + " x daily", "3 days", "frequency"),
    ],
)
def test_r8_a_schedule_in_words_past_the_numbers_bounds_is_refused(
    scene: Scene, frequency: str, duration: str, field: str
) -> None:
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders",
        {**PHONE_ORDER, "frequency": frequency, "duration": duration},
        format="json",
    )
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert (error["code"], error.get("field")) == ("order.schedule_invalid", field), error
    assert not MedicationOrder.objects.exists()


@pytest.mark.parametrize(
    ("frequency", "duration", "numbers"),
    [("48 times daily", "1 day", (48, 1)), ("once daily", "366 days", (1, 366))],
)
def test_r8_a_schedule_in_words_at_the_bounds_still_passes(
    scene: Scene, frequency: str, duration: str, numbers: tuple[int, int]
) -> None:
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders",
        {**PHONE_ORDER, "frequency": frequency, "duration": duration},
        format="json",
    )
    assert response.status_code == 201, response.content[:300]
    body = response.json()
    assert (body["doses_per_day"], body["duration_days"]) == numbers
