"""``/fhir/metadata`` is what a partner's developer codes against: walked from
the statement itself, each declared interaction, search parameter and
operation is served, and what it does not declare is refused as FHIR says.

Every type and parameter is taken from the statement, so a declaration that
drifts from the code fails here, whichever app made it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.urls import get_resolver, resolve
from fhir.resources.R4B.operationoutcome import OperationOutcome

from consent.audit.models import AuditEntry
from consent.fhir import TYPE_BY_CATEGORY
from core.cpr import CPR_SYSTEM
from core.fhir.capability import capability_statement
from core.fhir.endpoints import HistoryView, UnknownResourceView
from core.fhir.resources import FHIRResource, registered
from core.models import Membership, Role
from integrations.medcom.outbound import SENT_AS_MEDCOM
from integrations.medcom.validation import MESSAGE_KINDS
from integrations.partners import ADAPTERS
from tests import factories as f
from tests.consent.audit.test_every_endpoint_audits import Seeded
from tests.core.test_fhir_resources import EXAMPLES

pytestmark = pytest.mark.django_db

# The interactions that write, each a 405 on a type listed that does not list it.
WRITES = ("create", "update", "patch", "delete")
INTERACTIONS = (
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
)
# Parameters a client may try on any type: each one a search does not refuse
# as unknown must be declared.
CANDIDATES = (
    "_id",
    "_lastUpdated",
    "_tag",
    "_profile",
    "_security",
    "_text",
    "_content",
    "_list",
    "_has",
    "_type",
    "_sort",
    "_include",
    "_revinclude",
    "_elements",
    "_contained",
    "_containedType",
    "_count",
    "_offset",
    "_summary",
    "_format",
    "_pretty",
    "_total",
    "_totalMethod",
    "identifier",
    "status",
    "code",
    "category",
    "date",
    "subject",
    "patient",
    "encounter",
    "name",
    "family",
    "given",
    "birthdate",
    "gender",
    "agent",
    "outcome",
    "as-of",
    "performer",
    "requester",
)


def _statement(client: Any) -> dict[str, Any]:
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    return response.json()


def _entries() -> dict[str, dict[str, Any]]:
    assert get_resolver().url_patterns  # the routes register what they serve (vread)
    statement = capability_statement("http://testserver/fhir")
    return {r["type"]: r for r in statement["rest"][0]["resource"]}


def _resources_of(resource_type: str) -> list[FHIRResource]:
    return [r for r in registered() if r.type == resource_type]


def _reader(seeded: Seeded, resource_type: str) -> Membership:
    readers = set().union(*(r.readers for r in _resources_of(resource_type)))
    return seeded.nurse if Role.ACUTE_NURSE in readers else seeded.auditor


def _example_id(seeded: Seeded, resource_type: str) -> str:
    for resource in _resources_of(resource_type):
        example = EXAMPLES.get((resource.type, resource.id_prefix))
        if resource.readable and example is not None:
            return example(seeded)
    raise AssertionError(f"{resource_type} has no example instance")


def _valid_value(seeded: Seeded, name: str, param_type: str) -> str:
    """One value of the declared type that the parameter takes."""
    person = seeded.person.pk
    by_name = {
        "patient": f"Patient/{person}",
        "subject": f"Patient/{person}",
        "encounter": f"Encounter/visit-{seeded.ids['visit'][0]}",
        "agent": str(seeded.nurse.user_id),
        "as-of": f"AuditEvent/{AuditEntry.objects.order_by('-pk').values_list('pk', flat=True)[0]}",
        "_id": str(person),
        "_summary": "false",
        "_format": "json",
        "_pretty": "true",
        "_total": "accurate",
        "_totalMethod": "count",
        "gender": "female",
        "outcome": "0",
        "category": "somatic-diagnosis",
        "code": "I10",
        "agent-role": "coordinator",
        "task": "acute.auto_assign",
        "actor-kind": "task",
    }
    by_type = {
        "reference": f"Patient/{person}",
        "token": "x",
        "string": "a",
        "date": "ge2000-01-01",
        "number": "1",
    }
    return by_name.get(name, by_type[param_type])


def _required(entry: dict[str, Any]) -> list[str]:
    """The first combination of parameters the statement says a search needs."""
    for extension in entry.get("extension", []):
        return [e["valueString"] for e in extension["extension"] if e["url"] == "required"]
    return []


def _issue_code(response: Any) -> str:
    return str(response.json()["issue"][0]["details"]["coding"][0]["code"])


CATEGORY_OF_TYPE = {t: str(c.value) for c, t in TYPE_BY_CATEGORY.items()}


SEARCHED = sorted(
    t
    for t, e in _entries().items()
    if "search-type" in {i["code"] for i in e.get("interaction", [])}
)


@pytest.mark.parametrize("resource_type", SEARCHED)
def test_every_declared_search_parameter_is_served_with_a_value_of_its_type(
    resource_type: str, seeded_once: Seeded
) -> None:
    """Each ``searchParam`` the statement lists, given one value of its
    declared type, is searched (200): none is declared and then refused."""
    seeded = seeded_once
    entry = _entries()[resource_type]
    client = f.client_for(_reader(seeded, resource_type))
    base = {n: _valid_value(seeded, n, "reference") for n in _required(entry)}
    for param in entry["searchParam"]:
        name, param_type = param["name"], param["type"]
        value = _valid_value(seeded, name, param_type)
        if name == "category":  # a category this type holds; another is refused
            value = CATEGORY_OF_TYPE[resource_type]
        if name == "identifier":
            # A CPR number is searched in a POST form only, never in a URL.
            response = client.post(
                f"/fhir/{resource_type}/_search",
                {**base, name: f"{CPR_SYSTEM}|{seeded.person.cpr}"},
            )
        else:
            response = client.get(f"/fhir/{resource_type}?{urlencode({**base, name: value})}")
        assert response.status_code == 200, (resource_type, name, value, response.content[:300])
        assert response.json()["type"] == "searchset"


@pytest.mark.parametrize("resource_type", SEARCHED)
def test_every_parameter_a_search_takes_is_declared(
    resource_type: str, seeded_once: Seeded
) -> None:
    """``_offset``, ``_format``, ``_pretty``, ``_total`` and ``_totalMethod``
    were taken by every search and declared by none: what a search does not
    refuse as unknown is in its ``searchParam`` list."""
    seeded = seeded_once
    entry = _entries()[resource_type]
    declared = {p["name"] for p in entry["searchParam"]}
    client = f.client_for(_reader(seeded, resource_type))
    base = {n: _valid_value(seeded, n, "reference") for n in _required(entry)}
    taken = set()
    for name in CANDIDATES:
        value = _valid_value(seeded, name, "token")
        response = client.get(f"/fhir/{resource_type}?{urlencode({**base, name: value})}")
        refused_as_unknown = response.status_code == 400 and _issue_code(response) in (
            "search.param_unknown",
            "search.use_post",  # identifier: taken, but only in a POST form
        )
        if not refused_as_unknown:
            taken.add(name)
    assert taken - declared == set(), resource_type


def _interaction_request(
    seeded: Seeded, resource_type: str, interaction: str
) -> tuple[str, str, dict[str, Any]]:
    """The method and path of an interaction on the type, and the request's extras."""
    instance = f"/fhir/{resource_type}/{_example_id(seeded, resource_type)}"
    body = {"data": {"resourceType": resource_type}, "content_type": "application/fhir+json"}
    return {
        "read": ("get", instance, {}),
        "vread": ("get", f"{instance}/_history/1", {}),
        "update": ("put", instance, body),
        "patch": ("patch", instance, body),
        "delete": ("delete", instance, {}),
        "history-instance": ("get", f"{instance}/_history", {}),
        "history-type": ("get", f"/fhir/{resource_type}/_history", {}),
        "create": ("post", f"/fhir/{resource_type}", body),
        "search-type": ("get", f"/fhir/{resource_type}?_count=0&_format=json", {}),
    }[interaction]


