# ruff: noqa: E501 -- each reason is kept whole on one line beside its rule
"""Every unique rule of every model is either one a person or a partner can
break by what she sends, listed in ``core.messages.UNIQUE_RULES`` with its
code and Danish sentence (decision 0043), or one no door lets anyone break,
listed here with the reason. A constraint added later fails this walk until
it is put in one of the two.

Then each rule a door reaches, through that door: the administration's
forms (a group's name, a role chosen at sign-in, a nurse's second bag) and
the command that registers a system (its client id), refused on the field
in the platform's sentence, never quoting the value, nothing written.
"""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import models
from django.test import Client
from django.utils import translation

from core.messages import UNIQUE_RULES
from core.models import Membership, Role, SystemClient, User
from core.validation import unique_column_rule
from medicine_cabinet.models import Location
from medicine_cabinet.services import bag_for_nurse
from tests import factories as f

pytestmark = pytest.mark.django_db

# The unique rules no door lets a person or a partner break, and why: the
# platform writes the value itself, or the service that writes it finds what
# is there first (under a row lock) and answers without breaking the rule.
# By a constraint's name, ``<table>.<column>`` for a column declared unique,
# ``<table>.<column>+<column>`` for Django's own ``unique_together``.
KEPT_BY_THE_PLATFORM: dict[str, str] = {
    # -- Django's own tables
    "auth_permission.content_type_id+codename": "written by migrate; the administration only picks permissions",
    "django_content_type.app_label+model": "written by migrate; no door edits it",
    # -- who is who
    "core_apitoken.key_hash": "the hash of a secret the platform draws itself",
    "external_identity_unique": "sign-in finds the identity by issuer and subject under a row lock before it makes one",
    "idempotency_key_once_per_user": "a key sent again is a replay, answered as one (decision 0019)",
    # -- the audit log: written by the log itself and its jobs
    "audit_archivecheckpoint.partition": "written by the monthly archiving job",
    "audit_flag_once_per_kind": "flags are raised by the scan, once per kind",
    "audit_entryreview.entry_id": "entry_review answers a second review 409 audit.already_reviewed",
    "audit_leaf_position_once": "positions are given by the log's sequencer",
    "audit_tile_width_once": "tiles are written by the log's owner",
    "audit_log_instance.uid": "one row, made by the log itself",
    # -- consent and the shared record
    "care_rel_one_open_per_source": "opened and closed by the services of referrals and visits",
    "record_version_unique": "version numbers are counted by the service under the resource's row lock",
    "consent_consentdirective_recipient_organisations.consentdirective_id+organisation_id": "the recipients are set from a set (directive.recipient_organisations.set)",
    "consent_consentdirective_recipient_users.consentdirective_id+user_id": "the recipients are set from a set (directive.recipient_users.set)",
    "consent_consentwithdrawal.directive_id": "consent_withdraw answers a second withdrawal 409 consent.already_withdrawn under the directive's row lock",
    "patient_version_unique": "version numbers are counted by the service under the citizen's row lock",
    "privacy_budget_once_per_answer": "the run spends once per release; a repeat is read back, never spent twice",
    # -- the acute function
    "acute_episode_one_open_per_citizen": "intake finds the citizen's open episode under her row lock",
    "acute_referral_external_id_unique": "a resend is answered with the first referral; another citizen's id is 409 referral.external_id_reused",
    "acute_shift_one_start_per_nurse": "shift_create answers 409 shift.overlaps under the nurse's row lock",
    "acute_visit_one_active_per_referral": "dispatch holds the referral's row lock and refuses a second active visit",
    "acute_warning_one_per_kind": "raised by the deadline watch, get_or_create under a row lock",
    "acute_submission_once_per_ref": "an offline form sent again is a replay, answered as one (decision 0019)",
    "acute_figuresmonthrelease.month": "released by the figures' selector, ignore_conflicts",
    "clinical_testdefinition.code": "the test catalogue is written by migrations and loaddata, which loads a fixture in one transaction; no page, API or admin form edits it",
    "clinical_medicationorder.corrects_id": "a correction withdraws the order under its row lock; a withdrawn order is not corrected again",
    "delegation_one_per_task": "delegation_create answers 409 delegation.exists under the visit's row lock",
    "clinical_labresult.replaces_id": "a correction withdraws the result under its row lock; a withdrawn result is not corrected again",
    "physalert_one_per_order_kind": "raised by the platform, once per order and kind",
    "physalert_one_per_result_kind": "raised by the platform, once per result and kind",
    # -- the medicine cabinet
    "lot_unique_batch": "stock_receive finds the batch already known (in any case) and books into it; a receipt racing it reads the lot again",
    "balance_one_per_location_lot": "balances are kept by the ledger under row locks",
    "count_one_unfinished_per_location": "count_start finds the unfinished count under the location's row lock",
    "count_line_one_per_lot": "the count's lines are made by the platform, one per lot",
    "notification_one_open_per_key": "raised by the platform; a race is caught and read again",
    "medicine_cabinet_administration.movement_id": "the movement is booked by the same service",
    # -- partners
    "integrations_partner.code": "partners are configured as data by the deployment; no page, API, admin form or message makes one",
    "integrations_outboundmessage.message_id": "a UUID the platform draws",
    "integrations_outboundmessage.bundle_id": "a UUID the platform draws",
    "delivery_number_unique": "counted by the delivery task under the message's row lock",
    "inbound_bundle_once": "a bundle sent again is a duplicate, answered with the first acknowledgement",
    "inbound_header_once": "a header sent again is a duplicate, answered with the first acknowledgement",
    "received_ack_bundle_once": "an acknowledgement sent again is recorded once",
    "received_ack_header_once": "an acknowledgement sent again is recorded once",
    "integrations_carethread.identifier": "a thread is found by its identifier under a row lock before one is opened",
    "care_message_segment_once": "a segment already held in the thread is skipped, never written twice",
}


