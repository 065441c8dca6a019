"""The administration is for configuration: it shows no citizen's data, past
the gate and the audit log, by any of its doors (R9, deny by default): not
through a filter in its address, not in what stands in the way of a
deletion, not by deleting what a citizen's refusal or consent names, and not
through a code app's key that would let an administrator sign in as a nurse."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from consent.models import ConsentDirective
from core.admin import ConfigurationAdmin
from core.models import Membership, Organisation, Role, User
from medicine_cabinet.models import Lot, Medicine
from tests import factories

pytestmark = pytest.mark.django_db


def _administrator() -> tuple[Client, Membership]:
    membership = factories.staff(Role.ADMINISTRATOR, factories.acute_function())
    membership.user.is_staff = True
    membership.user.is_superuser = True
    membership.user.save()
    client = Client()
    assert factories.log_in(client, membership).status_code == 302
    return client, membership


def test_r9_no_list_of_the_administration_is_filtered_by_the_records_pointing_at_it():
    client, _ = _administrator()
    person = factories.citizen(municipality_code="159")
    nurse = factories.staff(Role.ACUTE_NURSE, factories.acute_function())
    relationship = factories.open_visit(nurse, person)

    # Which municipality a citizen lives in, which nurse has which citizen.
    residence = client.get(f"/admin/core/organisation/?residents={person.pk}")
    assert residence.status_code == 400
    assert "Gladsaxe" not in residence.content.decode()
    carer = client.get(f"/admin/core/user/?care_relationships={relationship.pk}")  # type: ignore[attr-defined]
    assert carer.status_code == 400
    assert nurse.user.username not in carer.content.decode()

    # The model's own fields still filter.
    municipalities = client.get("/admin/core/organisation/?kind__exact=municipality")
    assert municipalities.status_code == 200
    assert "Gladsaxe" in municipalities.content.decode()


def test_every_page_of_the_administration_keeps_to_its_own_fields():
    """A page registered later, or one a library brings, is held to the
    same rule."""
    loose = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, ConfigurationAdmin)
    ]
    assert loose == []


def test_r4_staff_and_organisations_named_by_a_citizens_consent_are_never_deleted():
    """A consent names its recipients; one naming nobody would lift the
    refusal for everyone. Staff and organisations are deactivated instead."""
    client, administrator = _administrator()
    person = factories.citizen()
    department = factories.hospital_department()
    physician = factories.staff(Role.PHYSICIAN, factories.gp_practice())
    consent = ConsentDirective.objects.create(
        citizen=person,
        provision=ConsentDirective.Provision.PERMIT,
        given_how=ConsentDirective.GivenHow.WRITTEN,
        recorded_by=administrator.user,
        recorded_by_organisation=administrator.organisation,
    )
    consent.recipient_organisations.add(department)
    consent.recipient_users.add(physician.user)

    for url in [
        f"/admin/core/organisation/{department.pk}/delete/",
        f"/admin/core/user/{physician.user.pk}/delete/",
    ]:
        assert client.get(url).status_code == 403
        assert client.post(url, {"post": "yes"}).status_code == 403
    for changelist, pk in [
        ("/admin/core/organisation/", department.pk),
        ("/admin/core/user/", physician.user.pk),
    ]:
        client.post(
            changelist, {"action": "delete_selected", "_selected_action": [pk], "post": "yes"}
        )

    assert Organisation.objects.filter(pk=department.pk).exists()
    assert User.objects.filter(pk=physician.user.pk).exists()
    assert list(consent.recipient_organisations.all()) == [department]
    assert list(consent.recipient_users.all()) == [physician.user]


def test_what_stands_in_the_way_of_a_deletion_is_named_by_kind_and_number_only():
    client, _ = _administrator()
    medicine = Medicine.objects.create(
        atc_code="N02BE01",
        name="Paracetamol",
        strength="500 mg",
        form="tablet",
        unit="tablet",
        package_size=Decimal("20"),
        dispensing=Medicine.Dispensing.OVER_THE_COUNTER,
    )
    Lot.objects.create(medicine=medicine, batch_number="ZX9041", expires_on=dt.date(2030, 1, 1))
    page = client.get(
        f"/admin/medicine_cabinet/medicine/{medicine.pk}/delete/", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "ZX9041" not in html
    assert "Lots: 1" in html
    assert Medicine.objects.filter(pk=medicine.pk).exists()


def test_the_administration_never_shows_nor_sets_a_code_apps_key():
    client, _ = _administrator()
    nurse = factories.staff(Role.ACUTE_NURSE, factories.acute_function())
    device = factories.totp_device(nurse.user)
    base = "/admin/otp_totp/totpdevice"

    listing = client.get(f"{base}/")
    assert listing.status_code == 200
    assert nurse.user.username in listing.content.decode()
    shown = client.get(f"{base}/{device.pk}/change/")
    assert factories.TOTP_KEY_HEX not in shown.content.decode()
    assert client.get(f"{base}/{device.pk}/config/").status_code == 403
    assert client.get(f"{base}/{device.pk}/qrcode/").status_code == 403
    assert client.get(f"{base}/add/").status_code == 403
    planted = client.post(
        f"{base}/add/",
        {
            "user": nurse.user.pk,
            "name": "x",
            "key": "00" * 20,
            "step": 30,
            "t0": 0,
            "digits": 6,
            "tolerance": 1,
            "drift": 0,
            "confirmed": "on",
        },
    )
    assert planted.status_code == 403
    assert list(TOTPDevice.objects.filter(user=nurse.user).values_list("key", flat=True)) == [
        factories.TOTP_KEY_HEX
    ]

    # Removing a lost phone's app stays possible: she sets up a new one at her next login.
    gone = client.post(f"{base}/{device.pk}/delete/", {"post": "yes"})
    assert gone.status_code == 302
    assert not TOTPDevice.objects.filter(user=nurse.user).exists()
