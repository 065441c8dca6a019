"""The nurse's visit page shown again after a refusal: several of its forms
share a field's name (outcome, reason), and only the form she sent is marked
refused, linked to its message and filled with what she typed — never the
others, which would give two elements one id (a screen reader then reads the
wrong field's message) and put her words in a form she did not use. A visit
taken back from her still has its page heading."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from acute.models import Visit
from acute.services import visit_assign, visit_withdraw
from core.actors import Actor
from core.models import Role
from tests import factories
from tests.core.test_pages_crawl import _structure_faults

pytestmark = pytest.mark.django_db


def _assigned() -> tuple[Client, Visit, Actor]:
    nurse, shift = factories.acute_nurse_on_shift()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    referral = factories.acute_referral(by=coordinator)
    actor = Actor.for_membership(coordinator)
    visit = visit_assign(referral=referral, shift=shift, actor=actor)
    client = Client(HTTP_ACCEPT_LANGUAGE="da")
    assert factories.log_in(client, nurse).status_code == 302
    return client, visit, actor


def _refused(html: str) -> list[str]:
    return re.findall(r'id="([\w-]+)"[^>]*aria-invalid="true"', html)


def _textarea(html: str, dom_id: str) -> str:
    match = re.search(rf'<textarea id="{dom_id}"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, dom_id
    return match.group(1)


@pytest.mark.parametrize(
    ("form", "data", "marked", "kept"),
    [
        ("episode", {"outcome": "", "note": ""}, ["episode-outcome"], []),
        ("complete", {"outcome": "", "assessment": "Stabil."}, ["outcome"], ["assessment"]),
        ("break-glass", {"reason": "kort", "basis": "cannot_be_asked"}, ["btg-reason"], []),
        ("decline", {"reason": "x" * 10001}, ["decline-reason"], []),
    ],
)
def test_only_the_form_she_sent_is_marked_refused(
    form: str, data: dict[str, str], marked: list[str], kept: list[str]
) -> None:
    client, visit, _actor = _assigned()
    response = client.post(f"/nurse/visits/{visit.pk}/{form}/", data)
    assert response.status_code in (400, 409), response.status_code
    html = response.content.decode()
    assert _structure_faults(html) == []
    assert _refused(html) == marked
    others = {"decline-reason", "btg-reason", "assessment"} - set(kept) - set(marked)
    assert all(_textarea(html, other).strip() == "" for other in others)
    for field in kept:
        assert _textarea(html, field) == data[field]


def test_a_visit_taken_back_from_her_keeps_its_heading() -> None:
    client, visit, actor = _assigned()
    visit_withdraw(visit=visit, note="Sendt til en nærmere sygeplejerske", actor=actor)
    response = client.get(f"/nurse/visits/{visit.pk}/")
    assert response.status_code == 403
    html = response.content.decode()
    assert 'id="visit-cancelled"' in html
    assert _structure_faults(html) == []
    assert re.search(r"<h1>Besøg</h1>", html)