def _unique_rules() -> set[str]:
    """Every unique rule of every model, named as the two lists name them."""
    names: set[str] = set()
    for model in apps.get_models():
        meta = model._meta
        names |= {c.name for c in meta.constraints if isinstance(c, models.UniqueConstraint)}
        names |= {
            unique_column_rule(model, field.name)
            for field in meta.concrete_fields
            if field.unique and not field.primary_key
        }
        for together in meta.unique_together:
            columns = [meta.get_field(name).column for name in together]
            names.add(f"{meta.db_table}.{'+'.join(columns)}")
    return names


def test_every_unique_rule_is_either_one_a_door_answers_or_kept_by_the_platform() -> None:
    rules = _unique_rules()
    unlisted = rules - set(UNIQUE_RULES) - set(KEPT_BY_THE_PLATFORM)
    assert not unlisted, f"put each in UNIQUE_RULES or KEPT_BY_THE_PLATFORM: {sorted(unlisted)}"
    assert not set(UNIQUE_RULES) & set(KEPT_BY_THE_PLATFORM)
    assert not set(KEPT_BY_THE_PLATFORM) - rules, "no such unique rule any more"
    assert all(reason.strip() for reason in KEPT_BY_THE_PLATFORM.values())


def test_no_sentence_of_a_unique_rule_quotes_a_value() -> None:
    for code, _field, message in UNIQUE_RULES.values():
        assert "%(" not in message and "{" not in message, code


# --- through the administration ------------------------------------------------------


def _administrator() -> Client:
    membership = f.staff(Role.ADMINISTRATOR, f.acute_function())
    membership.user.is_staff = True
    membership.user.is_superuser = True
    membership.user.save()
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "da"
    return client


