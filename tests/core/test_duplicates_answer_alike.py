"""Creating what is already there (a citizen with the CPR number, an
organisation with the SOR code, a username, a formulary line) is a conflict
with an existing record: 409 with the rule's own code and a Danish sentence
that never repeats the value, ``duplicate`` on /fhir/, nothing written; the
same whether the service, the model's validation or the database refuses."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.forms import MultiWidget
from django.test import Client
from django.utils import translation
from drf_spectacular.generators import SchemaGenerator

from core.errors import STATUS_BY_KIND, Duplicate
from core.exception_handler import describe, error_payload, localised_body
from core.messages import user_message
from core.models import Citizen, Organisation, Role, User
from medicine_cabinet.models import Medicine
from tests import factories as f

pytestmark = pytest.mark.django_db

CPR_TAKEN_DA = "En borger med dette CPR-nummer er allerede oprettet."


def _admin_client() -> Client:
    membership = f.staff(Role.ADMINISTRATOR, f.acute_function())
    membership.user.is_staff = True
    membership.user.is_superuser = True
    membership.user.save()
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "da"
    return client


def _database_refusal(write: Any) -> IntegrityError:
    """The IntegrityError the database raises for ``write``, past every
    check in Python (two people saving the same at once)."""
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        write()
    return refused.value


def test_a_cpr_number_saved_first_past_the_check_is_the_same_conflict_on_every_door() -> None:
    person = f.citizen()
    refused = _database_refusal(
        lambda: Citizen.objects.create(
            cpr=person.cpr,
            given_name="Anden",
            family_name="Person",
            birth_date=person.birth_date,
            sex=person.sex,
            address_line="Vej 1",
            postal_code="2820",
            city="Gentofte",
            latitude=Decimal("55.7"),
            longitude=Decimal("12.5"),
            municipality=person.municipality,
        )
    )

    described = describe(refused)

    assert described is not None
    status, body, _headers = described
    assert (status, body["code"], body["field"]) == (409, "citizen.exists", "cpr")
    danish = localised_body(body, language="da")
    assert danish["message"] == CPR_TAKEN_DA
    api, _type = error_payload("/api/anything", status, danish)
    assert api["error"]["code"] == "citizen.exists" and "kind" not in api["error"]
    outcome, _type = error_payload("/fhir/Patient", status, danish)
    [issue] = outcome["issue"]
    assert issue["code"] == "duplicate"
    assert issue["details"]["coding"][0]["code"] == "citizen.exists"
    assert str(person.cpr) not in json.dumps([api, outcome])
    assert Citizen.objects.filter(cpr=person.cpr).count() == 1


def test_a_unique_column_saved_first_is_refused_with_its_own_code() -> None:
    taken = f.medcom_identified(f.organisation(Organisation.Kind.HOSPITAL, "Herlev"))
    refused = _database_refusal(
        lambda: Organisation.objects.create(
            kind=Organisation.Kind.HOSPITAL, name="Gentofte", sor_code=taken.sor_code
        )
    )

    described = describe(refused)

    assert described is not None
    status, body, _headers = described
    assert (status, body["code"], body["field"]) == (409, "organisation.sor_code_taken", "sor_code")


def test_the_kind_of_a_duplicate_answers_409() -> None:
    refusal = Duplicate("citizen.exists", "A citizen with this CPR number is already registered.")
    assert STATUS_BY_KIND[refusal.kind] == 409
    with translation.override("da"):
        assert user_message(refusal) == CPR_TAKEN_DA


def test_the_administration_refuses_a_sor_code_taken_on_its_field_in_danish() -> None:
    taken = f.medcom_identified(f.organisation(Organisation.Kind.HOSPITAL, "Herlev"))
    client = _admin_client()

    response = client.post(
        "/admin/core/organisation/add/",
        {"kind": Organisation.Kind.HOSPITAL, "name": "Gentofte", "sor_code": taken.sor_code},
    )

    assert response.status_code == 200  # the form again, with the reason
    form = response.context["adminform"].form
    assert form.errors["sor_code"] == ["En anden organisation har allerede denne SOR-kode."]
    assert Organisation.objects.filter(sor_code=taken.sor_code).count() == 1


def test_the_administration_refuses_a_username_taken_on_its_field_in_danish() -> None:
    existing = f.staff(Role.ACUTE_NURSE, f.acute_function())
    client = _admin_client()

    response = client.post(
        "/admin/core/user/add/",
        {
            "username": existing.user.username,
            "usable_password": "true",
            "password1": "en-lang-og-sikker-adgangskode-42",
            "password2": "en-lang-og-sikker-adgangskode-42",
        },
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["username"] == [
        "En anden medarbejder har allerede dette brugernavn; vælg et andet."
    ]
    assert User.objects.filter(username=existing.user.username).count() == 1


def _paracetamol(name: str = "Paracetamol") -> Medicine:
    line = f.medicine_body()
    return Medicine.objects.create(
        atc_code=str(line["atc_code"]),
        name=name,
        strength=str(line["strength"]),
        form=str(line["form"]),
        unit="tablet",
        package_size=Decimal(20),
        dispensing="otc",
    )


def test_the_administration_refuses_a_formulary_line_already_there_on_its_atc_code() -> None:
    _paracetamol()
    client = _admin_client()
    line = f.medicine_body()

    response = client.post(
        "/admin/medicine_cabinet/medicine/add/",
        {**line, "minimum_stock": "0", "dependence_forming": "", "is_active": "on"},
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["atc_code"] == [
        "Lægemiddelkataloget har allerede en linje med denne ATC-kode, styrke og form;"
        " ret den linje i stedet."
    ]
    assert Medicine.objects.filter(atc_code=line["atc_code"]).count() == 1


def test_a_formulary_line_saved_first_past_the_check_is_a_conflict() -> None:
    _paracetamol()
    refused = _database_refusal(lambda: _paracetamol("Pamol"))

    described = describe(refused)

    assert described is not None
    assert described[0] == 409 and described[1]["code"] == "medicine.line_exists"


def test_the_description_names_each_duplicate_an_operation_may_meet() -> None:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    schema = json.loads(json.dumps(generated, default=str))
    paths = schema["paths"]
    medicines = paths["/api/cabinet/medicines"]["post"]["responses"]["409"]["description"]
    assert "`medicine.line_exists` on `atc_code`" in medicines
    delegations = paths["/api/clinical/visits/{visit_id}/delegations"]["post"]["responses"]["409"]
    assert "`delegation.exists` on `code`" in delegations["description"]


def _as_posted(form: Any) -> dict[str, str]:
    """What a browser sends back for ``form`` as the page showed it."""
    data: dict[str, str] = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None or value is False:
            continue
        key = form.add_prefix(name)
        if isinstance(field.widget, MultiWidget):
            for i, part in enumerate(field.widget.decompress(value)):
                data[f"{key}_{i}"] = str(part)
        elif isinstance(value, list | tuple):
            if value:
                data[key] = str(value[0])
        elif value is True:
            data[key] = "on"
        else:
            shown = field.widget.format_value(value)  # a choice's is a list of one
            data[key] = str(shown[0] if isinstance(shown, list) else shown or value)
    return data


def test_the_administration_refuses_a_role_given_twice_on_its_field_in_danish() -> None:
    acute = f.acute_function()
    nurse = f.staff(Role.ACUTE_NURSE, acute)
    client = _admin_client()
    page = f"/admin/core/user/{nurse.user.pk}/change/"
    shown = client.get(page)
    data = _as_posted(shown.context["adminform"].form)
    data.pop("password", None)
    [inline] = shown.context["inline_admin_formsets"]
    formset = inline.formset
    data.update(_as_posted(formset.management_form))
    for form in formset.forms:
        data.update(_as_posted(form))
    added = formset.add_prefix(str(len(formset.forms)))
    data.update(
        {
            f"{formset.prefix}-TOTAL_FORMS": str(len(formset.forms) + 1),
            f"{added}-user": str(nurse.user.pk),
            f"{added}-organisation": str(acute.pk),
            f"{added}-role": Role.ACUTE_NURSE,
            f"{added}-is_active": "on",
        }
    )

    response = client.post(page, data)

    assert response.status_code == 200
    refused = response.context["inline_admin_formsets"][0].formset
    assert refused.non_form_errors() == ["Personen har allerede denne rolle i denne organisation."]
    assert nurse.user.memberships.filter(organisation=acute, role=Role.ACUTE_NURSE).count() == 1