def _not_served(response: Any) -> bool:
    if response.status_code == 405:
        return True
    return response.status_code == 404 and _issue_code(response) == "fhir.not_supported"


@pytest.mark.parametrize("resource_type", sorted(_entries()))
def test_each_interaction_is_served_exactly_when_it_is_declared(
    resource_type: str, seeded_once: Seeded
) -> None:
    """A declared interaction reaches a view that serves it (a refusal of the
    body or of the reader is an answer of that view); one not declared is a
    405 with an OperationOutcome ``not-supported``, or the type's 404."""
    seeded = seeded_once
    declared = {i["code"] for i in _entries()[resource_type].get("interaction", [])}
    if not declared:
        return
    client = f.client_for(_reader(seeded, resource_type))
    for interaction in INTERACTIONS:
        method, path, extra = _interaction_request(seeded, resource_type, interaction)
        if interaction == "search-type" and _required(_entries()[resource_type]):
            path += "&" + urlencode(
                {
                    n: _valid_value(seeded, n, "reference")
                    for n in _required(_entries()[resource_type])
                }
            )
        if extra.get("data") is not None:
            extra = {**extra, "data": json.dumps(extra["data"])}
        response = getattr(client, method)(path, **extra)
        if interaction in declared:
            assert not _not_served(response), (resource_type, interaction, response.status_code)
            if method == "get":
                assert response.status_code == 200, (resource_type, interaction)
        else:
            assert _not_served(response), (resource_type, interaction, response.status_code)
            outcome = OperationOutcome.model_validate(response.json())
            assert outcome.issue[0].code in ("not-supported", "not-found")
            if interaction in WRITES:
                # A write a known type does not serve is a 405 (http.html),
                # never the 404 of an unknown type, its Allow without it.
                assert response.status_code == 405, (resource_type, interaction)
                allowed = {m.strip() for m in response.get("Allow", "").split(",")}
                assert method.upper() not in allowed, (resource_type, interaction)


