"""What the administration changes about who may act — an organisation
leaving, a user's code app removed, a role switched off — is in the audit
log by the administrator who changed it (R9), not only in the admin's own
history; a change the administration refuses leaves no entry."""

from __future__ import annotations

import pytest
from django.test import Client

from acute.models import Outcome as EpisodeOutcome
from consent.audit.models import Action, AuditEntry, Outcome
from core.models import Membership, Organisation, Role, User
from tests import factories

pytestmark = pytest.mark.django_db


def _admin() -> tuple[Client, Membership]:
    membership = factories.staff(Role.ADMINISTRATOR, factories.acute_function())
    membership.user.is_staff = True
    membership.user.is_superuser = True
    membership.user.save()
    client = Client()
    assert factories.log_in(client, membership).status_code == 302
    return client, membership


def _entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(reason_code="admin.change").order_by("pk"))


def _by(entry: AuditEntry, admin: Membership) -> None:
    assert entry.outcome == Outcome.PERMITTED
    assert entry.citizen_id is None
    assert (entry.actor_user_id, entry.actor_role) == (admin.user_id, Role.ADMINISTRATOR)


def _organisation_form(org: Organisation, **changed: object) -> dict[str, object]:
    form: dict[str, object] = {
        "kind": org.kind,
        "name": org.name,
        "municipality_code": org.municipality_code or "",
        "sor_code": org.sor_code or "",
        "ean": org.ean or "",
        "phone": org.phone,
        "is_active": "on",
        "participates": "on",
        "serves": [str(m.pk) for m in org.serves.all()],
    }
    form.update(changed)
    return {key: value for key, value in form.items() if value is not None}


def test_a_municipality_leaving_is_recorded_by_the_administrator() -> None:
    gladsaxe = factories.municipality("159")
    client, admin = _admin()
    response = client.post(
        f"/admin/core/organisation/{gladsaxe.pk}/change/",
        _organisation_form(gladsaxe, participates=None),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    gladsaxe.refresh_from_db()
    assert not gladsaxe.participates
    [entry] = _entries()
    _by(entry, admin)
    assert (entry.action, entry.resource_type) == (Action.UPDATE, "Organisation")
    assert entry.detail["object_id"] == gladsaxe.pk
    assert entry.detail["change"] == [{"changed": {"fields": ["Takes part in the acute function"]}}]


def test_a_refused_change_in_the_administration_leaves_no_entry() -> None:
    acute = factories.acute_function()
    client, _ = _admin()
    referral = factories.acute_referral(person=factories.citizen(municipality_code="159"))
    assert referral.episode.outcome != EpisodeOutcome.TREATED_AT_HOME
    kept = [m for m in acute.serves.all() if m.municipality_code != "159"]
    refused = client.post(
        f"/admin/core/organisation/{acute.pk}/change/",
        _organisation_form(acute, serves=[str(m.pk) for m in kept]),
    )
    assert refused.status_code == 200  # the form again, with the reason
    assert _entries() == []


def test_a_removed_code_app_is_recorded_by_the_administrator() -> None:
    nurse = factories.staff(Role.ACUTE_NURSE, factories.acute_function())
    device = factories.totp_device(nurse.user)
    client, admin = _admin()
    response = client.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not type(device).objects.filter(pk=device.pk).exists()
    [entry] = _entries()
    _by(entry, admin)
    assert (entry.action, entry.resource_type) == (Action.DELETE, "TOTPDevice")
    assert entry.detail["object_id"] == device.pk


def test_a_role_switched_off_on_the_users_page_is_recorded() -> None:
    nurse = factories.staff(Role.ACUTE_NURSE, factories.acute_function())
    user: User = nurse.user
    client, admin = _admin()
    page = client.get(f"/admin/core/user/{user.pk}/change/")
    assert page.status_code == 200
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
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": str(nurse.pk),
        "memberships-0-user": str(user.pk),
        "memberships-0-organisation": str(nurse.organisation_id),
        "memberships-0-role": nurse.role,
        "memberships-0-is_default": "on" if nurse.is_default else "",
        # is_active left out: switched off
    }
    response = client.post(f"/admin/core/user/{user.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    nurse.refresh_from_db()
    assert not nurse.is_active
    [entry] = _entries()
    _by(entry, admin)
    assert (entry.action, entry.resource_type) == (Action.UPDATE, "User")
    assert entry.detail["object_id"] == user.pk
    [role_change] = [c["changed"] for c in entry.detail["change"] if "name" in c["changed"]]
    assert (role_change["name"], role_change["fields"]) == ("role at an organisation", ["Active"])
