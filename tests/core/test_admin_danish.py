"""The administration (organisations, staff and their roles, the formulary,
stock locations) speaks Danish, as every other page does: its field names,
help texts and choices, not the models' English attribute names."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.utils import translation

from core.models import Role
from medicine_cabinet.models import (
    Balance,
    CountLine,
    Location,
    Lot,
    Medicine,
    Movement,
    StockCount,
)
from tests import factories

pytestmark = pytest.mark.django_db

# Words a Danish administrator writes as they are spelt in English.
SAME_IN_DANISH = {"organisation", "hospital"}


def _admin_client() -> Client:
    membership = factories.staff(Role.ADMINISTRATOR, factories.acute_function())
    membership.user.is_staff = True
    membership.user.is_superuser = True
    membership.user.save()
    client = Client()
    assert factories.log_in(client, membership).status_code == 302
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "da"
    return client


def _forms():
    """Every form the administration shows: each registered model's and each
    of its inlines'."""
    request = RequestFactory().get("/admin/")
    request.user = factories.staff(Role.ADMINISTRATOR, factories.acute_function()).user
    request.user.is_superuser = True
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in {"core", "medicine_cabinet"}:
            continue
        yield model, model_admin.get_form(request)
        for inline in model_admin.get_inline_instances(request):
            yield inline.model, inline.get_formset(request).form


def test_every_field_the_administration_shows_has_a_danish_name():
    untranslated: list[str] = []
    with translation.override("da"):
        for model, form in _forms():
            for name, field in form.base_fields.items():
                label = str(field.label)
                with translation.override(None):
                    english = str(form.base_fields[name].label)
                if label == english and label.lower() not in SAME_IN_DANISH:
                    untranslated.append(f"{model._meta.label}.{name}: {label}")
                for value, choice in getattr(field, "choices", []) or []:
                    if value and isinstance(value, str) and str(choice) == value:
                        untranslated.append(f"{model._meta.label}.{name} choice {value}")
    assert untranslated == []


def test_the_organisation_form_reads_in_danish():
    client = _admin_client()
    html = client.get("/admin/core/organisation/add/").content.decode()
    for danish in ("Kommunekode", "Deltager i akutfunktionen", "Lægepraksis", "Ydernummer"):
        assert danish in html
    for english in ("Municipality code", "Participates", "GP practice", "Provider number"):
        assert english not in html
    listing = client.get("/admin/").content.decode()
    assert "Organisationer" in listing
    assert "Lægemiddelsortiment" in listing


def test_a_role_is_named_in_danish_in_the_staff_form():
    client = _admin_client()
    user = factories.staff(Role.ACUTE_NURSE, factories.acute_function()).user
    html = client.get(f"/admin/core/user/{user.pk}/change/").content.decode()
    assert "Akutsygeplejerske" in html
    assert ">Acute nurse<" not in html
    assert "Autorisations-ID" in html
    assert "Klinisk" in html


def test_the_administrations_sections_are_named_in_danish():
    """The index groups models under their app's name: the platform's own
    apps are named in Danish, not by their English ``verbose_name``."""
    ours = {
        model._meta.app_config
        for model in admin.site._registry
        if not model.__module__.startswith(("django.", "django_otp."))
    }
    assert ours
    untranslated = []
    for app in ours:
        with translation.override("da"):
            danish = str(app.verbose_name)
        with translation.override(None):
            english = str(app.verbose_name)
        if danish == english:
            untranslated.append(f"{app.label}: {english}")
    assert untranslated == []
    listing = _admin_client().get("/admin/").content.decode()
    assert "Organisationer, personale og borgere" in listing
    assert "Medicinskab" in listing
    assert "Organisations, staff and citizens" not in listing


def test_stock_reads_in_danish_where_the_administration_names_it():
    """A location's delete page lists the stock held there, and a lot or a
    count is named in selects and messages, by the objects' own names: in
    Danish, the dosage form translated and quantities without ``.000``."""
    medicine = Medicine(name="Paracetamol", strength="500 mg", form="tablet", unit="tablet")
    location = Location(name="Medicinskab, basen", kind=Location.Kind.CABINET)
    lot = Lot(medicine=medicine, batch_number="AB123")
    count = StockCount(pk=7, location=location)
    with translation.override("da"):
        assert str(medicine) == "Paracetamol 500 mg tabletter"
        assert str(lot) == "Paracetamol 500 mg tabletter, batch AB123"
        assert (
            str(Balance(lot=lot, location=location, quantity=Decimal("2.500")))
            == "2,5 af Paracetamol 500 mg tabletter, batch AB123 i Medicinskab, basen"
        )
        assert (
            str(
                Movement(
                    lot=lot,
                    kind=Movement.Kind.TO_BAG,
                    direction=Movement.Direction.OUT,
                    quantity=Decimal("4.000"),
                )
            )
            == "Skab til taske, ud 4 af Paracetamol 500 mg tabletter, batch AB123"
        )
        assert str(count) == "Optælling 7 af Medicinskab, basen"
        assert (
            str(CountLine(count=count, lot=lot, counted_quantity=Decimal("20.000")))
            == "Paracetamol 500 mg tabletter, batch AB123 optalt til 20"
        )
    with translation.override("en"):
        assert str(lot) == "Paracetamol 500 mg tablet, batch AB123"