def test_every_declared_operation_is_routed_to_a_view_that_serves_it() -> None:
    """``$process-message`` was declared on Bundle, which says
    ``/fhir/Bundle/$process-message``: not served. A type's operation is
    served on its instances, a system operation on the base."""
    statement = _statement(f.client_for(None))
    rest = statement["rest"][0]
    unserved = (UnknownResourceView, HistoryView)
    for entry in rest["resource"]:
        for operation in entry.get("operation", []):
            path = f"/fhir/{entry['type']}/1/${operation['name']}"
            assert resolve(path).func.view_class not in unserved, path  # type: ignore[attr-defined]
    system = [op["name"] for op in rest.get("operation", [])]
    assert "process-message" in system
    for name in system:
        assert resolve(f"/fhir/${name}").func.view_class not in unserved, name  # type: ignore[attr-defined]
    assert "Bundle" not in {r["type"] for r in rest["resource"]}


def test_the_formats_listed_are_the_ones_served() -> None:
    client = f.client_for(None)
    statement = _statement(client)
    assert statement["format"] == ["application/fhir+json"]
    answered = client.get("/fhir/metadata")
    assert answered["Content-Type"].startswith("application/fhir+json")
    assert client.get("/fhir/metadata?_format=xml").status_code == 406


def test_security_names_every_way_in_that_is_used() -> None:
    """A system that reads the statement learns of the OAuth client
    credentials door too, not only a person's token."""
    description = _statement(f.client_for(None))["rest"][0]["security"]["description"]
    for door in ("/api/auth/token", "/api/auth/oauth/token", "HMAC-SHA256", "system/*.read"):
        assert door in description, door


def test_the_local_message_events_are_marked_local() -> None:
    """docs/handoffs.md: the platform's own events are not MedCom's, and the
    statement says which are which for every partner."""
    documentation = _statement(f.client_for(None))["messaging"][0]["documentation"]
    lines = {line.split(":")[0].removeprefix("- "): line for line in documentation.splitlines()}
    for kind, adapter in ADAPTERS.items():
        line = lines[kind]
        for event in (*adapter.receives, *adapter.sends):
            medcom = event in MESSAGE_KINDS or event in SENT_AS_MEDCOM
            if not medcom:
                assert f"{event} (local (urn:tvaerakut:message-event)" in line, (kind, event)


