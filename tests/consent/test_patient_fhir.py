"""Patient create and versioned update over FHIR: R4B validation, the CPR
identifier checked and never echoed, duplicates by CPR refused, who may
register and who may update — through the gate and audited (R1, R3, R9)."""

from __future__ import annotations

import json
import logging

import pytest

from consent.audit.models import AuditEntry
from consent.models import PatientVersion
from core.models import Citizen, Role
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, issue_code, post, put

REGISTRARS = {Role.COORDINATOR, Role.HOME_NURSE}


def _new_cpr() -> str:
    number = f.cpr_number()
    while Citizen.objects.filter(cpr=number).exists():
        number = f.cpr_number()
    return number


def _no_cpr_anywhere(cpr: str, *responses, caplog=None) -> None:
    for response in responses:
        assert cpr not in response.content.decode()
        assert all(cpr not in str(value) for value in response.headers.values())
    for entry in AuditEntry.objects.all():
        assert cpr not in json.dumps(entry.detail) and cpr not in entry.resource_id
    if caplog is not None:
        assert cpr not in caplog.text


def test_coordinator_registers_a_citizen_with_version_and_audit(world: World) -> None:
    cpr = _new_cpr()
    response = post(
        f.client_for(world.coordinator), "/fhir/Patient", bodies.patient(cpr, gp_id=world.gp.pk)
    )
    assert response.status_code == 201, response.content
    body = response.json()
    citizen = Citizen.objects.get(cpr=cpr)
    assert body["id"] == str(citizen.pk)
    assert body["identifier"] == [{"system": bodies.CPR, "value": cpr}]
    assert body["meta"]["versionId"] == "1" and response["ETag"] == 'W/"1"'
    assert response["Location"].endswith(f"/fhir/Patient/{citizen.pk}")
    assert (citizen.given_name, citizen.family_name, citizen.city) == (
        "Karen Marie",
        "Hansen",
        "Hellerup",
    )
    assert citizen.municipality.municipality_code == "157"
    assert citizen.gp_practice_id == world.gp.pk
    assert str(citizen.latitude) == "55.736100"
    version = PatientVersion.objects.get(citizen=citizen)
    assert version.version_id == 1 and "identifier" not in version.body  # CPR stored once
    entry = AuditEntry.objects.filter(citizen_id=citizen.pk).get()
    assert (entry.action, entry.outcome, entry.reason_code, entry.resource_type) == (
        "create",
        "permitted",
        "patient_intake",
        "Patient",
    )
    _no_cpr_anywhere(cpr)


def test_home_nursing_registers_residents_of_its_own_municipality_only(world: World) -> None:
    client = f.client_for(world.home_nurse)
    own = post(client, "/fhir/Patient", bodies.patient(_new_cpr()))
    assert own.status_code == 201, own.content
    f.municipality("159")
    cpr = _new_cpr()
    other = post(client, "/fhir/Patient", bodies.patient(cpr, municipality="159"))
    assert other.status_code == 403 and issue_code(other) == "patient.create_not_permitted"
    assert not Citizen.objects.filter(cpr=cpr).exists()
    entry = AuditEntry.objects.filter(actor_user_id=world.home_nurse.user_id).latest("id")
    assert (entry.action, entry.outcome, entry.reason_code) == (
        "create",
        "denied",
        "municipality_not_served",
    )


@pytest.mark.parametrize("role", sorted(set(Role.values) - REGISTRARS))
def test_other_roles_do_not_register_citizens_and_are_audited(world: World, role: str) -> None:
    cpr = _new_cpr()
    response = post(f.client_for(world.by_role()[role]), "/fhir/Patient", bodies.patient(cpr))
    assert response.status_code == 403 and issue_code(response) == "patient.create_not_permitted"
    assert not Citizen.objects.filter(cpr=cpr).exists()
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.outcome, entry.reason_code) == (
        "create",
        "denied",
        "role_not_permitted",
    )


