"""A transaction Bundle as partner systems send it: entries reference each
other by ``fullUrl`` (``urn:uuid:…``), and FHIR's transaction rule makes each
such reference the new ``Type/id`` of the entry it names — in the resource and
its version. A reference to no entry of the Bundle is refused before anything
is written (all or nothing)."""

from __future__ import annotations

from typing import Any

import pytest

from consent.models import RecordResource, RecordVersion
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, post

DIAGNOSIS_URL = "urn:uuid:0b6a3a0e-4f7e-4c3e-9d9a-7f3c2a1b5e01"


def _bundle(world: World, addresses: str, full_url: str = DIAGNOSIS_URL) -> dict[str, Any]:
    plan = {**bodies.care_plan(world.person.pk), "addresses": [{"reference": addresses}]}
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": full_url,
                "resource": bodies.diagnosis(world.person.pk, code="E11.9"),
                "request": {"method": "POST", "url": "Condition"},
            },
            {"resource": plan, "request": {"method": "POST", "url": "CarePlan"}},
        ],
    }


def test_a_reference_to_another_entry_becomes_its_new_id(world: World) -> None:
    client = f.client_for(world.nurse)
    response = post(client, "/fhir/", _bundle(world, DIAGNOSIS_URL))
    assert response.status_code == 200, response.content
    condition_at, plan_at = (e["response"]["location"] for e in response.json()["entry"])
    condition_id = condition_at.split("/")[1]
    plan_id = plan_at.split("/")[1]
    read = client.get(f"/fhir/CarePlan/{plan_id}").json()
    assert read["addresses"] == [{"reference": f"Condition/{condition_id}"}]
    version = client.get(f"/fhir/CarePlan/{plan_id}/_history/1").json()
    assert version["addresses"] == [{"reference": f"Condition/{condition_id}"}]
    assert RecordVersion.objects.get(resource_id=int(plan_id)).body["addresses"] == [
        {"reference": f"Condition/{condition_id}"}
    ]


def test_a_reference_to_no_entry_of_the_bundle_writes_nothing(world: World) -> None:
    before = RecordResource.objects.count()
    response = post(
        f.client_for(world.nurse),
        "/fhir/",
        _bundle(world, "urn:uuid:99999999-9999-4999-8999-999999999999"),
    )
    assert response.status_code == 400, response.content
    issue = response.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "bundle.reference_unresolved"
    assert issue["expression"] == ["Bundle.entry[1].resource.addresses[0].reference"]
    assert RecordResource.objects.count() == before


def test_two_entries_with_one_full_url_are_refused(world: World) -> None:
    bundle = _bundle(world, DIAGNOSIS_URL)
    bundle["entry"][1]["fullUrl"] = DIAGNOSIS_URL
    response = post(f.client_for(world.nurse), "/fhir/", bundle)
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "bundle.full_url_duplicate"
    assert issue["expression"] == ["Bundle.entry[1].fullUrl"]


@pytest.mark.parametrize("content", ["[1, 2]", '"Bundle"', "3"])
def test_the_partner_load_refuses_a_file_that_is_no_bundle(
    world: World, tmp_path: Any, content: str
) -> None:
    """The command a partner's operator runs: a JSON file holding no object is
    refused with the platform's code, never a traceback."""
    from django.core.management import CommandError, call_command

    world.department.sor_code = "900000299997"
    world.department.save(update_fields=["sor_code"])
    path = tmp_path / "bundle.json"
    path.write_text(content)
    with pytest.raises(CommandError, match=r"bundle\.not_transaction"):
        call_command("load_shared_record", str(path), "--source-sor", "900000299997")