def test_each_message_sent_is_named_once_for_each_partner() -> None:
    """A new CareCommunication and a reply both go out as MedCom's
    care-communication-message: the statement named it twice for the GP,
    the hospital and home nursing."""
    documentation = _statement(f.client_for(None))["messaging"][0]["documentation"]
    for line in documentation.splitlines()[1:]:
        received, _, sent = line.partition("; is sent ")
        for part in (received.partition(": receives ")[2], sent.removesuffix(".")):
            named = [n.strip() for n in part.split("), ")]
            assert len(named) == len(set(named)), line
    assert documentation.count("care-communication-message (MedCom)") == sum(
        ("care-communication-message" in a.receives)
        + any(SENT_AS_MEDCOM.get(e) == "care-communication-message" for e in a.sends)
        for a in ADAPTERS.values()
    )


@pytest.mark.parametrize("value", ["maybe", "", "1", "TRUE"])
def test_pretty_that_is_no_boolean_is_refused_on_the_statement(value: str) -> None:
    """``/fhir/metadata?_pretty=maybe`` was answered as if unsaid."""
    client = f.client_for(None)
    assert client.get("/fhir/metadata?_pretty=true").status_code == 200
    assert client.get("/fhir/metadata?_pretty=false").status_code == 200
    response = client.get(f"/fhir/metadata?_pretty={value}")
    assert response.status_code == 400, response.content[:300]
    assert _issue_code(response) == "search.param_invalid"
    assert response.json()["issue"][0]["expression"] == ["_pretty"]


def test_pretty_that_is_no_boolean_is_refused_on_a_write_and_recorded(seeded_once: Seeded) -> None:
    """A write (here a Patient's update) took ``_pretty=maybe`` too; it is
    refused before anything is written, and the attempt recorded (R9)."""
    seeded = seeded_once
    client = f.client_for(seeded.nurse)
    path = f"/fhir/Patient/{seeded.person.pk}"
    body = client.get(path).json()
    before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True)[0]
    response = client.put(
        f"{path}?_pretty=maybe",
        json.dumps(body),
        content_type="application/fhir+json",
        HTTP_IF_MATCH=f'W/"{body["meta"]["versionId"]}"',
    )
    assert response.status_code == 400, response.content[:300]
    assert _issue_code(response) == "search.param_invalid"
    refused = AuditEntry.objects.filter(pk__gt=before, actor_user_id=seeded.nurse.user_id)
    assert [(e.outcome, e.citizen_id) for e in refused] == [("denied", seeded.person.pk)]
    assert client.get(path).json()["meta"]["versionId"] == body["meta"]["versionId"]


# --- values of the answer's form, history ------------------------------------------


BAD_VALUES = ("_total=bogus", "_totalMethod=x", "_pretty=maybe", "_pretty=")


@pytest.mark.parametrize("resource_type", SEARCHED)
def test_a_value_a_result_parameter_does_not_take_is_refused_on_every_search(
    resource_type: str, seeded_once: Seeded
) -> None:
    """``_total=bogus``, ``_totalMethod=x`` and ``_pretty=maybe`` were
    answered as if unsaid; each is refused naming what it takes, on GET and
    POST searches alike, and the refusal recorded (R9)."""
    seeded = seeded_once
    entry = _entries()[resource_type]
    reader = _reader(seeded, resource_type)
    client = f.client_for(reader)
    base = urlencode({n: _valid_value(seeded, n, "reference") for n in _required(entry)})
    for bad in BAD_VALUES:
        before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True)[0]
        response = client.get(f"/fhir/{resource_type}?{base}&{bad}")
        assert response.status_code == 400, (resource_type, bad, response.content[:300])
        assert _issue_code(response) == "search.param_invalid", (resource_type, bad)
        name = bad.partition("=")[0]
        assert response.json()["issue"][0]["expression"] == [name]
        assert AuditEntry.objects.filter(
            pk__gt=before, actor_user_id=reader.user_id, outcome="denied"
        ).exists(), (resource_type, bad)
        name, _, value = bad.partition("=")
        posted = client.post(f"/fhir/{resource_type}/_search?{base}", {name: value})
        assert posted.status_code == 400, (resource_type, bad)
        assert _issue_code(posted) == "search.param_invalid"
    for good in ("_total=accurate", "_total=none", "_totalMethod=count", "_pretty=false"):
        response = client.get(f"/fhir/{resource_type}?{base}&{good}")
        assert response.status_code == 200, (resource_type, good, response.content[:300])


