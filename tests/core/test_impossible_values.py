"""Values no column can hold and FHIR of the wrong shape: a 4xx with a code
naming the field at every door (API, FHIR, page form, signed message), never
a 500, never a 503 that asks for a retry, never a half-written record."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from acute.models import VitalSign
from consent.audit.models import AuditEntry
from core.fhir.patient import patient_resource
from core.models import Role
from core.permissions import session_membership_set
from integrations.models import InboundMessage, Partner
from integrations.simulators import helpline_referral
from integrations.transport import signed_headers
from medicine_cabinet import services as cabinet
from medicine_cabinet.models import Movement
from tests import factories as f
from tests.acute.clinical.conftest import PHONE_ORDER, Scene, visit_scene
from tests.consent import bodies

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _error(response: Any) -> tuple[int, str, str | None]:
    body = response.json()
    if body.get("resourceType") == "OperationOutcome":
        issue = body["issue"][0]
        return (
            response.status_code,
            issue["details"]["coding"][0]["code"],
            (issue.get("expression") or [None])[0],
        )
    return response.status_code, body["error"]["code"], body["error"].get("field")


@pytest.fixture
def scene() -> Scene:
    return visit_scene()


# --- decimals, bounded by the column they are stored in --------------------------


@pytest.mark.parametrize(
    ("quantity", "code"),
    [
        (10**30, "quantity.invalid"),  # beyond 64 bits JSON reads it as an inexact float
        ("9" * 40, "quantity.too_large"),
        ("1e400", "quantity.invalid"),  # a quantity is written out, never an exponent
        ("1000000000", "quantity.too_large"),
        ("NaN", "quantity.invalid"),
        ("-Infinity", "quantity.invalid"),
        ("-0", "quantity.not_positive"),
        ("-5", "quantity.not_positive"),
        ("1.0001", "quantity.too_many_decimals"),
        ("1e-7", "quantity.invalid"),
        (2.5, "quantity.invalid"),  # a float is not exact
    ],
)
def test_a_receipt_of_an_impossible_quantity_is_refused_naming_it(quantity, code) -> None:
    _, response = _receipt(quantity)
    assert _error(response) == (400, code, "quantity")
    assert not Movement.objects.exists()


def _receipt(quantity: object) -> tuple[Any, Any]:
    officer = f.staff(Role.MEDICINE_OFFICER, f.acute_function())
    medicine = cabinet.medicine_upsert(
        atc_code="N02BE01",
        name="Paracetamol",
        strength="500 mg",
        form="tablet",
        unit="tablet",
        package_size=Decimal("20"),
        dispensing="otc",
        dependence_forming=False,
        minimum_stock=Decimal("0"),
    )
    cupboard = cabinet.cabinet_create(organisation=officer.organisation, name="Skab")
    body = {
        "cabinet": cupboard.pk,
        "medicine": medicine.pk,
        "batch_number": "B1",
        "expires_on": "2031-01-01",
        "quantity": quantity,
        "unit": "tablet",
        "supplier": "Apoteket",
        "delivery_reference": "D-1",
    }
    return officer, f.client_for(officer).post("/api/cabinet/receipts", body, format="json")


@pytest.mark.parametrize("quantity", ["\u0661\u0660", "\uff11\uff10", "1\u0660"])
def test_digits_of_other_scripts_are_not_a_quantity(quantity) -> None:
    _, response = _receipt(quantity)
    assert _error(response) == (400, "quantity.invalid", "quantity")
    assert not Movement.objects.exists()


def test_a_quantity_in_exponent_form_is_refused_never_booked_as_a_thousand() -> None:
    _, response = _receipt("1e3")
    assert _error(response) == (400, "quantity.invalid", "quantity")
    assert not Movement.objects.exists()


def test_the_limit_of_a_too_large_quantity_is_readable_not_scrubbed_as_a_cpr_number() -> None:
    _, response = _receipt("99999999999")
    assert _error(response)[:2] == (400, "quantity.too_large")
    message = response.json()["error"]["message"]
    assert "[cpr]" not in message
    assert "1.000.000.000" in message or "1,000,000,000" in message


def test_vital_signs_in_other_scripts_digits_are_refused(scene: Scene) -> None:
    response = f.client_for(scene.nurse).post(
        f"/api/acute/visits/{scene.visit.pk}/vital-signs",
        {"measurements": [{"code": "8310-5", "value": "\u0663\u0667"}]},
        format="json",
    )
    assert _error(response)[:2] == (400, "vital_signs.value_invalid")
    assert not VitalSign.objects.exists()


def test_json_numbers_beyond_a_double_are_refused_at_the_door(scene: Scene) -> None:
    raw = b'{"measurements": [{"code": "8310-5", "value": 1e400}]}'
    response = f.client_for(scene.nurse).post(
        f"/api/acute/visits/{scene.visit.pk}/vital-signs", raw, content_type="application/json"
    )
    assert _error(response)[:2] == (400, "request.number_out_of_range")


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1e400", "vital_signs.value_invalid"),  # written out, never an exponent
        ("999999", "vital_signs.value_too_large"),
        ("38.95", "vital_signs.value_too_many_decimals"),
        ("NaN", "vital_signs.value_invalid"),
        ([38], "vital_signs.value_invalid"),
    ],
)
def test_vital_signs_over_the_api(scene: Scene, value, code) -> None:
    response = f.client_for(scene.nurse).post(
        f"/api/acute/visits/{scene.visit.pk}/vital-signs",
        {"measurements": [{"code": "8310-5", "value": value}]},
        format="json",
    )
    assert _error(response)[:2] == (400, code)
    assert not VitalSign.objects.exists()


def test_a_refused_vital_sign_over_the_api_is_named_by_its_place_in_the_list(
    scene: Scene,
) -> None:
    """Of several measurements, the refusal names the one refused
    (``measurements[1].value``), not a bare ``value`` the sender cannot place;
    nothing of the list is written."""
    response = f.client_for(scene.nurse).post(
        f"/api/acute/visits/{scene.visit.pk}/vital-signs",
        {"measurements": [{"code": "8867-4", "value": 88}, {"code": "8310-5", "value": "NaN"}]},
        format="json",
    )
    assert _error(response) == (400, "vital_signs.value_invalid", "measurements[1].value")
    assert not VitalSign.objects.exists()


def test_a_vital_sign_with_a_decimal_comma_is_read_over_the_api_as_a_result_is(
    scene: Scene,
) -> None:
    """ "37,5" is 37.5 °C on the API as on the page, as a lab result's "4,1" is."""
    response = f.client_for(scene.nurse).post(
        f"/api/acute/visits/{scene.visit.pk}/vital-signs",
        {"measurements": [{"code": "8310-5", "value": "37,5"}]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert VitalSign.objects.get().value == Decimal("37.5")


def test_vital_signs_on_the_page_give_the_same_code(scene: Scene) -> None:
    client = Client()
    client.force_login(scene.nurse.user)
    session = client.session
    session_membership_set(session, scene.nurse)
    session.save()
    for n, (value, code) in enumerate(
        [
            ("38,95", "vital_signs.value_too_many_decimals"),
            ("9" * 40, "vital_signs.value_too_large"),
            ("NaN", "vital_signs.value_invalid"),
        ]
    ):
        response = client.post(
            f"/nurse/visits/{scene.visit.pk}/vitals/",
            {"vital_8310-5": value, "client_ref": f"vitals-{n:04d}"},
        )
        assert response.status_code == 400, value
        assert f'data-code="{code}"' in response.content.decode()
    assert not VitalSign.objects.exists()


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("9" * 30, "lab.value_too_large"),
        ("1.2345", "lab.value_too_many_decimals"),
        ("Infinity", "lab.value_invalid"),
    ],
)
def test_lab_results(scene: Scene, value, code) -> None:
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/results",
        {"results": [{"code": "NPU19748", "value": value, "unit": "mg/L"}]},
        format="json",
    )
    assert _error(response)[:2] == (400, code)


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"dose": "NaN"}, "order.dose_invalid", "dose"),
        ({"dose": "99999999"}, "order.dose_too_large", "dose"),
        ({"dose": "1e3"}, "order.dose_invalid", "dose"),
        ({"dose": "0.0001"}, "order.dose_too_many_decimals", "dose"),
        ({"dose": "-0"}, "order.dose_invalid", "dose"),
        ({"total_quantity": "9" * 15}, "order.total_quantity_too_large", "total_quantity"),
    ],
)
def test_orders(scene: Scene, change, code, field) -> None:
    response = f.client_for(scene.nurse).post(
        f"/api/clinical/visits/{scene.visit.pk}/phone-orders",
        {**PHONE_ORDER, **change},
        format="json",
    )
    assert _error(response) == (400, code, field)


