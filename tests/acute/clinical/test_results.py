"""Tests and procedures on a visit (R7): interpretation, critical values, eGFR,
plausibility, delegation, the GP's copy, and who is refused."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from acute.clinical import signals
from acute.clinical.egfr import egfr_ckd_epi_2021
from acute.clinical.models import (
    Delegation,
    LabResult,
    MedicationOrder,
    PhysicianAlert,
    ProcedureRecord,
    TestDefinition,
)
from acute.models import Referral, Visit
from consent.audit.models import AuditEntry
from core.models import Role
from tests import factories
from tests.acute.clinical.conftest import PHONE_ORDER, Scene, visit_scene

pytestmark = pytest.mark.django_db


def results_url(scene: Scene) -> str:
    return f"/api/clinical/visits/{scene.visit.pk}/results"


def post_results(scene: Scene, *results: dict[str, object], membership=None):
    client = factories.client_for(membership or scene.nurse)
    return client.post(results_url(scene), {"results": list(results)}, format="json")


class Captured:
    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    def __call__(self, sender: object, **kwargs: object) -> None:
        self.calls.append(kwargs)


@pytest.fixture
def gp_results():
    receiver = Captured()
    signals.results_recorded.connect(receiver, dispatch_uid="test-gp-results")
    yield receiver
    signals.results_recorded.disconnect(dispatch_uid="test-gp-results")


def test_nurse_takes_crp_and_potassium_sees_them_interpreted_and_critical_reaches_physician(
    scene: Scene, gp_results: Captured
):
    """R7 done-when: CRP and potassium without delegation, interpreted; the
    critical potassium alerts the responsible physician and shows on the board."""
    response = post_results(
        scene,
        {"code": "NPU19748", "value": "150", "unit": "mg/L"},
        {"code": "NPU03230", "value": "6.9", "unit": "mmol/L"},
    )
    assert response.status_code == 201, response.json()
    by_code = {r["code"]: r for r in response.json()["results"]}
    assert by_code["NPU19748"]["interpretation"] == "H"
    assert by_code["NPU19748"]["critical"] is False
    assert by_code["NPU03230"]["interpretation"] == "HH"
    assert by_code["NPU03230"]["critical"] is True
    assert by_code["NPU03230"]["reference_high"] == "4.4"

    alert = PhysicianAlert.objects.get(kind=PhysicianAlert.Kind.CRITICAL_RESULT)
    assert alert.recipient == scene.physician.user
    assert alert.lab_result.test.code == "NPU03230"

    physician_view = factories.client_for(scene.physician).get("/api/clinical/alerts").json()
    assert [a["lab_result"] for a in physician_view["alerts"]] == [alert.lab_result_id]
    board = factories.client_for(scene.coordinator).get("/api/clinical/board/alerts").json()
    assert [a["id"] for a in board["alerts"]] == [alert.pk]

    # The GP asked for the visit: the results are handed to the GP's practice.
    assert len(gp_results.calls) == 1
    call = gp_results.calls[0]
    assert call["gp_practice"] == scene.gp
    assert {r.test.code for r in call["results"]} == {"NPU19748", "NPU03230"}  # type: ignore[attr-defined]

    created = AuditEntry.objects.get(
        resource_type="Observation", action="create", citizen_id=scene.citizen.pk
    )
    assert created.detail["codes"] == ["NPU19748", "NPU03230"]
    assert created.detail["observations"] == [by_code["NPU19748"]["id"], by_code["NPU03230"]["id"]]


def test_results_of_a_visit_not_asked_for_by_the_gp_are_not_sent_to_the_gp(
    db: None, gp_results: Captured
):
    scene = visit_scene(source=Referral.Source.HELPLINE_1813)
    response = post_results(scene, {"code": "NPU19748", "value": "12", "unit": "mg/L"})
    assert response.status_code == 201
    assert gp_results.calls == []


def test_critical_value_without_a_known_physician_goes_to_the_coordinators(db: None):
    scene = visit_scene()
    scene.physician.user.last_name = "Someone Else"
    scene.physician.user.save(update_fields=["last_name"])
    post_results(scene, {"code": "NPU22089", "value": "1.9", "unit": "mmol/L"})
    alert = PhysicianAlert.objects.get()
    assert alert.recipient is None
    # The GP practice holds treatment responsibility; its physicians see it.
    assert alert.recipient_organisation == scene.gp
    assert alert.lab_result.interpretation == "LL"


def test_creatinine_gives_egfr_by_ckd_epi_2021(scene: Scene):
    response = post_results(scene, {"code": "NPU18016", "value": "110", "unit": "µmol/L"})
    assert response.status_code == 201
    results = {r["code"]: r for r in response.json()["results"]}
    creatinine, egfr = results["NPU18016"], results["DNK35302"]
    # Female (even last CPR digit), born 2 March 1941.
    from django.utils import timezone

    from acute.clinical.egfr import age_in_years

    age = age_in_years(scene.citizen.birth_date, timezone.localdate())
    expected = egfr_ckd_epi_2021(creatinine_umol_l=Decimal("110"), age=age, female=True)
    # By hand for age 85: 142 * (1.2441/0.7)^-1.2 * 0.9938^85 * 1.012 = 38.6
    assert egfr["value"] == str(expected)
    assert egfr["derived_from"] == creatinine["id"]
    assert egfr["interpretation"] == "L"
    assert creatinine["interpretation"] == "H"  # female reference 45-90


def test_a_value_is_rounded_half_up_to_the_catalogues_decimals_and_interpreted_as_stored(
    scene: Scene,
):
    """CRP is reported in whole mg/L (critical above 300), potassium with one
    decimal: the value stored is the one interpreted, rounded as a laboratory
    rounds, so 300.5 mg/L is a critical 301 that alerts the physician."""
    response = post_results(
        scene,
        {"code": "NPU19748", "value": "300.5", "unit": "mg/L"},
        {"code": "NPU03230", "value": "4.45", "unit": "mmol/L"},
    )
    assert response.status_code == 201
    results = {r["code"]: r for r in response.json()["results"]}
    assert (results["NPU19748"]["value"], results["NPU19748"]["interpretation"]) == ("301", "HH")
    assert (results["NPU03230"]["value"], results["NPU03230"]["interpretation"]) == ("4.5", "H")
    assert PhysicianAlert.objects.filter(
        lab_result__test__code="NPU19748", kind=PhysicianAlert.Kind.CRITICAL_RESULT
    ).exists()


@pytest.mark.parametrize(
    ("entry", "code", "field"),
    [
        ({"code": "NPU03230", "value": "50", "unit": "mmol/L"}, "lab.value_implausible", "value"),
        ({"code": "NPU03230", "value": "4.1", "unit": "mg/dL"}, "lab.unit_mismatch", "unit"),
        ({"code": "NPU03230", "value": "four", "unit": "mmol/L"}, "lab.value_invalid", "value"),
        ({"code": "NPU99999", "value": "1", "unit": "mmol/L"}, "catalogue.unknown", "code"),
        (
            {"code": "DNK35302", "value": "60", "unit": "mL/min/{1.73_m2}"},
            "lab.derived_result",
            "code",
        ),
    ],
)
def test_implausible_values_and_wrong_units_are_refused_and_nothing_is_written(
    scene: Scene, entry: dict[str, str], code: str, field: str
):
    response = post_results(scene, {"code": "NPU19748", "value": "5", "unit": "mg/L"}, entry)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert error["field"] == f"results[1].{field}"
    assert not LabResult.objects.exists()  # the valid CRP beside it is not half-written


def test_implausible_value_refusal_is_audited(scene: Scene):
    post_results(scene, {"code": "NPU03230", "value": "50", "unit": "mmol/L"})
    denied = AuditEntry.objects.get(outcome="denied", resource_type="Observation")
    assert denied.reason_code == "lab.value_implausible"
    assert denied.citizen_id == scene.citizen.pk


def test_non_catalogue_test_without_delegation_is_refused_and_audited(scene: Scene):
    """R7: haemoglobin is outside the predefined tests."""
    response = post_results(scene, {"code": "NPU02319", "value": "7.9", "unit": "mmol/L"})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "clinical.delegation_required"
    assert error["rule"] == "R7"
    assert not LabResult.objects.exists()
    denied = AuditEntry.objects.get(outcome="denied", resource_type="Observation")
    assert denied.reason_code == "clinical.delegation_required"
    assert denied.detail == {"rule": "R7"}


def test_with_a_recorded_delegation_the_test_is_taken(scene: Scene):
    """R7: the physician's delegation for this citizen and this task, on the visit."""
    client = factories.client_for(scene.nurse)
    response = client.post(
        f"/api/clinical/visits/{scene.visit.pk}/delegations",
        {
            "code": "NPU02319",
            "physician_name": "Hanne Hansen",
            "physician_authorisation_id": "0A1B2",
            "physician_organisation_name": "Lægehuset",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    delegation = Delegation.objects.get()
    assert delegation.physician == scene.physician.user
    assert delegation.recorded_by == scene.nurse.user

    response = post_results(scene, {"code": "NPU02319", "value": "7.9", "unit": "mmol/L"})
    assert response.status_code == 201
    assert response.json()["results"][0]["delegation"] == delegation.pk


def test_a_delegation_on_another_visit_does_not_count(db: None):
    first, second = visit_scene(), visit_scene()
    Delegation.objects.create(
        visit=first.visit,
        citizen=first.citizen,
        test_id=__import__("acute.clinical.models", fromlist=["TestDefinition"])
        .TestDefinition.objects.get(code="NPU01685")
        .pk,
        physician_name="X",
        physician_authorisation_id="1",
        physician_organisation_name="Y",
        delegated_at=first.visit.assigned_at,
        recorded_by=first.nurse.user,
    )
    response = post_results(second, {"code": "NPU01685", "value": "2.1", "unit": "INR"})
    assert response.status_code == 403


def test_r7_a_delegation_given_after_the_task_does_not_cover_it(scene: Scene):
    """R7: a test taken or a procedure done before the physician delegated it
    was taken without a delegation; recording one later does not cover it.
    One taken after the delegation is taken under it."""
    client = factories.client_for(scene.nurse)
    delegations = f"/api/clinical/visits/{scene.visit.pk}/delegations"
    physician = {
        "physician_name": "Hanne Hansen",
        "physician_authorisation_id": "0A1B2",
        "physician_organisation_name": "Lægehuset",
    }
    delegated_at = timezone.now() - dt.timedelta(minutes=10)
    for code in ("NPU02319", "urine-dipstick"):
        response = client.post(
            delegations,
            {"code": code, **physician, "delegated_at": delegated_at.isoformat()},
            format="json",
        )
        assert response.status_code == 201, response.json()
    # The nurse was sent an hour ago; the tasks below lie within the visit.
    Visit.objects.filter(pk=scene.visit.pk).update(
        assigned_at=timezone.now() - dt.timedelta(hours=1)
    )
    before = (delegated_at - dt.timedelta(minutes=30)).isoformat()

    response = post_results(
        scene, {"code": "NPU02319", "value": "7.9", "unit": "mmol/L", "effective_at": before}
    )
    assert response.status_code == 403, response.json()
    assert response.json()["error"]["code"] == "clinical.delegation_after_task"
    assert response.json()["error"]["rule"] == "R7"
    response = client.post(
        f"/api/clinical/visits/{scene.visit.pk}/procedures",
        {"code": "urine-dipstick", "performed_at": before},
        format="json",
    )
    assert response.status_code == 403, response.json()
    assert response.json()["error"]["code"] == "clinical.delegation_after_task"
    assert not LabResult.objects.exists()
    assert not ProcedureRecord.objects.exists()
    denied = AuditEntry.objects.filter(
        outcome="denied", reason_code="clinical.delegation_after_task"
    )
    assert sorted(denied.values_list("resource_type", flat=True)) == ["Observation", "Procedure"]
    assert {e.citizen_id for e in denied} == {scene.citizen.pk}

    after = (delegated_at + dt.timedelta(minutes=5)).isoformat()
    response = post_results(
        scene, {"code": "NPU02319", "value": "7.9", "unit": "mmol/L", "effective_at": after}
    )
    assert response.status_code == 201, response.json()
    response = client.post(
        f"/api/clinical/visits/{scene.visit.pk}/procedures",
        {"code": "urine-dipstick", "performed_at": after},
        format="json",
    )
    assert response.status_code == 201, response.json()


def test_predefined_tasks_need_no_delegation(scene: Scene):
    client = factories.client_for(scene.nurse)
    response = client.post(
        f"/api/clinical/visits/{scene.visit.pk}/delegations",
        {
            "code": "NPU19748",
            "physician_name": "Hanne Hansen",
            "physician_authorisation_id": "0A1B2",
            "physician_organisation_name": "Lægehuset",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "delegation.not_required"


def test_catheter_is_a_predefined_procedure_and_urine_dipstick_is_not(scene: Scene):
    client = factories.client_for(scene.nurse)
    url = f"/api/clinical/visits/{scene.visit.pk}/procedures"
    response = client.post(url, {"code": "urinary-catheter", "note": "CH 14"}, format="json")
    assert response.status_code == 201, response.json()
    assert ProcedureRecord.objects.get().test.code == "urinary-catheter"
    response = client.post(url, {"code": "urine-dipstick"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "clinical.delegation_required"


def test_results_only_while_on_site(db: None):
    scene = visit_scene(on_site=False)
    response = post_results(scene, {"code": "NPU19748", "value": "5", "unit": "mg/L"})
    assert response.status_code == 412
    assert response.json()["error"]["code"] == "visit.wrong_status"


@pytest.mark.parametrize(
    "role",
    [Role.COORDINATOR, Role.PHYSICIAN, Role.HOME_NURSE, Role.AUDITOR, Role.MEDICINE_OFFICER],
)
def test_roles_other_than_the_acute_nurse_may_not_record_results(scene: Scene, role: str):
    other = factories.staff(role, factories.acute_function())
    response = post_results(
        scene, {"code": "NPU19748", "value": "5", "unit": "mg/L"}, membership=other
    )
    assert response.status_code == 403
    assert not LabResult.objects.exists()


def test_another_nurse_may_not_record_on_the_visit_and_is_audited(scene: Scene):
    """R1/R9: only the visit's nurse; the attempt is recorded as denied."""
    other, _ = factories.acute_nurse_on_shift()
    response = post_results(
        scene, {"code": "NPU19748", "value": "5", "unit": "mg/L"}, membership=other
    )
    assert response.status_code == 404
    denied = AuditEntry.objects.get(outcome="denied", actor_user_id=other.user.pk)
    assert denied.reason_code == "not_visit_nurse"


def test_unauthenticated_is_refused(scene: Scene):
    response = factories.client_for(None).post(results_url(scene), {"results": []}, format="json")
    assert response.status_code == 401


def test_visit_summary_lists_results_for_the_nurse_and_refuses_a_stranger(
    scene: Scene, django_assert_max_num_queries
):
    post_results(
        scene,
        {"code": "NPU19748", "value": "5", "unit": "mg/L"},
        {"code": "NPU18016", "value": "70", "unit": "umol/L"},
    )
    client = factories.client_for(scene.nurse)
    with django_assert_max_num_queries(14):
        response = client.get(f"/api/clinical/visits/{scene.visit.pk}")
    assert response.status_code == 200
    assert [r["code"] for r in response.json()["results"]] == ["NPU19748", "NPU18016", "DNK35302"]

    stranger = factories.staff(Role.PHYSICIAN, factories.gp_practice())
    response = factories.client_for(stranger).get(f"/api/clinical/visits/{scene.visit.pk}")
    assert response.status_code == 404


def test_a_panel_is_recorded_in_a_bounded_number_of_queries(
    scene: Scene, django_assert_max_num_queries
):
    panel = [
        {"code": "NPU19748", "value": "42", "unit": "mg/L"},
        {"code": "NPU03429", "value": "139", "unit": "mmol/L"},
        {"code": "NPU03230", "value": "4.1", "unit": "mmol/L"},
        {"code": "NPU18016", "value": "88", "unit": "umol/L"},
        {"code": "NPU21531", "value": "6.2", "unit": "mmol/L"},
    ]
    client = factories.client_for(scene.nurse)
    # Gate, audit chain, one catalogue read, six rows (with the eGFR), and the
    # hand-off rows or, here, where no partner speaks for the GP, the board's
    # warning and its audit entry (SQLite adds a savepoint around each).
    with django_assert_max_num_queries(56):
        response = client.post(results_url(scene), {"results": panel}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("path", "body", "code", "field"),
    [
        (
            "clinical/visits/{visit}/results",
            {
                "results": [
                    {"code": "NPU19748", "value": "12", "unit": "mg/L", "effective_at": "{t}"}
                ]
            },
            "time.before_visit",
            "results[0].effective_at",
        ),
        (
            "clinical/visits/{visit}/procedures",
            {"code": "feeding-tube", "performed_at": "{t}"},
            "time.before_visit",
            "performed_at",
        ),
        (
            "acute/visits/{visit}/vital-signs",
            {"measurements": [{"code": "8310-5", "value": "37.5"}], "measured_at": "{t}"},
            "vital_signs.before_visit",
            "measured_at",
        ),
        # R8: the order's days and its 24-hour limit run from when it was
        # given, and the nurse received it on this visit.
        (
            "clinical/visits/{visit}/phone-orders",
            {**PHONE_ORDER, "ordered_at": "{t}"},
            "time.before_visit",
            "ordered_at",
        ),
        # R7: a delegation is given in this acute episode, not in another.
        (
            "clinical/visits/{visit}/delegations",
            {
                "code": "NPU02319",
                "physician_name": "Hanne Hansen",
                "physician_authorisation_id": "0A1B2",
                "physician_organisation_name": "Lægehuset",
                "delegated_at": "{t}",
            },
            "time.before_referral",
            "delegated_at",
        ),
    ],
)
def test_a_time_before_the_visit_was_assigned_is_refused_and_nothing_is_written(
    scene: Scene, path: str, body: dict, code: str, field: str
):
    """A result dated 1900 (a slip of the keys) would reach the GP and the
    record dated wrong; one written later, offline, is still after the visit
    was assigned."""
    from acute.models import VitalSign

    url = "/api/" + path.format(visit=scene.visit.pk)
    raw = json.dumps(body).replace("{t}", "1900-01-01T10:00:00+01:00")
    nurse = factories.client_for(scene.nurse)
    response = nurse.post(url, raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (code, field)
    assert not LabResult.objects.exists()
    assert not ProcedureRecord.objects.exists()
    assert not VitalSign.objects.exists()
    assert not MedicationOrder.objects.exists()
    assert not Delegation.objects.exists()
    later = json.dumps(body).replace("{t}", timezone.now().isoformat())
    assert nurse.post(url, later, content_type="application/json").status_code == 201


def test_a_time_the_client_sent_is_answered_in_utc(scene: Scene):
    """The contract's times are RFC 3339 in UTC (docs/api.md), echoed ones too."""
    moment = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=2)
    sent = moment.astimezone(dt.timezone(dt.timedelta(hours=1))).isoformat()
    response = factories.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/delegations",
        {
            "code": "NPU02319",
            "physician_name": "Hanne Hansen",
            "physician_authorisation_id": "0A1B2",
            "physician_organisation_name": "Lægehuset",
            "delegated_at": sent,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert sent.endswith("+01:00")
    assert response.json()["delegated_at"] == moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert response.json()["recorded_at"].endswith("Z")


def test_a_time_before_1894_is_answered_in_utc(scene: Scene):
    """Copenhagen kept local mean time until 1894: +00:50:20 is no RFC 3339
    offset. No door takes such a time any more; one already stored is read
    back in UTC all the same."""
    Delegation.objects.create(
        visit=scene.visit,
        citizen=scene.citizen,
        test=TestDefinition.objects.get(code="NPU02319"),
        physician_name="Hanne Hansen",
        physician_authorisation_id="0A1B2",
        physician_organisation_name="Lægehuset",
        delegated_at=dt.datetime(1850, 1, 1, tzinfo=dt.UTC),
        recorded_by=scene.nurse.user,
    )
    body = factories.client_for(scene.nurse).get(f"/api/clinical/visits/{scene.visit.pk}").json()
    assert body["delegations"][0]["delegated_at"] == "1850-01-01T00:00:00Z"


def test_r7_a_delegation_given_in_the_referring_call_is_taken_an_older_one_is_not(
    scene: Scene,
):
    """R7: a delegation belongs to this acute episode. One given in the call
    that referred the citizen (a little before the referral was typed in) is
    taken; one a day older is another episode's, or a slip of the keys."""
    url = f"/api/clinical/visits/{scene.visit.pk}/delegations"
    opened = scene.visit.episode.opened_at
    body = {
        "code": "NPU02319",
        "physician_name": "Hanne Hansen",
        "physician_authorisation_id": "0A1B2",
        "physician_organisation_name": "Lægehuset",
    }
    client = factories.client_for(scene.nurse)
    day_old = (opened - dt.timedelta(days=1)).isoformat()
    refused = client.post(url, {**body, "delegated_at": day_old}, format="json")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("time.before_referral", "delegated_at")
    assert not Delegation.objects.exists()
    in_the_call = (opened - dt.timedelta(minutes=20)).isoformat()
    taken = client.post(url, {**body, "delegated_at": in_the_call}, format="json")
    assert taken.status_code == 201, taken.json()


def test_r7_a_referral_carried_into_a_later_episode_keeps_its_delegation(scene: Scene):
    """A referral nobody had triaged when the last episode ended starts the
    next one, so it is older than the episode it is in: a delegation given
    in its call is taken all the same."""
    received = timezone.now() - dt.timedelta(hours=3)
    Referral.objects.filter(pk=scene.referral.pk).update(received_at=received)
    url = f"/api/clinical/visits/{scene.visit.pk}/delegations"
    body = {
        "code": "NPU02319",
        "physician_name": "Hanne Hansen",
        "physician_authorisation_id": "0A1B2",
        "physician_organisation_name": "Lægehuset",
    }
    client = factories.client_for(scene.nurse)
    older = (received - dt.timedelta(hours=2)).isoformat()
    refused = client.post(url, {**body, "delegated_at": older}, format="json")
    assert refused.json()["error"]["code"] == "time.before_referral"
    in_the_call = (received - dt.timedelta(minutes=10)).isoformat()
    assert client.post(url, {**body, "delegated_at": in_the_call}, format="json").status_code == 201


@pytest.mark.parametrize(
    ("path", "body", "field", "resource_type"),
    [
        (
            "clinical/visits/{visit}/results",
            {
                "results": [
                    {"code": "NPU19748", "value": "12", "unit": "mg/L", "effective_at": "{t}"}
                ]
            },
            "results[0].effective_at",
            "Observation",
        ),
        (
            "clinical/visits/{visit}/procedures",
            {"code": "feeding-tube", "performed_at": "{t}"},
            "performed_at",
            "Procedure",
        ),
        (
            "clinical/visits/{visit}/delegations",
            {
                "code": "NPU02319",
                "physician_name": "Hanne Hansen",
                "physician_authorisation_id": "0A1B2",
                "physician_organisation_name": "Lægehuset",
                "delegated_at": "{t}",
            },
            "delegated_at",
            "Delegation",
        ),
        (
            "acute/visits/{visit}/vital-signs",
            {"measurements": [{"code": "8310-5", "value": "37.5"}], "measured_at": "{t}"},
            "measured_at",
            "Observation",
        ),
    ],
)
def test_nothing_is_measured_done_or_delegated_after_the_citizens_death(
    scene: Scene, path: str, body: dict, field: str, resource_type: str
):
    """A time after the citizen's registered death cannot be true: refused,
    naming the field, audited as a denied attempt (R9), nothing written. What
    was done before she died is still written down."""
    from acute.models import Visit, VitalSign
    from core.models import Citizen

    now = timezone.now()
    Visit.objects.filter(pk=scene.visit.pk).update(assigned_at=now - dt.timedelta(hours=1))
    Citizen.objects.filter(pk=scene.citizen.pk).update(deceased_at=now - dt.timedelta(minutes=10))
    url = "/api/" + path.format(visit=scene.visit.pk)
    nurse = factories.client_for(scene.nurse)

    after = json.dumps(body).replace("{t}", now.isoformat())
    response = nurse.post(url, after, content_type="application/json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    code = "vital_signs.after_death" if path.endswith("vital-signs") else "time.after_death"
    assert (error["code"], error["field"]) == (code, field)
    denied = AuditEntry.objects.get(outcome="denied", resource_type=resource_type)
    assert (denied.citizen_id, denied.reason_code) == (scene.citizen.pk, code)
    assert not LabResult.objects.exists()
    assert not ProcedureRecord.objects.exists()
    assert not Delegation.objects.exists()
    assert not VitalSign.objects.exists()

    before = json.dumps(body).replace("{t}", (now - dt.timedelta(minutes=30)).isoformat())
    assert nurse.post(url, before, content_type="application/json").status_code == 201
