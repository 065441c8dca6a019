"""The coordinator's board at the tablet and desktop sizes she uses: no part
of it (the map, its legend, a card) lies over another's controls, so a
mouse or a finger reaches what it is pointed at — the "physician phoned to
withdraw" form on a clinical alert in particular (R8). Two open alerts
about one order each draw that order's forms, with ids of their own: a
label names its own field, and axe finds no id twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from acute.clinical.models import MedicationOrder, PhysicianAlert
from acute.clinical.services import medication_orders_watch
from tests import factories
from tests.acute.clinical.conftest import visit_scene
from tests.acute.clinical.test_order_received_by_another_route import UNKNOWN_PHYSICIAN
from tests.acute.clinical.test_order_received_by_another_route import (
    _phone_order as api_phone_order,
)
from tests.browser.accessibility import AXE_SCRIPT, axe_findings
from tests.browser.conftest import log_in, screenshot

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SIZES = {
    "tablet-portrait": {"width": 768, "height": 1024},
    "tablet-landscape": {"width": 1024, "height": 768},
    "laptop": {"width": 1280, "height": 800},
    "desktop": {"width": 1440, "height": 900},
    "wide": {"width": 1920, "height": 1080},
}

# What is drawn at the centre of an element once it is scrolled into view:
# the element itself (or a part of it), else what lies over it.
_HIT = """el => {
    el.scrollIntoView({block: 'center', inline: 'center'});
    const box = el.getBoundingClientRect();
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    const hit = document.elementFromPoint(x, y);
    return {x, y, ok: hit !== null && el.contains(hit),
            hit: hit === null ? null : hit.outerHTML.slice(0, 120)};
}"""

# Every control of the board outside the map's own pins, with every folded
# form opened: those whose centre something else covers.
_COVERED = """() => {
    document.querySelectorAll('.board details').forEach(d => { d.open = true; });
    const covered = [];
    const controls = 'a, button, summary, input, select, textarea';
    for (const el of document.querySelectorAll('.board').item(0).querySelectorAll(controls)) {
        if (el.closest('svg')) continue;
        if (el.getClientRects().length === 0) continue;  // not drawn
        el.scrollIntoView({block: 'center', inline: 'center'});
        const b = el.getBoundingClientRect();
        const hit = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
        if (hit === null || !el.contains(hit)) {
            covered.push([el.outerHTML.slice(0, 100), hit && hit.outerHTML.slice(0, 100)]);
        }
    }
    return covered;
}"""


def _order_with_two_alerts() -> tuple[Any, MedicationOrder]:
    """A phone order from a physician who is no user, neither confirmed nor
    prescribed in time: two open alerts on the board about it (the
    escalation and the overdue prescription), each offering its forms."""
    scene = visit_scene()
    order = api_phone_order(scene, **UNKNOWN_PHYSICIAN)
    overdue = timezone.now() + dt.timedelta(
        minutes=settings.CLINICAL_PHONE_ORDER_CONFIRM_WITHIN_MINUTES + 1
    )
    medication_orders_watch(now=overdue)
    kinds = set(
        PhysicianAlert.objects.filter(
            medication_order=order, recipient_organisation__isnull=False
        ).values_list("kind", flat=True)
    )
    assert len(kinds) == 2, kinds
    return scene, order


def _click(page: Any, element: Any) -> None:
    """A mouse click at the element's centre, after checking the element is
    what the browser has there (not the map or another card over it)."""
    hit = element.evaluate(_HIT)
    assert hit["ok"], f"covered at {hit['x']:.0f},{hit['y']:.0f} by {hit['hit']}"
    page.mouse.click(hit["x"], hit["y"])


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_the_coordinator_withdraws_a_phoned_order_with_the_mouse(new_page, size):
    scene, order = _order_with_two_alerts()
    page = new_page(size)
    log_in(page, scene.coordinator.user.username, factories.PASSWORD)
    page.goto("/coordinator/")

    forms = page.locator(f"details[data-order-withdrawal-phoned='{order.pk}']")
    assert forms.count() == 2
    for i in range(2):  # both alerts' forms open and reachable by the mouse
        _click(page, forms.nth(i).locator("summary"))
        assert forms.nth(i).evaluate("d => d.open")
        _click(page, forms.nth(i).locator("button[type=submit]"))  # empty note: not sent
    assert page.evaluate(_COVERED) == []
    overflowing = page.evaluate(  # nothing reaches past its card into the next column
        """() => [...document.querySelectorAll('.board .card')]
                 .filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.id || c.className)"""
    )
    assert overflowing == []
    screenshot(page, f"coordinator-board-alert-forms-{size['width']}")

    form = forms.nth(1)
    _click(page, form.get_by_label("Notat: hvorfor ordinationen trækkes tilbage"))
    page.keyboard.type("Forkert patient")
    with page.expect_navigation():
        _click(page, form.locator("button[type=submit]"))
    assert page.url.endswith("/coordinator/")

    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.CANCELLED
    assert order.cancel_reason == "Forkert patient"


def test_two_alerts_about_one_order_draw_its_forms_with_ids_of_their_own(new_page):
    scene, order = _order_with_two_alerts()
    page = new_page(SIZES["desktop"])
    log_in(page, scene.coordinator.user.username, factories.PASSWORD)
    page.goto("/coordinator/")
    page.evaluate(
        "() => document.querySelectorAll('.board details').forEach(d => { d.open = true; })"
    )

    duplicated = page.evaluate(
        """() => [...document.querySelectorAll('[id]')].map(e => e.id)
                 .filter((id, i, ids) => ids.indexOf(id) !== i)"""
    )
    assert duplicated == []
    for i in range(2):  # each label names the field beside it, in its own form
        form = page.locator(f"details[data-order-withdrawal-phoned='{order.pk}']").nth(i)
        field = form.get_by_label("Hvornår lægen ringede (tomt: nu)")
        assert field.count() == 1
        assert field.evaluate("(f, d) => d.contains(f)", form.element_handle())

    assert AXE_SCRIPT.exists() or pytest.fail(f"{AXE_SCRIPT} is missing")
    axe_findings(page)  # injects axe-core
    rules = page.evaluate(
        """() => axe.run(document, {runOnly: ['duplicate-id', 'duplicate-id-active',
                                             'duplicate-id-aria', 'label']})
                 .then(r => r.violations.map(v => v.id))"""
    )
    assert rules == []
    assert axe_findings(page) == []
