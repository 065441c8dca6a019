"""R4: the citizen's say over who reads her record.

- A member of staff a refusal names personally does not record its end —
  neither its withdrawal nor a consent that reaches her: lifting it herself
  would read the citizen's record without break-the-glass's reason, time
  limit and flag. A colleague records the citizen's change; the refused
  attempt is on the citizen's log (R9).
- A reader the citizen refused is shown, of her refusals and consents, only
  those that apply to the reader, never what she said of other recipients.
- FHIR's Period.end is inclusive: a directive's end reads back as it was sent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from consent.audit.models import AuditEntry
from consent.gate import access_citizen
from consent.models import CareRelationship, ConsentDirective
from consent.services import care_relationship_open
from core.actors import Actor
from core.errors import NotFoundOrNotAllowed
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post

WITHDRAW_ORALLY = {
    "resourceType": "Parameters",
    "parameter": [{"name": "how", "valueCode": "oral"}],
}


def _coordinator(world: World) -> Any:
    """The acute function's coordinator with a referral for the citizen: staff
    who record the citizen's word besides the nurse."""
    if not CareRelationship.objects.filter(source_id="own-refusal").exists():
        care_relationship_open(
            citizen=world.person,
            organisation=world.acute,
            basis=CareRelationship.Basis.REFERRAL,
            source_type="test.referral",
            source_id="own-refusal",
        )
    return world.coordinator


def _reads(membership: Any, person: Any) -> bool:
    try:
        access_citizen(
            actor=Actor.for_membership(membership),
            citizen_id=person.pk,
            action="read",
            category="somatic-diagnosis",
            purpose="treatment",
        )
    except NotFoundOrNotAllowed:
        return False
    return True


def _record(membership: Any, world: World, **kwargs: Any) -> dict[str, Any]:
    response = post(
        f.client_for(membership), "/fhir/Consent", bodies.refusal(world.person.pk, **kwargs)
    )
    assert response.status_code == 201, response.content
    return response.json()


def _last_denied(world: World) -> AuditEntry:
    return AuditEntry.objects.filter(citizen_id=world.person.pk, outcome="denied").latest("id")


def test_r4_the_nurse_a_refusal_names_cannot_withdraw_it_a_colleague_can(world: World) -> None:
    refusal = _record(_coordinator(world), world, users=[world.nurse.user_id])
    assert not _reads(world.nurse, world.person)
    url = f"/fhir/Consent/{refusal['id']}/$withdraw"
    response = post(f.client_for(world.nurse), url, WITHDRAW_ORALLY)
    assert response.status_code == 403, response.content
    assert issue_code(response) == "consent.own_refusal"
    assert not ConsentDirective.objects.filter(withdrawal__isnull=False).exists()
    entry = _last_denied(world)
    assert (entry.action, entry.resource_type, entry.resource_id, entry.reason_code) == (
        "update",
        "Consent",
        refusal["id"],
        "consent.own_refusal",
    )
    assert not _reads(world.nurse, world.person)
    # The citizen's change, recorded by someone else, stands.
    colleague = _coordinator(world)
    assert post(f.client_for(colleague), url, WITHDRAW_ORALLY).status_code == 200
    assert _reads(world.nurse, world.person)


@pytest.mark.parametrize(
    "permit",
    [
        {},  # everyone
        {"users": "nurse"},  # her by name
        {"organisations": "acute"},  # her organisation
        {"purposes": ["TREAT"]},  # the purpose the refusal names
    ],
)
def test_r4_the_nurse_a_refusal_names_cannot_record_a_consent_that_reaches_her(
    world: World, permit: dict[str, Any]
) -> None:
    _record(_coordinator(world), world, users=[world.nurse.user_id])
    kwargs: dict[str, Any] = {"kind": "permit"}
    if permit.get("users"):
        kwargs["users"] = [world.nurse.user_id]
    if permit.get("organisations"):
        kwargs["organisations"] = [world.acute.pk]
    if permit.get("purposes"):
        kwargs["purposes"] = permit["purposes"]
    response = post(
        f.client_for(world.nurse), "/fhir/Consent", bodies.refusal(world.person.pk, **kwargs)
    )
    assert response.status_code == 403, response.content
    assert issue_code(response) == "consent.own_refusal"
    assert ConsentDirective.objects.filter(provision="permit").count() == 0
    entry = _last_denied(world)
    assert (entry.action, entry.resource_type, entry.reason_code) == (
        "create",
        "Consent",
        "consent.own_refusal",
    )
    assert not _reads(world.nurse, world.person)