# --- FHIR checked before it is read ---------------------------------------------


def _fhir(member: Any, url: str, body: Any) -> Any:
    return f.client_for(member).post(url, json.dumps(body), content_type=bodies.FHIR)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"meta": "somatic-diagnosis"}, "meta"),
        ({"meta": {"tag": "somatic-diagnosis"}}, "meta.tag"),
        ({"meta": {"tag": [1, 2]}}, "meta.tag"),
        ({"meta": {"tag": [{"system": bodies.CAT, "code": {"a": 1}}]}}, "meta.tag"),
    ],
)
def test_a_record_with_a_meta_of_the_wrong_shape(scene: Scene, change, field) -> None:
    body = {**bodies.diagnosis(scene.citizen.pk), **change}
    response = _fhir(scene.nurse, "/fhir/Condition", body)
    assert _error(response) == (400, "fhir.invalid", field)


def test_a_contained_resource_of_no_known_type(scene: Scene) -> None:
    body = bodies.diagnosis(scene.citizen.pk, contained=[{"resourceType": "NoSuchThing"}])
    response = _fhir(scene.nurse, "/fhir/Condition", body)
    assert _error(response)[:2] == (400, "fhir.invalid")


@pytest.mark.parametrize("entry", ["x", 1, [], {"request": "POST", "resource": {}}])
def test_a_transaction_entry_of_the_wrong_shape(scene: Scene, entry) -> None:
    body = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
    response = _fhir(scene.nurse, "/fhir/", body)
    assert _error(response) == (400, "bundle.entry_unsupported", "Bundle.entry[0]")


