"""Deny by default on ``/fhir/``, as a partner or a newcomer meets it: every
role that may not read a type is refused 403 with an OperationOutcome on
every way of asking (read, search, POST search, ``_count=0``, a version
read, ``$everything``) and the refusal is recorded on the citizen (R9),
never answered with an empty searchset as if she had no data; a caller not
signed in learns nothing before signing in (401), not even that a type is
not shared (R2); FHIR XML is not served (406)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from consent.audit.models import AuditEntry
from core.fhir.resources import FHIRResource, registered
from core.models import ApiToken, Membership, Role
from tests import factories as f
from tests.consent.audit.test_every_endpoint_audits import Seeded
from tests.core.test_fhir_resources import _example, _name, _search_query

pytestmark = pytest.mark.django_db

CLINICAL = frozenset({Role.ACUTE_NURSE, Role.COORDINATOR, Role.PHYSICIAN, Role.HOME_NURSE})
# Who may read each type: the roles the gate can let at its data, no more.
READERS: dict[tuple[str, str], frozenset[str]] = {
    ("AuditEvent", ""): frozenset({Role.AUDITOR}),
    ("Condition", ""): CLINICAL,
    ("EpisodeOfCare", ""): CLINICAL,
    ("CarePlan", ""): CLINICAL,
    ("Encounter", ""): CLINICAL,
    ("Patient", ""): CLINICAL,
    ("Consent", ""): CLINICAL | {Role.ADMINISTRATOR},
    ("ServiceRequest", "referral-"): CLINICAL,
    ("Task", "visit-"): CLINICAL,
    ("Encounter", "visit-"): CLINICAL,
    ("Observation", "vital-"): CLINICAL,
    ("Observation", "lab-"): CLINICAL - {Role.HOME_NURSE},
    ("Procedure", ""): CLINICAL - {Role.HOME_NURSE},
    ("MedicationRequest", ""): CLINICAL - {Role.HOME_NURSE},
    ("MedicationAdministration", ""): CLINICAL,
}
RESOURCES = registered()


def _last() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _refused_and_recorded(response, member: Membership, before: int, citizen: int | None) -> None:
    assert response.status_code == 403, (response.status_code, response.content[:300])
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "forbidden"
    entries = list(
        AuditEntry.objects.filter(pk__gt=before, actor_user_id=member.user_id, outcome="denied")
    )
    assert [e.reason_code for e in entries] == ["role_not_permitted"]
    if citizen is not None:
        assert entries[0].citizen_id == citizen


def test_every_type_is_read_by_the_roles_the_gate_can_let_in_and_no_more() -> None:
    assert {(r.type, r.id_prefix): r.readers for r in RESOURCES} == READERS


@pytest.mark.parametrize("resource", RESOURCES, ids=_name)
def test_every_role_that_may_not_read_a_type_is_refused_on_every_way_of_asking(
    resource: FHIRResource, seeded_once: Seeded
) -> None:
    seeded = seeded_once
    person = seeded.person.pk
    names_citizen = resource.ids_name_a_citizen
    for role in sorted(set(Role.values) - READERS[(resource.type, resource.id_prefix)]):
        member = f.staff(role, f.acute_function())
        client = f.client_for(member)
        before = _last()
        read = client.get(f"/fhir/{resource.type}/{_example(seeded, resource)}")
        _refused_and_recorded(read, member, before, person if names_citizen else None)
        if not resource.searchable:
            continue
        query = _search_query(seeded, resource)
        # A search by ``patient`` names her; Patient's ``_id=`` may name many.
        named = person if any(p.names_citizen for p in resource.search_params) else None
        for suffix in ("", "&_count=0"):
            before = _last()
            searched = client.get(f"/fhir/{resource.type}?{query}{suffix}")
            _refused_and_recorded(searched, member, before, named)
        if resource.search_by_post:
            before = _last()
            posted = client.post(
                f"/fhir/{resource.type}/_search",
                query,
                content_type="application/x-www-form-urlencoded",
            )
            _refused_and_recorded(posted, member, before, named)


@pytest.mark.parametrize("role", sorted(set(Role.values) - CLINICAL))
def test_a_version_read_and_everything_refuse_a_role_that_does_not_read_the_record(
    role: str, seeded_once: Seeded
) -> None:
    seeded = seeded_once
    person = seeded.person.pk
    member = f.staff(role, f.acute_function())
    condition = next(i for t, i in seeded.records if t == "Condition")
    for url in (f"/fhir/Condition/{condition}/_history/1", f"/fhir/Patient/{person}/$everything"):
        before = _last()
        _refused_and_recorded(f.client_for(member).get(url), member, before, person)


def _data_write(person: int) -> dict:
    return {
        "resourceType": "MedicationStatement",
        "status": "active",
        "subject": {"reference": f"Patient/{person}"},
        "medicationCodeableConcept": {"text": "Panodil"},
    }


def _token_ended(member: Membership, **ended: object):
    """A client whose token has expired or been revoked."""
    client = f.client_for(None)
    raw = f.token_for(member)
    ApiToken.objects.filter(membership=member).update(**ended)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_caller_not_signed_in_learns_nothing_not_even_that_a_type_is_not_shared(
    seeded_once: Seeded,
) -> None:
    seeded = seeded_once
    person = seeded.person.pk
    before = _last()
    past = timezone.now() - dt.timedelta(minutes=1)
    for client in (
        f.client_for(None),
        _token_ended(seeded.nurse, expires_at=past),
        _token_ended(seeded.coordinator, revoked_at=past),
    ):
        for url in ("/fhir/MedicationStatement", "/fhir/AllergyIntolerance"):
            body = _data_write(person) | {"resourceType": url.rsplit("/", 1)[1]}
            response = client.post(url, body, format="json")
            assert response.status_code == 401, (url, response.content[:300])
            assert response.json()["resourceType"] == "OperationOutcome"
        for resource in RESOURCES:
            read = client.get(f"/fhir/{resource.type}/{_example(seeded, resource)}")
            assert read.status_code == 401, _name(resource)
    assert _last() == before


def test_a_write_of_data_not_shared_is_refused_r2_and_recorded_on_the_citizen(
    seeded_once: Seeded,
) -> None:
    seeded = seeded_once
    person = seeded.person.pk
    before = _last()
    response = f.client_for(seeded.nurse).post(
        "/fhir/MedicationStatement", _data_write(person), format="json"
    )
    assert response.status_code == 400
    assert response.json()["issue"][0]["details"]["coding"][0]["code"] == (
        "record.type_not_permitted"
    )
    [entry] = AuditEntry.objects.filter(pk__gt=before, actor_user_id=seeded.nurse.user_id)
    assert (entry.outcome, entry.reason_code, entry.citizen_id, entry.resource_type) == (
        "denied",
        "record.type_not_permitted",
        person,
        "MedicationStatement",
    )


def test_fhir_xml_and_another_fhir_version_are_not_served(seeded_once: Seeded) -> None:
    seeded = seeded_once
    client = f.client_for(seeded.nurse)
    url = f"/fhir/Patient/{seeded.person.pk}"
    for accept in ("application/fhir+xml", "application/xml"):
        refused = client.get(url, HTTP_ACCEPT=accept)
        assert refused.status_code == 406, accept
        assert refused.json()["resourceType"] == "OperationOutcome"
    for fmt in ("xml", "application/fhir+xml"):
        refused = client.get(url, {"_format": fmt})
        assert refused.status_code == 406, fmt
        assert refused.json()["resourceType"] == "OperationOutcome"
    wrong = client.get(url, HTTP_ACCEPT="application/fhir+json; fhirVersion=3.0")
    assert wrong.status_code == 406
    assert wrong.json()["resourceType"] == "OperationOutcome"
    for accept in ("application/fhir+json; fhirVersion=4.0", "application/fhir+json"):
        assert client.get(url, HTTP_ACCEPT=accept).status_code == 200, accept
    assert client.get(url, {"_format": "json"}).status_code == 200