def test_r4_what_does_not_lift_her_own_refusal_she_still_records(world: World) -> None:
    _record(_coordinator(world), world, users=[world.nurse.user_id], purposes=["TREAT"])
    # A consent for the citizen's GP only, a consent for another purpose, a
    # further refusal: none reaches her refusal, and she records them.
    _record(world.nurse, world, kind="permit", organisations=[world.gp.pk])
    _record(world.nurse, world, kind="permit", purposes=["HRESCH"])
    _record(world.nurse, world, organisations=[world.department.pk])
    assert not _reads(world.nurse, world.person)
    # A refusal naming only another nurse is hers to withdraw, as the citizen asks.
    other = _record(world.nurse, world, users=[world.other_nurse.user_id])
    response = post(
        f.client_for(world.nurse), f"/fhir/Consent/{other['id']}/$withdraw", WITHDRAW_ORALLY
    )
    assert response.status_code == 200, response.content


def test_r4_a_refused_reader_sees_only_the_directives_that_apply_to_her(world: World) -> None:
    """She needs what stops her (to tell the citizen, and to find what the
    citizen withdraws); whom else and for what the citizen refused or
    consented is not hers to read."""
    recorder = _coordinator(world)
    own = _record(recorder, world, organisations=[world.acute.pk])
    other = _record(recorder, world, users=[world.physician.user_id])
    consent = _record(recorder, world, kind="permit", organisations=[world.department.pk])
    nurse = f.client_for(world.nurse)
    found = nurse.get(f"/fhir/Consent?patient={world.person.pk}").json()
    assert [e["resource"]["id"] for e in found["entry"]] == [own["id"]]
    assert found["total"] == 1
    assert nurse.get(f"/fhir/Consent/{own['id']}").status_code == 200
    for hidden in (other, consent):
        assert nurse.get(f"/fhir/Consent/{hidden['id']}").status_code == 404
        entry = _last_denied(world)
        assert (entry.action, entry.resource_id, entry.reason_code) == (
            "read",
            hidden["id"],
            "refused",
        )
    searched = AuditEntry.objects.filter(
        citizen_id=world.person.pk, action="search", resource_type="Consent"
    ).latest("id")
    assert searched.detail.get("withheld") == "other_directives"
    # One the citizen did not refuse reads them all.
    assert (
        f.client_for(world.home_nurse)
        .get(f"/fhir/Consent?patient={world.person.pk}")
        .json()["total"]
        == 3
    )


def test_r4_break_the_glass_shows_every_directive_recorded_as_such(world: World) -> None:
    recorder = _coordinator(world)
    _record(recorder, world, organisations=[world.acute.pk])
    _record(recorder, world, users=[world.physician.user_id])
    opened = f.client_for(world.nurse).post(
        "/api/consent/break-glass",
        {
            "citizen_id": world.person.pk,
            "reason": "Bevidstløs; akut behov",
            "basis": "cannot_be_asked",
        },
        format="json",
    )
    assert opened.status_code == 201, opened.content
    found = f.client_for(world.nurse).get(f"/fhir/Consent?patient={world.person.pk}").json()
    assert found["total"] == 2
    entry = AuditEntry.objects.filter(action="search", resource_type="Consent").latest("id")
    assert (entry.reason_code, entry.purpose) == ("break_glass", "emergency")


@pytest.mark.parametrize("element", ["period", "data_period"])
def test_r4_a_period_end_reads_back_as_it_was_written(world: World, element: str) -> None:
    """FHIR's Period.end is inclusive: ``end: 2030-03-31`` is through that
    day, and is what a read gives back (the store keeps the first moment after)."""
    fhir_name = "period" if element == "period" else "dataPeriod"
    period = {"start": "2020-01-01", "end": "2030-03-31"}
    written = _record(world.nurse, world, **{element: period})
    assert written["provision"][fhir_name]["end"] == "2030-03-31"
    read = f.client_for(_coordinator(world)).get(f"/fhir/Consent/{written['id']}")
    assert read.json()["provision"][fhir_name]["end"] == "2030-03-31"
    stored = ConsentDirective.objects.get(pk=written["id"])
    end = stored.period_end if element == "period" else stored.data_period_end
    # In force through the 31st, Danish time, and not a moment after.
    assert timezone.localtime(end) == timezone.make_aware(dt.datetime(2030, 4, 1))
    # An end sent as an instant is read back as that instant.
    instant = (timezone.now() + dt.timedelta(days=3)).replace(microsecond=0, minute=17)
    again = _record(
        world.nurse, world, **{element: {"start": "2020-01-01", "end": instant.isoformat()}}
    )
    assert dt.datetime.fromisoformat(again["provision"][fhir_name]["end"]) == instant