def test_a_refused_value_is_explained_in_danish(seeded_once: Seeded) -> None:
    seeded = seeded_once
    client = f.client_for(seeded.nurse)
    response = client.get(f"/fhir/Condition?patient={seeded.person.pk}&_pretty=maybe")
    assert response.json()["issue"][0]["details"]["text"] == "_pretty skal være en af true, false."


READ_TYPES = sorted(
    t for t, e in _entries().items() if "read" in {i["code"] for i in e.get("interaction", [])}
)


@pytest.mark.parametrize("resource_type", READ_TYPES)
def test_pretty_maybe_on_a_read_is_refused_and_recorded(
    resource_type: str, seeded_once: Seeded
) -> None:
    seeded = seeded_once
    reader = _reader(seeded, resource_type)
    client = f.client_for(reader)
    path = f"/fhir/{resource_type}/{_example_id(seeded, resource_type)}"
    assert client.get(f"{path}?_pretty=true").status_code == 200
    before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True)[0]
    response = client.get(f"{path}?_pretty=maybe")
    assert response.status_code == 400, (resource_type, response.content[:300])
    assert _issue_code(response) == "search.param_invalid"
    assert AuditEntry.objects.filter(
        pk__gt=before, actor_user_id=reader.user_id, outcome="denied"
    ).exists(), resource_type


def test_pretty_maybe_on_everything_and_a_version_read_is_refused(seeded_once: Seeded) -> None:
    seeded = seeded_once
    client = f.client_for(seeded.nurse)
    record = next(i for t, i in seeded.records if t == "Condition")
    for path in (
        f"/fhir/Patient/{seeded.person.pk}/$everything",
        f"/fhir/Condition/{record}/_history/1",
    ):
        assert client.get(f"{path}?_pretty=true").status_code == 200, path
        response = client.get(f"{path}?_pretty=maybe")
        assert response.status_code == 400, path
        assert _issue_code(response) == "search.param_invalid"


@pytest.mark.parametrize(
    "path",
    [
        "/fhir/_history",
        "/fhir/Patient/_history",
        "/fhir/Condition/_history",
        "/fhir/Patient/1/_history",
    ],
)
def test_history_is_an_interaction_not_served(path: str) -> None:
    """Type- and system-level history answered 404 "not found" (Patient took
    ``_history`` for an id): it is an interaction not served, said as one,
    and the statement lists no history interaction."""
    client = f.client_for(f.staff(Role.ACUTE_NURSE, f.acute_function()))
    response = client.get(path)
    assert response.status_code == 405, (path, response.content[:300])
    outcome = OperationOutcome.model_validate(response.json())
    assert outcome.issue[0].code == "not-supported"
    assert response["Allow"] == ""
    statement = _statement(client)
    codes = {i["code"] for r in statement["rest"][0]["resource"] for i in r.get("interaction", [])}
    codes |= {i["code"] for i in statement["rest"][0].get("interaction", [])}
    assert not {"history-instance", "history-type", "history-system"} & codes


def test_history_of_a_type_not_served_is_an_unknown_type() -> None:
    response = f.client_for(None).get("/fhir/Basic/_history")
    assert response.status_code == 404
    assert _issue_code(response) == "fhir.not_supported"


# --- reference and date values as FHIR R4 writes them ----------------------------------


def _typed_reference(seeded: Seeded, name: str) -> str:
    """A declared reference parameter's value as ``<Type>/<id>``."""
    value = _valid_value(seeded, name, "reference")
    return value if "/" in value else f"Practitioner/{value}"  # agent: the acting user