def test_a_registered_cpr_is_refused_not_duplicated_and_not_revealed(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cpr = world.person.cpr
    response = post(f.client_for(world.coordinator), "/fhir/Patient", bodies.patient(cpr))
    assert response.status_code == 409 and issue_code(response) == "patient.exists"
    outcome = response.json()["issue"][0]
    assert outcome["code"] == "duplicate"  # FHIR's issue type for a record already there
    assert "_search" in outcome["diagnostics"]
    assert str(world.person.pk) not in outcome["diagnostics"]  # not even the id
    assert Citizen.objects.filter(cpr=cpr).count() == 1
    assert world.person.given_name == Citizen.objects.get(cpr=cpr).given_name  # untouched
    entry = AuditEntry.objects.latest("id")
    assert (entry.outcome, entry.reason_code, entry.citizen_id) == (
        "denied",
        "patient_exists",
        world.person.pk,
    )
    _no_cpr_anywhere(cpr, response, caplog=caplog)


@pytest.mark.parametrize(
    ("mutate", "status", "code"),
    [
        (lambda b, cpr: b.pop("identifier"), 400, "patient.cpr_required"),
        (
            lambda b, cpr: b["identifier"][0].update(value="3202" + cpr[4:]),
            400,
            "cpr.invalid",
        ),
        (lambda b, cpr: b["identifier"][0].update(value=cpr[:9]), 400, "cpr.invalid"),
        (lambda b, cpr: b.update(birthDate="1999-01-01"), 400, "patient.cpr_mismatch"),
        (lambda b, cpr: b.update(gender="male"), 400, "patient.cpr_mismatch"),
        (lambda b, cpr: b.update(birthDate="2. marts 1941"), 400, "fhir.invalid"),
        # A FHIR boolean is JSON's true or false: "yes", "on" or 1 were read as true.
        (lambda b, cpr: b.update(active="yes"), 400, "fhir.invalid"),
        (lambda b, cpr: b.update(active=1), 400, "fhir.invalid"),
        (lambda b, cpr: b.update(multipleBirthBoolean="false"), 400, "fhir.invalid"),
        (lambda b, cpr: b.update(name=[{"family": "Hansen"}]), 400, "patient.name_required"),
        (lambda b, cpr: b["address"][0].pop("extension"), 400, "patient.geolocation_required"),
        (lambda b, cpr: b["address"][0].update(postalCode="29"), 400, "patient.address_required"),
        (
            lambda b, cpr: b["extension"][0]["valueCodeableConcept"]["coding"][0].update(
                code="999"
            ),
            400,
            "patient.municipality_unknown",
        ),
        (lambda b, cpr: b.pop("extension"), 400, "patient.municipality_required"),
        (
            lambda b, cpr: b.update(generalPractitioner=[{"reference": "Organization/999999"}]),
            400,
            "patient.gp_unknown",
        ),
        (lambda b, cpr: b.update(resourceType="Practitioner"), 400, "fhir.type_mismatch"),
    ],
)
def test_bad_patients_are_refused_precisely_without_echoing_the_cpr(
    world: World, mutate, status: int, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cpr = _new_cpr()
    body = bodies.patient(cpr)
    mutate(body, cpr)
    sent = body["identifier"][0]["value"] if body.get("identifier") else cpr
    response = post(f.client_for(world.coordinator), "/fhir/Patient", body)
    assert response.status_code == status, response.content
    assert issue_code(response) == code
    assert response.json()["resourceType"] == "OperationOutcome"
    assert Citizen.objects.count() == 1  # only the world's citizen
    assert AuditEntry.objects.latest("id").outcome == "denied"
    _no_cpr_anywhere(sent, response, caplog=caplog)
    _no_cpr_anywhere(cpr, response, caplog=caplog)


def test_nurse_with_a_visit_updates_the_address_with_if_match(world: World) -> None:
    client = f.client_for(world.nurse)
    read = client.get(f"/fhir/Patient/{world.person.pk}")
    assert read.status_code == 200 and read["ETag"] == 'W/"1"'
    body = bodies.patient(world.person.cpr, line="Strandvejen 100")
    updated = put(client, f"/fhir/Patient/{world.person.pk}", body, HTTP_IF_MATCH='W/"1"')
    assert updated.status_code == 200, updated.content
    assert updated["ETag"] == 'W/"2"' and updated.json()["meta"]["versionId"] == "2"
    world.person.refresh_from_db()
    assert world.person.address_line == "Strandvejen 100"
    versions = list(PatientVersion.objects.filter(citizen=world.person).order_by("version_id"))
    assert [v.version_id for v in versions] == [1, 2]
    assert versions[0].body["address"][0]["line"] == ["Gentoftegade 1"]  # the state before
    assert versions[1].recorded_by_id == world.nurse.user_id
    stale = put(client, f"/fhir/Patient/{world.person.pk}", body, HTTP_IF_MATCH='W/"1"')
    assert stale.status_code == 412 and issue_code(stale) == "patient.version_conflict"
    refused = AuditEntry.objects.filter(citizen_id=world.person.pk).latest("id")
    assert (refused.action, refused.outcome, refused.reason_code) == (
        "update",
        "denied",
        "patient.version_conflict",
    )
    assert PatientVersion.objects.filter(citizen=world.person).count() == 2
    missing = put(client, f"/fhir/Patient/{world.person.pk}", body)
    assert missing.status_code == 412 and issue_code(missing) == "patient.version_required"
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk, action="update").first()
    assert entry is not None and (entry.outcome, entry.reason_code) == (
        "permitted",
        "care_relationship",
    )
    assert client.get(f"/fhir/Patient/{world.person.pk}")["ETag"] == 'W/"2"'


def test_an_update_cannot_change_the_cpr_number_or_the_id(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = f.client_for(world.nurse)
    other = _new_cpr()
    changed = put(
        client,
        f"/fhir/Patient/{world.person.pk}",
        bodies.patient(other),
        HTTP_IF_MATCH='W/"1"',
    )
    assert changed.status_code == 400 and issue_code(changed) == "patient.cpr_changed"
    _no_cpr_anywhere(other, changed, caplog=caplog)
    _no_cpr_anywhere(world.person.cpr, changed, caplog=caplog)
    moved = put(
        client,
        f"/fhir/Patient/{world.person.pk}",
        bodies.patient(world.person.cpr, id="999"),
        HTTP_IF_MATCH='W/"1"',
    )
    assert moved.status_code == 400 and issue_code(moved) == "fhir.id_mismatch"
    assert not PatientVersion.objects.exists()


def test_a_death_that_cannot_be_true_is_refused_and_a_death_in_error_is_corrected(
    world: World,
) -> None:
    """A time of death to come, or before the citizen was born, would stop
    every referral and visit for a living citizen: refused, naming the
    element, audited. A true death stops new referrals; the Patient written
    again without it corrects a death recorded in error, and referrals are
    taken again."""
    import datetime as dt

    from django.utils import timezone

    client = f.client_for(world.nurse)
    url = f"/fhir/Patient/{world.person.pk}"
    born = world.person.birth_date
    for when, code in (
        (timezone.now() + dt.timedelta(days=1), "death.in_future"),
        (dt.datetime(born.year - 1, 1, 1, 12, tzinfo=dt.UTC), "death.before_birth"),
    ):
        body = bodies.patient(world.person.cpr, deceasedDateTime=when.isoformat())
        refused = put(client, url, body, HTTP_IF_MATCH='W/"1"')
        assert refused.status_code == 400, refused.content
        assert issue_code(refused) == code
        assert AuditEntry.objects.filter(
            citizen_id=world.person.pk, outcome="denied", reason_code=code
        ).exists()
    world.person.refresh_from_db()
    assert world.person.deceased_at is None and not PatientVersion.objects.exists()

    died = (timezone.now() - dt.timedelta(hours=3)).replace(microsecond=0)
    body = bodies.patient(world.person.cpr, deceasedDateTime=died.isoformat())
    assert put(client, url, body, HTTP_IF_MATCH='W/"1"').status_code == 200
    referral = {
        "citizen_id": world.person.pk,
        "source": "gp",
        "referrer_name": "Læge Hansen",
        "referrer_phone": "+4539000000",
        "reason": "Feber",
        "clinical_picture": "Temp 39",
        "requested_actions": "Vurdering",
        "urgency": "within_2_hours",
        "responsible_physician_name": "Læge Hansen",
        "responsible_physician_phone": "+4539000000",
    }
    coordinator = f.client_for(world.coordinator)
    refused = coordinator.post("/api/acute/referrals", referral, format="json")
    assert refused.status_code == 412
    assert refused.json()["error"]["code"] == "referral.citizen_deceased"

    corrected = put(client, url, bodies.patient(world.person.cpr), HTTP_IF_MATCH='W/"2"')
    assert corrected.status_code == 200, corrected.content
    world.person.refresh_from_db()
    assert world.person.deceased_at is None
    taken = coordinator.post("/api/acute/referrals", referral, format="json")
    assert taken.status_code == 201, taken.json()


def test_a_death_on_the_patient_closes_her_referrals_and_withdraws_her_visits(
    world: World,
) -> None:
    """A death registered on her Patient does what the hospital's
    HospitalNotification does (acute.services.deaths): the referral awaiting
    triage and the accepted one are closed, the visit not yet at the door is
    withdrawn, in the same transaction as the update."""
    import datetime as dt

    from django.utils import timezone

    from acute import services as acute_services
    from acute.models import Episode, Outcome, Referral, Visit
    from core.actors import Actor

    waiting = f.acute_referral(person=world.person, accepted=False, by=world.coordinator)
    accepted = f.acute_referral(person=world.person, by=world.coordinator)
    _nurse, shift = f.acute_nurse_on_shift()
    visit = Visit.objects.filter(referral=accepted).first() or acute_services.visit_assign(
        referral=accepted, shift=shift, actor=Actor.for_membership(world.coordinator)
    )
    died = (timezone.now() - dt.timedelta(minutes=30)).replace(microsecond=0)
    body = bodies.patient(world.person.cpr, deceasedDateTime=died.isoformat())
    response = put(
        f.client_for(world.nurse), f"/fhir/Patient/{world.person.pk}", body, HTTP_IF_MATCH='W/"1"'
    )
    assert response.status_code == 200, response.content
    for referral in (waiting, accepted):
        referral.refresh_from_db()
        assert referral.status == Referral.Status.CLOSED
        # The board says why: she died (not "admitted to hospital"); the
        # episode ends as died, and with no partner configured here the
        # outcome and the hand-back are raised for the coordinator (R11).
        kinds = {w.kind for w in referral.warnings.all()}
        assert "deceased" in kinds and "admitted" not in kinds
    assert Episode.objects.get(pk=accepted.episode_id).outcome == Outcome.DIED
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED
    assert visit.cancel_reason == Visit.CancelReason.DECEASED
    assert visit.cancel_note == "Borgeren er registreret som død."


def test_a_death_without_its_time_is_refused_and_a_registered_one_keeps_its_time(
    world: World,
) -> None:
    """deceasedBoolean true says nothing of when: a new death needs
    deceasedDateTime (refused, naming it, audited, nothing written); a death
    already registered, written back as the flag, keeps its time."""
    import datetime as dt

    from django.utils import timezone

    client = f.client_for(world.nurse)
    url = f"/fhir/Patient/{world.person.pk}"
    flag = bodies.patient(world.person.cpr, deceasedBoolean=True)
    refused = put(client, url, flag, HTTP_IF_MATCH='W/"1"')
    assert refused.status_code == 400, refused.content
    assert issue_code(refused) == "patient.deceased_time_required"
    assert "deceasedDateTime" in refused.json()["issue"][0]["diagnostics"]
    assert AuditEntry.objects.filter(
        citizen_id=world.person.pk, outcome="denied", reason_code="patient.deceased_time_required"
    ).exists()
    world.person.refresh_from_db()
    assert world.person.deceased_at is None and not PatientVersion.objects.exists()

    died = (timezone.now() - dt.timedelta(hours=2)).replace(microsecond=0)
    body = bodies.patient(world.person.cpr, deceasedDateTime=died.isoformat())
    assert put(client, url, body, HTTP_IF_MATCH='W/"1"').status_code == 200
    kept = put(client, url, flag, HTTP_IF_MATCH='W/"2"')
    assert kept.status_code == 200, kept.content
    world.person.refresh_from_db()
    assert world.person.deceased_at == died


def test_updates_by_those_the_gate_refuses_look_like_an_unknown_patient(world: World) -> None:
    body = bodies.patient(world.person.cpr, line="Ukendt vej 1")
    unknown = put(f.client_for(world.nurse), "/fhir/Patient/99999999", body, HTTP_IF_MATCH="1")
    for membership in (world.other_nurse, world.auditor, world.analyst, world.hospital_physician):
        response = put(
            f.client_for(membership),
            f"/fhir/Patient/{world.person.pk}",
            body,
            HTTP_IF_MATCH='W/"1"',
        )
        assert response.status_code == 404 and response.json() == unknown.json()
    refusal = post(
        f.client_for(world.nurse),
        "/fhir/Consent",
        bodies.refusal(world.person.pk, organisations=[world.acute.pk]),
    )
    assert refusal.status_code == 201
    refused = put(
        f.client_for(world.nurse), f"/fhir/Patient/{world.person.pk}", body, HTTP_IF_MATCH='W/"1"'
    )
    assert refused.status_code == 404
    world.person.refresh_from_db()
    assert world.person.address_line == "Gentoftegade 1"
    assert (
        AuditEntry.objects.filter(
            citizen_id=world.person.pk, action="update", outcome="denied"
        ).count()
        == 5
    )


def test_the_capability_statement_lists_patient_create_and_update(client) -> None:
    statement = client.get("/fhir/metadata").json()
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    codes = {i["code"] for i in patient["interaction"]}
    assert {"read", "create", "update", "search-type"} <= codes
    assert patient["versioning"] == "versioned-update"


def test_a_patient_as_read_can_be_written_back_changed(world: World) -> None:
    """What the platform serves is what it takes: read, change the phone, PUT."""
    client = f.client_for(world.physician)  # the citizen's own GP
    read = client.get(f"/fhir/Patient/{world.person.pk}")
    body = read.json()
    body["telecom"] = [{"system": "phone", "value": "+4570101010", "use": "home"}]
    body["gender"] = "unknown"  # accepted; the legal sex follows the CPR number
    written = put(client, f"/fhir/Patient/{world.person.pk}", body, HTTP_IF_MATCH=read["ETag"])
    assert written.status_code == 200, written.content
    world.person.refresh_from_db()
    assert world.person.phone == "+4570101010"
    assert world.person.gp_practice_id == world.gp.pk and world.person.sex == "female"
    assert written.json()["gender"] == "female"


def test_a_citizen_registered_dead_is_registered_with_her_checked_death(world: World) -> None:
    """Registering a Patient reads her death as an update does: a time that
    cannot be true, or deceasedBoolean true without a time, is refused
    (audited, nothing written); a true time is recorded, on version 1 and
    its audit entry."""
    import datetime as dt

    from django.utils import timezone

    client = f.client_for(world.coordinator)
    cpr = _new_cpr()
    for extra, code in (
        (
            {"deceasedDateTime": (timezone.now() + dt.timedelta(days=1)).isoformat()},
            "death.in_future",
        ),
        ({"deceasedDateTime": "1850-01-01T12:00:00+01:00"}, "death.before_birth"),
        ({"deceasedBoolean": True}, "patient.deceased_time_required"),
        # A month says she died, not when: refused, not registered alive.
        ({"deceasedDateTime": "2025-03"}, "patient.deceased_time_required"),
    ):
        refused = post(client, "/fhir/Patient", bodies.patient(cpr, **extra))
        assert refused.status_code == 400, refused.content
        assert issue_code(refused) == code
        assert AuditEntry.objects.filter(
            action="create", outcome="denied", reason_code=code, resource_type="Patient"
        ).exists()
        assert not Citizen.objects.filter(cpr=cpr).exists()

    died = (timezone.now() - dt.timedelta(hours=1)).replace(microsecond=0)
    created = post(client, "/fhir/Patient", bodies.patient(cpr, deceasedDateTime=died.isoformat()))
    assert created.status_code == 201, created.content
    citizen = Citizen.objects.get(cpr=cpr)
    assert citizen.deceased_at == died
    assert dt.datetime.fromisoformat(created.json()["deceasedDateTime"]) == died
    version = PatientVersion.objects.get(citizen=citizen, version_id=1)
    assert dt.datetime.fromisoformat(version.body["deceasedDateTime"]) == died
    entry = AuditEntry.objects.get(citizen_id=citizen.pk, action="create", outcome="permitted")
    assert entry.detail["version"] == 1
    _no_cpr_anywhere(cpr)


def test_a_death_withdrawn_on_the_patient_is_audited_as_the_hospitals_correction(
    world: World,
) -> None:
    """The Patient written again without her death withdraws it: audited
    with reason death_withdrawn and the time withdrawn, as the hospital's
    HospitalNotification correction is, so every withdrawn death is found
    the same way."""
    import datetime as dt

    from django.utils import timezone

    client = f.client_for(world.nurse)
    url = f"/fhir/Patient/{world.person.pk}"
    died = (timezone.now() - dt.timedelta(hours=3)).replace(microsecond=0)
    body = bodies.patient(world.person.cpr, deceasedDateTime=died.isoformat())
    assert put(client, url, body, HTTP_IF_MATCH='W/"1"').status_code == 200
    assert not AuditEntry.objects.filter(reason_code="death_withdrawn").exists()
    kept = put(client, url, body, HTTP_IF_MATCH='W/"2"')
    assert kept.status_code == 200
    assert not AuditEntry.objects.filter(reason_code="death_withdrawn").exists()

    corrected = put(client, url, bodies.patient(world.person.cpr), HTTP_IF_MATCH='W/"3"')
    assert corrected.status_code == 200, corrected.content
    withdrawn = AuditEntry.objects.get(citizen_id=world.person.pk, reason_code="death_withdrawn")
    assert (withdrawn.action, withdrawn.outcome, withdrawn.resource_type) == (
        "update",
        "permitted",
        "Patient",
    )
    assert dt.datetime.fromisoformat(withdrawn.detail["deceased_at_withdrawn"]) == died
    assert withdrawn.detail["version"] == 4
    assert withdrawn.detail["gate_reason"]  # the gate's reason is kept
    world.person.refresh_from_db()
    assert world.person.deceased_at is None


def test_coordinator_registers_residents_only_of_a_municipality_her_function_serves(
    world: World,
) -> None:
    """A municipality that takes part but that her acute function does not
    serve (another region's function, or one removed from hers): she could
    take no referral for its residents, so she does not register them."""
    elsewhere = f.municipality("190")
    elsewhere.participates = True
    elsewhere.save(update_fields=["participates"])
    client = f.client_for(world.coordinator)
    cpr = _new_cpr()
    refused = post(client, "/fhir/Patient", bodies.patient(cpr, municipality="190"))
    assert refused.status_code == 403 and issue_code(refused) == "patient.create_not_permitted"
    assert not Citizen.objects.filter(cpr=cpr).exists()
    entry = AuditEntry.objects.filter(actor_user_id=world.coordinator.user_id).latest("id")
    assert (entry.action, entry.outcome, entry.reason_code) == (
        "create",
        "denied",
        "municipality_not_served",
    )
    # Joined by configuration: served by her function, and she registers.
    world.acute.serves.add(elsewhere)
    joined = post(client, "/fhir/Patient", bodies.patient(cpr, municipality="190"))
    assert joined.status_code == 201, joined.content
    assert Citizen.objects.get(cpr=cpr).municipality == elsewhere