@pytest.mark.parametrize("parameter", [5, "how", [1], {"name": "how"}])
def test_withdraw_parameters_of_the_wrong_shape(scene: Scene, parameter) -> None:
    created = _fhir(scene.nurse, "/fhir/Consent", bodies.refusal(scene.citizen.pk, how="oral"))
    assert created.status_code == 201, created.content
    response = _fhir(
        scene.nurse,
        f"/fhir/Consent/{created.json()['id']}/$withdraw",
        {"resourceType": "Parameters", "parameter": parameter},
    )
    assert _error(response)[:2] == (400, "fhir.invalid")


# --- NUL and broken text never become a 503 ----------------------------------------


def _signed(partner: Partner, raw: bytes) -> Any:
    headers = signed_headers(sender=partner.code, secret=partner.secret, body=raw)
    meta = {
        "HTTP_" + k.upper().replace("-", "_"): v
        for k, v in headers.items()
        if k.lower() != "content-type"
    }
    return Client().post(
        "/fhir/$process-message", raw, content_type="application/fhir+json", **meta
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [("Fald\\u0000", "request.nul_character"), ("Fald\\ud800", "request.invalid_text")],
)
def test_a_signed_message_with_nul_or_broken_text_is_refused_for_good(text, code) -> None:
    partner = f.integration_partner(Partner.Kind.HELPLINE_1813, f.organisation("helpline"))
    message = helpline_referral(
        sender_code=partner.code,
        patient=patient_resource(f.citizen()),
        reason="REASON",
        case_id="1813-1",
    )
    raw = json.dumps(message).replace("REASON", text).encode()
    response = _signed(partner, raw)
    assert response.status_code == 400  # fatal: sending it again cannot help
    ack = response.json()
    assert code in json.dumps(ack)
    assert not InboundMessage.objects.filter(outcome="ok").exists()


def test_a_nul_in_what_the_audit_records_is_stored_replaced_not_a_503(scene: Scene) -> None:
    client = f.client_for(scene.nurse)
    response = client.get(f"/fhir/Patient/{scene.citizen.pk}", HTTP_USER_AGENT="tablet\x00\ud800")
    assert response.status_code == 200, response.content[:300]
    entry = AuditEntry.objects.filter(citizen_id=scene.citizen.pk).latest("id")
    assert entry.user_agent == "tablet\ufffd?"


@pytest.mark.parametrize("resource", [{"resourceType": "NaN"}, {"resourceType": ["Patient"]}])
def test_a_signed_message_with_an_entry_of_no_known_type_is_fatal(resource) -> None:
    partner = f.integration_partner(Partner.Kind.HELPLINE_1813, f.organisation("helpline"))
    message = helpline_referral(
        sender_code=partner.code,
        patient=patient_resource(f.citizen()),
        reason="Fald",
        case_id="1813-2",
    )
    message["entry"][1]["resource"] = resource
    response = _signed(partner, json.dumps(message).encode())
    assert response.status_code == 400
    assert "message.invalid_fhir" in json.dumps(response.json())
