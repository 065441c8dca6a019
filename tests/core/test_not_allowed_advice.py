"""The "not available" page tells each role whom to turn to, in Danish: the
acute nurse the coordinator on duty, a GP or home nurse the acute
function's coordinator by phone, the coordinator and the other staff their
organisation's administrator — never the coordinator to ask herself."""

from __future__ import annotations

import pytest
from django.test import Client

from core.models import Organisation, Role
from tests import factories as f
from tests.core.test_danish_pages import _read

pytestmark = pytest.mark.django_db

ASK_COORDINATOR = "spørg den vagthavende"


def _refused_page(membership: object, path: str) -> str:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="da")
    assert response.status_code == 403
    return _read(response.content.decode())[0]


def test_the_coordinator_is_not_told_to_ask_the_coordinator():
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    text = _refused_page(coordinator, "/nurse/visits/")
    assert ASK_COORDINATOR not in text
    assert "så længe borgeren har en åben henvisning i akutfunktionen" in text
    assert "spørg din organisations administrator" in text


def test_the_acute_nurse_asks_the_coordinator_on_duty():
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function())
    assert ASK_COORDINATOR in _refused_page(nurse, "/coordinator/")


def test_a_gp_phones_the_acute_function():
    f.acute_function()  # with its phone number
    gp = f.staff(Role.PHYSICIAN, f.gp_practice())
    text = _refused_page(gp, "/coordinator/")
    assert ASK_COORDINATOR not in text
    assert "ring til akutfunktionens vagthavende på +4570101010" in text


def test_a_home_nurse_phones_the_acute_function_without_a_number_when_none_is_known():
    f.acute_function()
    Organisation.objects.filter(kind=Organisation.Kind.ACUTE_FUNCTION).update(phone="")
    home_nurse = f.staff(Role.HOME_NURSE, f.home_nursing())
    text = _refused_page(home_nurse, "/coordinator/")
    assert "ring til akutfunktionens vagthavende." in text


def test_the_auditor_asks_her_administrator():
    auditor = f.staff(Role.AUDITOR, f.acute_function())
    text = _refused_page(auditor, "/coordinator/")
    assert ASK_COORDINATOR not in text
    assert "Har du brug for den i dit arbejde, så spørg din organisations administrator." in text
