from __future__ import annotations

import pytest

from acute.clinical import demo
from acute.clinical.models import LabResult, MedicationOrder
from tests.acute.clinical.conftest import Scene

pytestmark = pytest.mark.django_db


def test_demo_adds_results_and_an_order_once(scene: Scene):
    lines: list[str] = []
    demo.load(lines.append, {})
    demo.load(lines.append, {})
    assert LabResult.objects.filter(visit=scene.visit).count() == 4  # with the eGFR
    assert MedicationOrder.objects.count() == 1
    assert "already has results" in lines[-1]


def test_demo_without_a_visit_on_site_does_nothing(db: None):
    lines: list[str] = []
    demo.load(lines.append, {})
    assert not LabResult.objects.exists()
