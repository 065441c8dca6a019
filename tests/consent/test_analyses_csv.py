"""R6: an analysis exported as CSV opens safely in a Danish spreadsheet."""

from __future__ import annotations

import csv

from core.models import Organisation
from tests import factories as f
from tests.consent.analysis_api import run
from tests.consent.conftest import World


def test_the_csv_keeps_names_as_text_and_decimals_with_a_comma(world: World) -> None:
    """A municipality's name that starts like a formula stays text, æ/ø/å
    read right (byte order mark), and the epsilon spent reads 0,5."""
    f.municipality("157")
    Organisation.objects.filter(municipality_code="157").update(name="@SUM(1) Kommune")
    client = f.client_for(world.analyst)
    answer = run(client, "diagnosis-and-service", diagnosis="E11", service="home-nursing")
    response = client.get(answer["Location"] + "/csv", HTTP_ACCEPT_LANGUAGE="da")
    assert response.status_code == 200
    assert response.content.startswith("\ufeff".encode())
    lines = list(csv.reader(response.content.decode("utf-8-sig").splitlines()))
    assert "'@SUM(1) Kommune" in [line[0] for line in lines if line]
    assert not any(line and line[0].startswith("@") for line in lines)
    spent = {line[0]: line[1] for line in lines if len(line) == 2}
    assert "0,5" in spent.values() and "4,5" in spent.values()
