"""R9 on ``/fhir/`` as a partner meets it: a request refused for its form is
an attempt on the citizen it names all the same, and recorded on her log,
whichever type or step refused it — a search value only the type's own
reading refuses (``encounter=Encounter/1``), a path below one of her
resources that nothing serves (``Patient/<id>/_history/1``), a body that
leaves out its ``resourceType``, and a transaction Bundle refused for its
form (a batch, an update entry, a reference to no entry). Nothing is
written by any of them."""

from __future__ import annotations

import json

import pytest

from consent.audit.models import AuditEntry
from consent.models import RecordResource
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, world  # noqa: F401

pytestmark = pytest.mark.django_db


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _refusals_since(before: int, world: World) -> list[tuple[str, str, int | None]]:  # noqa: F811
    return list(
        AuditEntry.objects.filter(
            id__gt=before, actor_user_id=world.nurse.user_id, outcome="denied"
        ).values_list("action", "reason_code", "citizen_id")
    )


@pytest.mark.parametrize("resource_type", ["Observation", "Procedure", "MedicationRequest"])
@pytest.mark.parametrize("encounter", ["Encounter/1", "visit-abc", "Encounter/visit-1,visit-2"])
def test_r9_a_search_value_the_type_cannot_read_is_recorded_on_her(
    world: World,  # noqa: F811
    resource_type: str,
    encounter: str,
) -> None:
    person = world.person.pk
    before = _last_id()
    response = f.client_for(world.nurse).get(
        f"/fhir/{resource_type}", {"patient": f"Patient/{person}", "encounter": encounter}
    )
    assert response.status_code == 400, response.content[:300]
    assert issue_code(response) == "search.param_invalid"
    assert _refusals_since(before, world) == [("search", "search.param_invalid", person)]


@pytest.mark.parametrize(
    "below",
    ["_history/1", "_history/abc", "$validate", "", "_history/1/"],
    ids=["vread-not-served", "vread-no-version", "operation-not-served", "slash", "slash-2"],
)
def test_r9_a_path_below_her_resource_that_nothing_serves_is_recorded_on_her(
    world: World,  # noqa: F811
    below: str,
) -> None:
    person = world.person.pk
    paths = {
        "Patient": f"/fhir/Patient/{person}/{below}",
        "Condition": f"/fhir/Condition/{world.diagnosis.pk}/{below}",
    }
    for resource_type, path in paths.items():
        if resource_type == "Condition" and below.startswith("_history/1"):
            continue  # Condition's version read is served
        before = _last_id()
        response = f.client_for(world.nurse).get(path)
        assert response.status_code == 404, (path, response.content[:300])
        assert issue_code(response) == "fhir.not_supported"
        assert _refusals_since(before, world) == [("read", "fhir.not_supported", person)], path


def test_r9_a_body_without_its_resource_type_is_recorded_on_whom_it_names(
    world: World,  # noqa: F811
) -> None:
    person = world.person.pk
    body = bodies.diagnosis(person)
    del body["resourceType"]
    kept = RecordResource.objects.count()
    before = _last_id()
    response = f.client_for(world.nurse).post(
        "/fhir/Condition", data=json.dumps(body), content_type=bodies.FHIR
    )
    assert response.status_code == 400
    assert issue_code(response) == "request.malformed"
    assert _refusals_since(before, world) == [("create", "request.malformed", person)]
    assert RecordResource.objects.count() == kept


def _entry(resource: dict, *, method: str = "POST", url: str | None = None) -> dict:
    return {
        "resource": resource,
        "request": {"method": method, "url": url or resource["resourceType"]},
    }


def _transactions(world: World) -> dict[str, tuple[dict, str]]:  # noqa: F811
    person = world.person.pk
    diagnosis = bodies.diagnosis(person)
    dangling = bodies.diagnosis(
        person, encounter={"reference": "urn:uuid:0a6c5e7e-6f3c-4d43-9b55-0d0c7c2f7a11"}
    )
    update = {**bodies.diagnosis(person), "id": str(world.diagnosis.pk)}
    return {
        "batch": (
            {"resourceType": "Bundle", "type": "batch", "entry": [_entry(diagnosis)]},
            "bundle.not_transaction",
        ),
        "update-entry": (
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    _entry(diagnosis),
                    _entry(update, method="PUT", url=f"Condition/{world.diagnosis.pk}"),
                ],
            },
            "bundle.entry_unsupported",
        ),
        "reference-to-no-entry": (
            {"resourceType": "Bundle", "type": "transaction", "entry": [_entry(dangling)]},
            "bundle.reference_unresolved",
        ),
    }


@pytest.mark.parametrize("case", ["batch", "update-entry", "reference-to-no-entry"])
def test_r9_a_transaction_refused_for_its_form_is_recorded_on_whom_it_names(
    world: World,  # noqa: F811
    case: str,
) -> None:
    bundle, code = _transactions(world)[case]
    kept = RecordResource.objects.count()
    before = _last_id()
    response = f.client_for(world.nurse).post(
        "/fhir/", data=json.dumps(bundle), content_type=bodies.FHIR
    )
    assert response.status_code == 400, response.content[:300]
    assert issue_code(response) == code
    assert _refusals_since(before, world) == [("create", code, world.person.pk)]
    assert RecordResource.objects.count() == kept


def test_r9_a_transaction_naming_nobody_is_recorded_as_about_no_one(
    world: World,  # noqa: F811
) -> None:
    before = _last_id()
    response = f.client_for(world.nurse).post(
        "/fhir/",
        data=json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": []}),
        content_type=bodies.FHIR,
    )
    assert response.status_code == 400
    assert issue_code(response) == "bundle.empty"
    assert _refusals_since(before, world) == [("create", "bundle.empty", None)]
