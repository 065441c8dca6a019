"""A Bundle loaded from a partner system by the management command holds
text to the same rules as one posted to /fhir/: a direction override in a
nursing problem refuses the whole Bundle, and nothing is loaded."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from consent.models import RecordResource
from tests.consent import bodies
from tests.consent.conftest import World


def _bundle(world: World, text: str) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": bodies.nursing_problem(world.person.pk, text=text),
                "request": {"method": "POST", "url": "Condition"},
            }
        ],
    }


def test_the_load_command_refuses_text_a_reader_cannot_see(world: World, tmp_path) -> None:
    world.department.sor_code = "900000299996"
    world.department.save(update_fields=["sor_code"])
    before = RecordResource.objects.count()
    path = tmp_path / "b.json"
    path.write_text(json.dumps(_bundle(world, "Risiko for \u202eråsdkyrt")))
    with pytest.raises(CommandError, match=r"request\.bidi_control"):
        call_command("load_shared_record", str(path), "--source-sor", "900000299996")
    assert RecordResource.objects.count() == before
