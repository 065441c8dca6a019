"""The gate's recipients (R1, R3) and the citizen's refusals (R4)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from consent.audit.models import AuditEntry
from consent.gate import access_citizen
from consent.models import CareRelationship, ConsentDirective
from consent.services import care_relationship_close, care_relationship_open
from core.actors import Actor
from core.errors import NotFoundOrNotAllowed
from core.models import Role
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post


def reads(membership, person, purpose: str = "treatment") -> bool:
    try:
        access_citizen(
            actor=Actor.for_membership(membership),
            citizen_id=person.pk,
            action="read",
            category="somatic-diagnosis",
            purpose=purpose,
        )
    except NotFoundOrNotAllowed:
        return False
    return True


def test_r1_own_gp_home_nursing_of_the_municipality_and_open_hospital_contact(world: World) -> None:
    assert reads(world.physician, world.person)  # the citizen's own GP
    other_gp = f.staff(Role.PHYSICIAN, f.gp_practice())
    assert not reads(other_gp, world.person)
    assert reads(world.home_nurse, world.person)  # Gentofte home nursing, Gentofte citizen
    gladsaxe_home = f.staff(Role.HOME_NURSE, f.home_nursing("159"))
    assert not reads(gladsaxe_home, world.person)
    assert not reads(world.hospital_physician, world.person)
    care_relationship_open(
        citizen=world.person,
        organisation=world.department,
        basis=CareRelationship.Basis.HOSPITAL_CONTACT,
        source_type="test.admission",
        source_id="1",
    )
    assert reads(world.hospital_physician, world.person)
    care_relationship_close(source_type="test.admission", source_id="1")
    assert not reads(world.hospital_physician, world.person)


def test_r1_coordinator_needs_an_active_referral_of_the_acute_function(world: World) -> None:
    assert not reads(world.coordinator, world.person)  # the nurse's own visit is not hers
    care_relationship_open(
        citizen=world.person,
        organisation=world.acute,
        basis=CareRelationship.Basis.REFERRAL,
        source_type="test.referral",
        source_id="7",
    )
    assert reads(world.coordinator, world.person)
    assert not reads(world.other_nurse, world.person)  # a referral is not her visit


def test_r3_roles_outside_care_never_read_the_record(world: World) -> None:
    for membership in (world.auditor, world.analyst, world.administrator, world.medicine_officer):
        assert not reads(membership, world.person)
    assert not reads(world.nurse, world.person, purpose="operations")
    assert not reads(world.nurse, world.person, purpose="emergency")  # only with break-the-glass
    assert list(
        AuditEntry.objects.filter(outcome="denied", citizen_id=world.person.pk)
        .values_list("reason_code", flat=True)
        .distinct()
        .order_by("reason_code")
    ) == ["no_break_glass", "purpose_not_permitted", "role_not_permitted"]


def _refuse(world: World, **kwargs) -> dict:
    response = post(
        f.client_for(world.nurse), "/fhir/Consent", bodies.refusal(world.person.pk, **kwargs)
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_r4_whole_refusal_stops_every_recipient(world: World) -> None:
    _refuse(world)
    assert not reads(world.nurse, world.person)
    assert not reads(world.physician, world.person)
    assert not reads(world.home_nurse, world.person)


def test_r4_refusal_of_an_organisation_with_its_sub_units(world: World) -> None:
    hospital = world.department.parent
    _refuse(world, organisations=[hospital.pk])
    care_relationship_open(
        citizen=world.person,
        organisation=world.department,
        basis=CareRelationship.Basis.HOSPITAL_CONTACT,
        source_type="test.admission",
        source_id="2",
    )
    assert not reads(world.hospital_physician, world.person)  # the department is a sub-unit
    assert reads(world.nurse, world.person)  # others still read


def test_r4_refusal_without_sub_units_spares_the_department(world: World) -> None:
    _refuse(world, organisations=[world.department.parent.pk], sub_units=False)
    care_relationship_open(
        citizen=world.person,
        organisation=world.department,
        basis=CareRelationship.Basis.HOSPITAL_CONTACT,
        source_type="test.admission",
        source_id="3",
    )
    assert reads(world.hospital_physician, world.person)


def test_r4_a_refusal_given_after_a_consent_stands(world: World) -> None:
    """The citizen's latest word for a reader stands: a consent to everyone
    recorded earlier does not lift a refusal of the acute function given
    afterwards, at the gate or in a search; a consent given after it does."""
    _refuse(world, kind="permit")
    _refuse(world, organisations=[world.acute.pk])
    assert not reads(world.nurse, world.person)
    client = f.client_for(world.nurse)
    assert client.get(f"/fhir/Condition/{world.diagnosis.pk}").status_code == 404
    found = client.get(f"/fhir/Condition?patient={world.person.pk}").json()
    assert found["total"] == 0 and not found.get("entry")
    assert reads(world.physician, world.person)  # the refusal names the acute function only
    # Recorded outside the acute function: its own members do not lift its refusal.
    response = post(
        f.client_for(world.physician),
        "/fhir/Consent",
        bodies.refusal(world.person.pk, kind="permit", organisations=[world.acute.pk]),
    )
    assert response.status_code == 201, response.content
    assert reads(world.nurse, world.person)
    assert client.get(f"/fhir/Condition/{world.diagnosis.pk}").status_code == 200


def test_r4_a_consent_to_a_hospital_does_not_lift_a_later_refusal_of_its_department(
    world: World,
) -> None:
    care_relationship_open(
        citizen=world.person,
        organisation=world.department,
        basis=CareRelationship.Basis.HOSPITAL_CONTACT,
        source_type="test.admission",
        source_id="4",
    )
    _refuse(world, kind="permit", organisations=[world.department.parent.pk])
    _refuse(world, organisations=[world.department.pk])
    assert not reads(world.hospital_physician, world.person)
    _refuse(world, purposes=["TREAT"], data_period={"start": "2020-01-01", "end": "2030-12-31"})
    assert not reads(world.hospital_physician, world.person)


def test_r4_refusal_of_a_named_professional(world: World) -> None:
    _refuse(world, users=[world.physician.user_id])
    assert not reads(world.physician, world.person)
    colleague = f.staff(Role.PHYSICIAN, world.gp)
    assert reads(colleague, world.person)


def test_r4_refusal_for_a_purpose_and_for_a_period(world: World) -> None:
    _refuse(world, purposes=["HOPERAT"])
    assert reads(world.nurse, world.person)  # treatment is not refused
    now = timezone.now()
    _refuse(
        world,
        period={
            "start": (now + dt.timedelta(days=1)).isoformat(),
            "end": (now + dt.timedelta(days=9)).isoformat(),
        },
    )
    assert reads(world.nurse, world.person)  # not yet in force
    ConsentDirective.objects.filter(period_end__isnull=False).update(
        period_start=now - dt.timedelta(days=1)
    )
    assert not reads(world.nurse, world.person)


def test_r4_withdrawal_keeps_history_and_consent_lifts_a_refusal(world: World) -> None:
    refusal = _refuse(world, how="written")
    assert refusal["status"] == "active" and refusal["provision"]["type"] == "deny"
    assert not reads(world.nurse, world.person)
    client = f.client_for(world.nurse)  # a refusal never blocks recording the citizen's wishes
    withdrawn = post(
        client,
        f"/fhir/Consent/{refusal['id']}/$withdraw",
        {"resourceType": "Parameters", "parameter": [{"name": "how", "valueCode": "oral"}]},
    )
    assert withdrawn.status_code == 200, withdrawn.content
    assert withdrawn.json()["status"] == "inactive"
    assert reads(world.nurse, world.person)
    again = post(
        client,
        f"/fhir/Consent/{refusal['id']}/$withdraw",
        {"resourceType": "Parameters", "parameter": [{"name": "how", "valueCode": "oral"}]},
    )
    assert again.status_code == 409
    history = client.get(f"/fhir/Consent?patient={world.person.pk}").json()
    assert [e["resource"]["status"] for e in history["entry"]] == ["inactive"]
    _refuse(world)
    _refuse(world, kind="permit", organisations=[world.acute.pk])
    assert reads(world.nurse, world.person)  # the citizen consented for the acute function
    assert not reads(world.physician, world.person)


def test_r4_consent_needs_how_it_was_given_and_known_recipients(world: World) -> None:
    client = f.client_for(world.nurse)
    body = bodies.refusal(world.person.pk)
    del body["extension"]
    response = post(client, "/fhir/Consent", body)
    assert response.status_code == 400 and issue_code(response) == "consent.given_how_required"
    response = post(
        client, "/fhir/Consent", bodies.refusal(world.person.pk, organisations=[999999])
    )
    assert response.status_code == 400 and issue_code(response) == "consent.organisation_unknown"
    assert not ConsentDirective.objects.exists()
    stranger = f.client_for(world.other_nurse)
    assert post(stranger, "/fhir/Consent", bodies.refusal(world.person.pk)).status_code == 404


def test_r4_administrator_records_consent_but_reads_nothing(world: World) -> None:
    client = f.client_for(world.administrator)
    response = post(
        client,
        "/fhir/Consent",
        bodies.refusal(world.person.pk),
        HTTP_X_PURPOSE_OF_USE="operations",
    )
    assert response.status_code == 201
    # Deny by default: the administrator never reads the record, refused as such.
    assert client.get(f"/fhir/Condition/{world.diagnosis.pk}").status_code == 403
    entry = AuditEntry.objects.filter(resource_type="Consent", action="create").get()
    assert entry.reason_code == "consent_administration"


@pytest.mark.parametrize("purpose", ["treatment", "TREAT"])
def test_purpose_header_accepts_platform_and_hl7_codes(world: World, purpose: str) -> None:
    response = f.client_for(world.nurse).get(
        f"/fhir/Condition/{world.diagnosis.pk}", HTTP_X_PURPOSE_OF_USE=purpose
    )
    assert response.status_code == 200


def test_background_work_for_a_partner_follows_the_partners_relationship_and_refusals(
    world: World,
) -> None:
    def hand_off(partner) -> bool:
        try:
            access_citizen(
                actor=Actor.system("integrations.hand_back", partner=partner),
                citizen_id=world.person.pk,
                action="disclose",
                category="patient",
                purpose="treatment",
            )
        except NotFoundOrNotAllowed:
            return False
        return True

    assert hand_off(world.home)  # home nursing of the citizen's municipality
    assert not hand_off(f.home_nursing("159"))
    assert not hand_off(None)
    _refuse(world, organisations=[world.home.pk])
    assert not hand_off(world.home)
    entry = AuditEntry.objects.filter(task="integrations.hand_back").latest("id")
    assert (entry.outcome, entry.reason_code) == ("denied", "refused")


@pytest.mark.postgres  # SQLite's audit append takes statements of its own (one writer, in Python)
def test_consent_search_query_count_is_pinned(world: World, django_assert_max_num_queries) -> None:
    for purpose in ("TREAT", "HOPERAT", "HRESCH"):
        _refuse(world, purposes=[purpose], organisations=[world.gp.pk])
    client = f.client_for(world.nurse)
    client.get(f"/fhir/Consent?patient={world.person.pk}")
    with django_assert_max_num_queries(10):
        found = client.get(f"/fhir/Consent?patient={world.person.pk}").json()
    assert found["total"] == 3


@pytest.mark.parametrize(
    "who", ["nurse", "other_nurse", "coordinator", "physician", "home_nurse", "auditor", "analyst"]
)
def test_the_gate_query_compiled_once_gives_what_the_orm_gives(world: World, who: str) -> None:
    """The gate's citizen query is compiled once per shape of actor and run with
    each caller's values: the citizen and her facts must equal the ORM's."""
    from django.forms.models import model_to_dict
    from django.utils import timezone

    from consent.gate import queries
    from core.actors import Actor

    actor = Actor.for_membership(getattr(world, who))
    for _ in range(3):
        fast = queries.citizen_with_facts(actor, world.person.pk)
        orm = queries.facts_queryset(actor, world.person.pk, timezone.now()).get()
        assert fast is not None
        assert model_to_dict(fast) == model_to_dict(orm)
        assert getattr(fast, "has_directives", None) == getattr(orm, "has_directives", None)
        assert getattr(fast, "open_basis", None) == getattr(orm, "open_basis", None)
    assert queries.citizen_with_facts(actor, -1) is None
