"""A unique rule a person can break by what she types answers 409 with its
own code and a Danish sentence on the field, nothing written: the same
whether the model's validation or the database refuses the write."""

from __future__ import annotations

import json

import pytest
from django.apps import apps
from django.db import models
from django.db.models import Q
from django.test import Client
from django.utils import translation
from drf_spectacular.generators import SchemaGenerator

from core.errors import Conflict
from core.messages import UNIQUE_RULES, user_message
from core.models import Role
from core.validation import insert_or_conflict, unique_column_rule
from medicine_cabinet import services
from medicine_cabinet.models import Location
from tests import factories as f

pytestmark = pytest.mark.django_db

NAME_TAKEN_DA = (
    "Et andet medicinskab eller en sygeplejerskes taske i akutfunktionen hedder "
    "allerede sådan; vælg et andet navn."
)


def test_a_cabinet_name_already_used_is_a_conflict_in_danish_and_nothing_is_written() -> None:
    acute = f.acute_function()
    services.cabinet_create(organisation=acute, name="Skab 1")
    client = f.client_for(f.staff("medicine_officer", acute))

    response = client.post("/api/cabinet/cabinets", {"name": "Skab 1"}, format="json")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "cabinet.name_taken"
    assert error["field"] == "name"
    assert error["message"] == NAME_TAKEN_DA
    assert Location.objects.filter(organisation=acute, name="Skab 1").count() == 1


def test_a_name_not_yet_used_is_created() -> None:
    acute = f.acute_function()
    services.cabinet_create(organisation=acute, name="Skab 1")
    client = f.client_for(f.staff("medicine_officer", acute))

    response = client.post("/api/cabinet/cabinets", {"name": "Skab 2"}, format="json")

    assert response.status_code == 201
    assert Location.objects.filter(organisation=acute, name="Skab 2").count() == 1


def test_a_name_saved_first_past_the_validation_answers_the_same_code() -> None:
    """Two officers naming a cabinet at once: the model's check passes for
    both and the database refuses the second write with the same refusal."""
    acute = f.acute_function()
    services.cabinet_create(organisation=acute, name="Skab 1")
    second = Location(organisation=acute, kind=Location.Kind.CABINET, name="Skab 1")

    with pytest.raises(Conflict) as refused:
        insert_or_conflict(second, code="location.other", message="Other.")

    assert refused.value.code == "cabinet.name_taken"
    assert refused.value.field == "name"
    with translation.override("da"):
        assert user_message(refused.value) == NAME_TAKEN_DA


def _condition_fields(condition: object) -> tuple[str, ...]:
    if not isinstance(condition, Q):
        return ()
    names: list[str] = []
    for child in condition.children:
        if isinstance(child, Q):
            names += _condition_fields(child)
        elif isinstance(child, tuple):
            names.append(str(child[0]).split("__", 1)[0])
    return tuple(names)


def test_every_unique_rule_named_is_a_unique_constraint_on_a_field_it_names() -> None:
    # A conditional rule may be broken on the field its condition names
    # (a second role ticked "chosen at sign-in").
    constraints = {
        c.name: (*c.fields, *_condition_fields(c.condition))
        for model in apps.get_models()
        for c in model._meta.constraints
        if isinstance(c, models.UniqueConstraint)
    }
    unique_columns = {
        unique_column_rule(model, field.name): (field.name,)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if field.unique and not field.primary_key
    }
    for name, (code, field, _message) in UNIQUE_RULES.items():
        fields = constraints.get(name) or unique_columns.get(name)
        assert fields is not None, name
        assert field in fields, name
        assert "." in code


def test_the_administration_refuses_the_name_on_its_field_in_the_same_words() -> None:
    acute = f.acute_function()
    services.cabinet_create(organisation=acute, name="Skab 1")
    membership = f.staff(Role.ADMINISTRATOR, acute)
    membership.user.is_staff = True
    membership.user.is_superuser = True
    membership.user.save()
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "da"

    response = client.post(
        "/admin/medicine_cabinet/location/add/",
        {
            "organisation": str(acute.pk),
            "kind": Location.Kind.CABINET,
            "name": "Skab 1",
            "count_interval_days": "7",
            "is_active": "on",
            "created_at_0": "2026-12-07",
            "created_at_1": "10:00:00",
        },
    )

    assert response.status_code == 200  # the form again, with the reason
    form = response.context["adminform"].form
    assert form.errors["name"] == [NAME_TAKEN_DA]
    assert "__all__" not in form.errors
    assert Location.objects.filter(organisation=acute, name="Skab 1").count() == 1


def test_the_description_names_the_conflict_of_a_name_taken() -> None:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    schema = json.loads(json.dumps(generated, default=str))
    conflict = schema["paths"]["/api/cabinet/cabinets"]["post"]["responses"]["409"]
    assert "`cabinet.name_taken` on `name`" in conflict["description"]
    assert conflict["content"]["application/json"]["schema"]["$ref"].endswith("ErrorEnvelope")
