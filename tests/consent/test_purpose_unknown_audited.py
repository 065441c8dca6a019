"""R9 and R5: a purpose of use the platform does not know is refused on every
door of the shared record — and the refused attempt is itself recorded, as
denied, on the log of the citizen the request names, so that the auditor and
the citizen's insight report both see it. It was refused (400
``purpose.unknown``) without a trace in the log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from consent.audit.models import AuditEntry
from consent.models import ConsentDirective
from consent.services import consent_create
from core.actors import Actor
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, put

pytestmark = pytest.mark.django_db

UNKNOWN = {"HTTP_X_PURPOSE_OF_USE": "curiosity"}


def _directive(world: World) -> ConsentDirective:
    return consent_create(
        actor=Actor.for_membership(world.nurse),
        data=bodies.refusal(world.person.pk, organisations=[world.gp.pk]),
        purpose="treatment",
    )


def _bundle(world: World) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": bodies.diagnosis(world.person.pk),
                "request": {"method": "POST", "url": "Condition"},
            }
        ],
    }


# (door, the request, and what the entry says: action, type, id, whether it
# is on the citizen's log); ``c`` is the nurse's client, ``w`` the world, ``d`` a Consent,
# ``h`` the purpose header sent.
Ask = Callable[[Any, World, ConsentDirective, dict[str, str]], Any]
DOORS: list[tuple[str, Ask, str, str, Callable[[World, ConsentDirective], str], bool]] = [
    (
        "read",
        lambda c, w, d, h: c.get(f"/fhir/Condition/{w.diagnosis.pk}", **h),
        "read",
        "Condition",
        lambda w, d: str(w.diagnosis.pk),
        True,
    ),
    (
        "search",
        lambda c, w, d, h: c.get(f"/fhir/Condition?patient=Patient/{w.person.pk}", **h),
        "search",
        "Condition",
        lambda w, d: "",
        True,
    ),
    (
        "patient read",
        lambda c, w, d, h: c.get(f"/fhir/Patient/{w.person.pk}", **h),
        "read",
        "Patient",
        lambda w, d: str(w.person.pk),
        True,
    ),
    (
        "patient search",
        lambda c, w, d, h: c.get("/fhir/Patient?family=Hansen", **h),
        "search",
        "Patient",
        lambda w, d: "",
        False,
    ),
    (
        "$everything",
        lambda c, w, d, h: c.get(f"/fhir/Patient/{w.person.pk}/$everything", **h),
        "read",
        "Patient",
        lambda w, d: str(w.person.pk),
        True,
    ),
    (
        "_history",
        lambda c, w, d, h: c.get(f"/fhir/Condition/{w.diagnosis.pk}/_history/1", **h),
        "read",
        "Condition",
        lambda w, d: str(w.diagnosis.pk),
        True,
    ),
    (
        "create",
        lambda c, w, d, h: post(c, "/fhir/Condition", bodies.diagnosis(w.person.pk), **h),
        "create",
        "Condition",
        lambda w, d: "",
        True,
    ),
    (
        "update",
        lambda c, w, d, h: put(
            c,
            f"/fhir/Condition/{w.diagnosis.pk}",
            {**bodies.diagnosis(w.person.pk), "id": str(w.diagnosis.pk)},
            HTTP_IF_MATCH='W/"1"',
            **h,
        ),
        "update",
        "Condition",
        lambda w, d: str(w.diagnosis.pk),
        True,
    ),
    (
        "consent read",
        lambda c, w, d, h: c.get(f"/fhir/Consent/{d.pk}", **h),
        "read",
        "Consent",
        lambda w, d: str(d.pk),
        True,
    ),
    (
        "consent search",
        lambda c, w, d, h: c.get(f"/fhir/Consent?patient=Patient/{w.person.pk}", **h),
        "search",
        "Consent",
        lambda w, d: "",
        True,
    ),
    (
        "consent create",
        lambda c, w, d, h: post(c, "/fhir/Consent", bodies.refusal(w.person.pk), **h),
        "create",
        "Consent",
        lambda w, d: "",
        True,
    ),
    (
        "$withdraw",
        lambda c, w, d, h: post(
            c,
            f"/fhir/Consent/{d.pk}/$withdraw",
            {"resourceType": "Parameters", "parameter": [{"name": "how", "valueCode": "oral"}]},
            **h,
        ),
        "update",
        "Consent",
        lambda w, d: str(d.pk),
        True,
    ),
    (
        "transaction",
        lambda c, w, d, h: post(c, "/fhir/", _bundle(w), **h),
        "create",
        "Bundle",
        lambda w, d: "",
        False,
    ),
]


@pytest.mark.parametrize(
    ("door", "ask", "action", "resource_type", "resource_id", "on_citizens_log"),
    DOORS,
    ids=[door[0] for door in DOORS],
)
def test_r9_an_unknown_purpose_is_refused_and_the_attempt_recorded_on_every_door(
    world: World,
    door: str,
    ask: Ask,
    action: str,
    resource_type: str,
    resource_id: Callable[[World, ConsentDirective], str],
    on_citizens_log: bool,
) -> None:
    directive = _directive(world)
    versions = world.diagnosis.versions.count()
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = ask(f.client_for(world.nurse), world, directive, UNKNOWN)
    assert response.status_code == 400, response.content
    assert issue_code(response) == "purpose.unknown"
    added = list(AuditEntry.objects.filter(id__gt=before))
    assert [
        (e.actor_user_id, e.action, e.outcome, e.reason_code, e.resource_type, e.resource_id)
        for e in added
    ] == [
        (
            world.nurse.user_id,
            action,
            "denied",
            "purpose_unknown",
            resource_type,
            resource_id(world, directive),
        )
    ]
    # The log knows no such purpose: the entry keeps the one the nurse's role
    # exists for, and its reason says the one stated was not understood. What
    # was typed is not kept.
    assert added[0].purpose == "treatment" and "curiosity" not in str(added[0].detail)
    assert added[0].citizen_id == (world.person.pk if on_citizens_log else None)
    assert world.diagnosis.versions.count() == versions  # nothing written
    assert not ConsentDirective.objects.exclude(pk=directive.pk).exists()


def test_r5_the_refused_attempt_is_in_the_citizens_insight(world: World) -> None:
    from consent.audit.disclosures import audit_entries_for_citizen

    f.client_for(world.other_nurse).get(f"/fhir/Condition/{world.diagnosis.pk}", **UNKNOWN)
    [latest, *_] = audit_entries_for_citizen(citizen_id=world.person.pk)
    assert (latest.user_id, latest.action, latest.outcome) == (
        world.other_nurse.user_id,
        "read",
        "denied",
    )


def test_an_id_that_names_no_citizen_puts_the_attempt_on_no_ones_log(world: World) -> None:
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    client = f.client_for(world.nurse)
    for url in ("/fhir/Patient/99999999", "/fhir/Condition/99999999"):
        assert client.get(url, **UNKNOWN).status_code == 400
    added = AuditEntry.objects.filter(id__gt=before).order_by("id")
    assert [(e.reason_code, e.citizen_id) for e in added] == [("purpose_unknown", None)] * 2


def test_a_purpose_the_platform_knows_is_read_as_before(world: World) -> None:
    response = f.client_for(world.nurse).get(
        f"/fhir/Condition/{world.diagnosis.pk}", HTTP_X_PURPOSE_OF_USE="TREAT"
    )
    assert response.status_code == 200
    entry = AuditEntry.objects.latest("id")
    assert (entry.outcome, entry.reason_code, entry.purpose) == (
        "permitted",
        "care_relationship",
        "treatment",
    )


@pytest.mark.parametrize("patient", ["patient", "subject"])
def test_a_role_refused_a_citizens_clinical_search_is_on_that_citizens_log(
    world: World, patient: str
) -> None:
    """R9 and R5: a medicine officer may not search the visits' clinical
    records; her attempt names the citizen she asked about, so that it stands
    in the citizen's insight report like any other refused attempt."""
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    client = f.client_for(world.medicine_officer)
    response = client.get(f"/fhir/Observation?{patient}=Patient/{world.person.pk}")
    assert response.status_code == 403
    assert client.get("/fhir/Observation?patient=Patient/99999999").status_code == 403
    added = AuditEntry.objects.filter(id__gt=before).order_by("id")
    assert [(e.reason_code, e.outcome, e.citizen_id) for e in added] == [
        ("role_not_permitted", "denied", world.person.pk),
        ("role_not_permitted", "denied", None),
    ]