def _reference_params(resource_type: str) -> list[str]:
    return [p["name"] for p in _entries()[resource_type]["searchParam"] if p["type"] == "reference"]


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    return [e["fullUrl"] for e in response.json().get("entry", [])]


@pytest.mark.parametrize("resource_type", [t for t in SEARCHED if _reference_params(t)])
def test_a_reference_on_this_base_is_searched_as_the_relative_one_on_every_type(
    resource_type: str, seeded_once: Seeded
) -> None:
    """search.html#reference: ``patient=http://<base>/Patient/7`` is the
    search ``patient=Patient/7`` (a client copies an entry's fullUrl); it was
    refused as no reference. The links carry the reference as it was read.
    Another server's URL names nothing held here: refused, and recorded (R9)."""
    seeded = seeded_once
    entry = _entries()[resource_type]
    reader = _reader(seeded, resource_type)
    client = f.client_for(reader)
    base = {n: _valid_value(seeded, n, "reference") for n in _required(entry)}
    documented = {p["name"]: p.get("documentation", "") for p in entry["searchParam"]}
    for name in _reference_params(resource_type):
        assert "absolute URL on this server's FHIR base" in documented[name], name
        typed = _typed_reference(seeded, name)
        relative = client.get(f"/fhir/{resource_type}?{urlencode({**base, name: typed})}")
        absolute = client.get(
            f"/fhir/{resource_type}?{urlencode({**base, name: f'http://testserver/fhir/{typed}'})}"
        )
        assert absolute.status_code == 200, (resource_type, name, absolute.content[:300])
        if resource_type != "AuditEvent":  # the log grows with each search of it
            assert _ids(absolute) == _ids(relative), (resource_type, name)
        links = [link["url"] for link in absolute.json()["link"]]
        assert all(urlencode({name: typed}) in url for url in links), (name, links)
        assert not any("http%3A" in url for url in links), links
        before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True)[0]
        elsewhere = client.get(
            f"/fhir/{resource_type}?"
            f"{urlencode({**base, name: f'http://elsewhere.example/fhir/{typed}'})}"
        )
        assert elsewhere.status_code == 400, (resource_type, name, elsewhere.content[:300])
        assert _issue_code(elsewhere) == "search.param_invalid", (resource_type, name)
        assert AuditEntry.objects.filter(
            pk__gt=before, actor_user_id=reader.user_id, outcome="denied"
        ).exists(), (resource_type, name)
        posted = client.post(
            f"/fhir/{resource_type}/_search", {**base, name: f"http://testserver/fhir/{typed}"}
        )
        assert posted.status_code == 200, (resource_type, name, posted.content[:300])
        if resource_type != "AuditEvent":
            assert _ids(posted) == _ids(relative), (resource_type, name)


DATE_PARAMS = sorted(
    (t, p["name"]) for t in SEARCHED for p in _entries()[t]["searchParam"] if p["type"] == "date"
)


@pytest.mark.parametrize(("resource_type", "name"), DATE_PARAMS)
@pytest.mark.parametrize("value", ["ap2026", "2026-03-29T10+01:00", "2026-13", "26"])
def test_a_date_no_clock_reads_is_refused_alike_on_every_type(
    resource_type: str, name: str, value: str, seeded_once: Seeded
) -> None:
    """``ap`` is not served and a value is one of FHIR's date forms: each
    type said so with ``search.date_invalid`` naming the forms, but the
    audit log's ``date`` answered a general "not valid"."""
    seeded = seeded_once
    entry = _entries()[resource_type]
    assert "(not ap)" in next(p["documentation"] for p in entry["searchParam"] if p["name"] == name)
    client = f.client_for(_reader(seeded, resource_type))
    base = {n: _valid_value(seeded, n, "reference") for n in _required(entry)}
    response = client.get(f"/fhir/{resource_type}?{urlencode({**base, name: value})}")
    assert response.status_code == 400, (resource_type, value, response.content[:300])
    assert _issue_code(response) == "search.date_invalid", (resource_type, value)
    assert response.json()["issue"][0]["expression"] == [name]