def test_a_group_name_already_used_is_refused_on_its_field_in_the_administration() -> None:
    Group.objects.create(name="Vagthavende")
    response = _administrator().post("/admin/auth/group/add/", {"name": "Vagthavende"})

    assert response.status_code == 200  # the form again, with the reason
    form = response.context["adminform"].form
    assert form.errors["name"] == ["En anden gruppe hedder allerede sådan; vælg et andet navn."]
    assert "Vagthavende" not in form.errors["name"][0]
    assert Group.objects.filter(name="Vagthavende").count() == 1


def test_a_second_bag_for_a_nurse_is_refused_on_the_nurse_in_the_administration() -> None:
    acute = f.acute_function()
    nurse = f.staff(Role.ACUTE_NURSE, acute)
    bag_for_nurse(organisation=acute, nurse=nurse.user)

    response = _administrator().post(
        "/admin/medicine_cabinet/location/add/",
        {
            "organisation": str(acute.pk),
            "kind": Location.Kind.BAG,
            "name": "Ekstra taske",
            "nurse": str(nurse.user_id),
            "count_interval_days": "1",
            "is_active": "on",
            "created_at_0": "2026-12-07",
            "created_at_1": "10:00:00",
        },
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["nurse"] == [
        "Sygeplejersken har allerede en taske i akutfunktionen; ret den taske i stedet."
    ]
    assert "__all__" not in form.errors
    assert Location.objects.filter(kind=Location.Kind.BAG, nurse=nurse.user).count() == 1


def test_a_second_role_chosen_at_sign_in_is_refused_on_its_row_in_the_administration() -> None:
    acute = f.acute_function()
    nurse = f.staff(Role.ACUTE_NURSE, acute)  # chosen at sign-in
    user: User = nurse.user
    form = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "authorisation_id": user.authorisation_id or "",
        "phone": getattr(user, "phone", "") or "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "memberships-TOTAL_FORMS": "2",
        "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": str(nurse.pk),
        "memberships-0-user": str(user.pk),
        "memberships-0-organisation": str(acute.pk),
        "memberships-0-role": nurse.role,
        "memberships-0-is_default": "on",
        "memberships-0-is_active": "on",
        "memberships-1-id": "",
        "memberships-1-user": str(user.pk),
        "memberships-1-organisation": str(acute.pk),
        "memberships-1-role": Role.COORDINATOR,
        "memberships-1-is_default": "on",
        "memberships-1-is_active": "on",
    }

    response = _administrator().post(f"/admin/core/user/{user.pk}/change/", form)

    assert response.status_code == 200, response.status_code
    [formset] = [inline.formset for inline in response.context["inline_admin_formsets"]]
    errors = [form.errors for form in formset.forms if form.errors]
    assert errors == [
        {
            "is_default": [
                "En anden af personens roller er allerede den, der vælges ved login;"
                " fjern markeringen dér først."
            ]
        }
    ]
    assert list(Membership.objects.filter(user=user).values_list("role", flat=True)) == [
        Role.ACUTE_NURSE
    ]


# --- through the command that registers a system --------------------------------------


def _register(client_id: str, organisation_id: int) -> str:
    out = io.StringIO()
    call_command(
        "system_client_register",
        client_id=client_id,
        name="Hospitalets feed",
        organisation=organisation_id,
        role=Role.COORDINATOR,
        scopes="system/Patient.read",
        stdout=out,
    )
    return out.getvalue()


def test_a_client_id_already_registered_is_refused_and_nothing_is_written() -> None:
    acute = f.acute_function()
    assert "client_secret=" in _register("hospital-feed", acute.pk)
    other = f.municipality("159")
    users, memberships = User.objects.count(), Membership.objects.count()

    with translation.override("da"), pytest.raises(CommandError) as refused:
        _register("hospital-feed", other.pk)

    assert str(refused.value) == (
        "Et andet system er allerede registreret med dette klient-id; vælg et andet."
    )
    assert SystemClient.objects.filter(client_id="hospital-feed").count() == 1
    assert (User.objects.count(), Membership.objects.count()) == (users, memberships)
