"""Edges of the gated FHIR base that a client reaches by a miswritten query,
walked over every type: a version id is read as a resource id is
(``_history/01`` names no version), and a list with an empty member
(``code=I10,``) is refused, not answered for its other members."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from core.fhir.resources import LIST_TYPES, FHIRResource
from core.models import Membership
from tests import factories as f
from tests.core.test_fhir_resources import (
    SEARCHABLE,
    Seeded,
    _denials,
    _last_entry,
    _name,
    _reader,
    _search_query,
)

pytestmark = pytest.mark.django_db


def _not_found(response) -> None:
    assert response.status_code == 404, response.content[:300]
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_version_id_with_a_leading_zero_names_no_version(seeded_once: Seeded) -> None:
    """``Condition/<id>/_history/01`` answered version 1 where ``Condition/01``
    is 404: a version id is its text, as a resource id is."""
    seeded = seeded_once
    client = f.client_for(seeded.nurse)
    for kind in ("Condition", "CarePlan"):
        rid = next(i for t, i in seeded.records if t == kind)
        assert client.get(f"/fhir/{kind}/{rid}/_history/1").status_code == 200
        for vid in ("01", "001", "0"):
            _not_found(client.get(f"/fhir/{kind}/{rid}/_history/{vid}"))
        _not_found(client.get(f"/fhir/{kind}/0{rid}/_history/1"))


def _listed_param(resource: FHIRResource) -> str | None:
    """A parameter of the type whose value is a list, preferring one that
    names no citizen (``patient=1,`` is refused as no reference already)."""
    listed = [p for p in resource.search_params if p.type in LIST_TYPES]
    for param in sorted(listed, key=lambda p: (p.names_citizen, p.name == "identifier")):
        return param.name
    return None


def _refused_as_invalid(response, name: str, reader: Membership, before: int) -> None:
    assert response.status_code == 400, (name, response.content[:300])
    issue = response.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "search.param_invalid", issue
    assert name in issue["diagnostics"] and name in issue["details"]["text"], issue
    assert [e.reason_code for e in _denials(before, reader)] == ["search.param_invalid"]


@pytest.mark.parametrize("resource", SEARCHABLE, ids=_name)
def test_a_list_with_an_empty_member_is_refused_and_recorded(
    resource: FHIRResource, seeded_once: Seeded
) -> None:
    seeded = seeded_once
    name = _listed_param(resource)
    if name is None:
        pytest.skip("no list parameter")
    reader = _reader(seeded, resource)
    client = f.client_for(reader)
    base = _search_query(seeded, resource)
    for value in ("a,", ",a", "a,,b", ",", "a, "):
        before = _last_entry()
        response = client.get(f"/fhir/{resource.type}", {**_pairs(base), name: value})
        _refused_as_invalid(response, name, reader, before)
        if resource.search_by_post:
            before = _last_entry()
            response = client.post(f"/fhir/{resource.type}/_search?{base}", {name: value})
            _refused_as_invalid(response, name, reader, before)


def _pairs(query: str) -> dict[str, str]:
    return dict(parse_qsl(query))


def test_the_examples_of_the_brief_are_refused(seeded_once: Seeded) -> None:
    """``Condition?code=I10,`` answered as ``code=I10``, and ``Patient?_id=1,``
    as ``_id=1``; each is refused, naming the parameter, GET and POST alike."""
    seeded = seeded_once
    client = f.client_for(seeded.nurse)
    person = seeded.person.pk
    for path, query in (
        ("Condition", {"patient": f"Patient/{person}", "code": "I10,"}),
        ("Condition", {"patient": f"Patient/{person}", "code": ",I10"}),
        ("Condition", {"code": "I10,"}),
        ("Patient", {"_id": f"{person},"}),
        ("Patient", {"name:exact": "Hansen,"}),
    ):
        name = next(k for k in query if k != "patient").partition(":")[0]
        before = _last_entry()
        _refused_as_invalid(client.get(f"/fhir/{path}", query), name, seeded.nurse, before)
        before = _last_entry()
        _refused_as_invalid(client.post(f"/fhir/{path}/_search", query), name, seeded.nurse, before)
    # A whole list still searches.
    answered = client.get("/fhir/Condition", {"patient": f"Patient/{person}", "code": "I10,J18"})
    assert answered.status_code == 200, answered.content[:300]
