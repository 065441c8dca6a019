"""Each role's help page: its own main tasks with links to where they are
done; open to every member of staff, never to a visitor who is not signed in."""

from __future__ import annotations

import pytest
from django.test import Client

from core.models import Role
from tests import factories

pytestmark = pytest.mark.django_db

TASKS: dict[str, tuple[str, str | None]] = {
    Role.ACUTE_NURSE: ("Gennemfør et besøg", "/nurse/visits/"),
    Role.COORDINATOR: ("Tildel en sygeplejerske", "/coordinator/"),
    Role.PHYSICIAN: ("Bekræft dine telefonordinationer", "/physician/orders/"),
    Role.HOME_NURSE: ("Henvis en borger", "/referrals/new/"),
    Role.MEDICINE_OFFICER: ("Optæl skabet", "/cabinet/counts/"),
    Role.AUDITOR: ("Gennemgå markerede poster", "/audit/flagged"),
    Role.ANALYST: ("Kør en analyse", "/analyses/"),
    Role.ADMINISTRATOR: ("Dine sider", None),
}


@pytest.mark.parametrize("role", list(TASKS))
def test_each_role_reads_its_own_tasks(role: str) -> None:
    client = Client()
    factories.log_in(client, factories.staff(role, factories.acute_function()))
    html = client.get("/help/", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    heading, link = TASKS[role]
    assert f">{heading}</h2>" in html
    if link:
        assert f'href="{link}"' in html
    # A physician refers citizens too, as a home nurse does.
    shared = {"Henvis en borger"} if role == Role.PHYSICIAN else set()
    others = [h for r, (h, _) in TASKS.items() if r != role and h not in shared]
    assert not [h for h in others if f">{h}</h2>" in html]
    start = client.get("/", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert 'href="/help/"' in start


def test_a_visitor_is_sent_to_the_login() -> None:
    response = Client().get("/help/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_help_page_names_the_role_in_one_danish_sentence() -> None:
    client = Client()
    factories.log_in(client, factories.staff(Role.MEDICINE_OFFICER, factories.acute_function()))

    html = client.get("/help/", HTTP_ACCEPT_LANGUAGE="da").content.decode()

    assert (
        "Dine vigtigste opgaver som <strong>Lægemiddelansvarlig</strong>, trin for trin. "
        "Hver opgave har et link til siden, hvor du udfører den."
    ) in html
