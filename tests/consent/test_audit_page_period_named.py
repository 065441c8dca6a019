"""A period the auditor's search cannot read is refused under the field the
form shows ("Fra", "Til"), named as the form names it — never by the link's
parameter ``from`` or ``to``."""

from __future__ import annotations

import pytest
from django.test import Client

from core.models import Role
from tests import factories

pytestmark = pytest.mark.django_db


def test_an_impossible_date_is_refused_under_fra_by_its_label() -> None:
    client = Client()
    factories.log_in(client, factories.staff(Role.AUDITOR, factories.acute_function()))

    response = client.get("/audit/", {"from": "2026-02-30"}, HTTP_ACCEPT_LANGUAGE="da")

    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-code="audit.param_invalid"' in html
    assert "Fra skal være en ISO-dato eller et ISO-tidspunkt." in html
    assert "from skal" not in html
