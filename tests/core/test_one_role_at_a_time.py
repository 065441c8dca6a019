"""One organisation and one role at a time, on every door: the admin is open
only to a session acting as administrator, and a member of staff with several
roles chooses one at the login page and switches between them."""

import pytest
from django.test import Client

from core.models import Membership, Organisation, Role, User
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_code_pause(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def _admin_form_login(client: Client, user: User):
    device = f.totp_device(user)
    return client.post(
        "/admin/login/",
        {
            "username": user.username,
            "password": f.PASSWORD,
            "otp_device": device.persistent_id,
            "otp_token": f.totp_code(user),
        },
    )


def _staff_flag(membership: Membership) -> Membership:
    """Staff and superuser status: every permission the admin knows of."""
    membership.user.is_staff = membership.user.is_superuser = True
    membership.user.save()
    return membership


def test_staff_status_without_an_administrator_role_does_not_open_the_admin() -> None:
    """A nurse whose user has staff status (set in the admin, or left from
    another job) reached the whole admin, by its login and with her page
    session acting as nurse."""
    nurse = _staff_flag(f.staff(Role.ACUTE_NURSE, f.acute_function(), username="nurse-staff"))
    by_admin_login = Client()
    refused = _admin_form_login(by_admin_login, nurse.user)
    assert refused.status_code == 200
    assert "Forkert brugernavn eller adgangskode." in refused.content.decode()
    assert by_admin_login.get("/admin/core/user/").status_code == 302

    by_page = Client()
    assert f.log_in(by_page, nurse).status_code == 302
    assert by_page.get("/").status_code == 200
    assert by_page.get("/admin/").status_code == 302
    assert by_page.get("/admin/core/user/")["Location"].startswith("/admin/login/")


def test_the_admin_ends_with_the_administrator_role_it_was_opened_in() -> None:
    """An administrator's membership switched off, past its end, or her
    organisation deactivated: the pages stopped at once, the admin went on."""
    admin = _staff_flag(f.staff(Role.ADMINISTRATOR, f.acute_function(), username="adm-1"))
    client = Client()
    assert _admin_form_login(client, admin.user).status_code == 302
    assert client.get("/admin/core/user/").status_code == 200
    assert client.get("/").status_code == 200  # the admin's login acts as administrator

    Membership.objects.filter(pk=admin.pk).update(is_active=False)
    assert client.get("/admin/core/user/").status_code == 302
    assert client.get("/").status_code == 302

    Membership.objects.filter(pk=admin.pk).update(is_active=True)
    assert client.get("/admin/core/user/").status_code == 200
    Organisation.objects.filter(pk=admin.organisation_id).update(is_active=False)
    assert client.get("/admin/core/user/").status_code == 302


def test_a_user_who_is_also_administrator_reaches_the_admin_only_acting_as_one() -> None:
    org = f.acute_function()
    nurse = _staff_flag(f.staff(Role.ACUTE_NURSE, org, username="nurse-adm2"))
    admin = Membership.objects.create(user=nurse.user, organisation=org, role=Role.ADMINISTRATOR)
    client = Client()
    assert f.log_in(client, nurse).status_code == 302  # acting as nurse (her default)
    assert client.get("/admin/core/user/").status_code == 302
    assert client.post("/role/", {"membership": admin.pk}).status_code == 302
    assert client.get("/admin/core/user/").status_code == 200
    assert client.post("/role/", {"membership": nurse.pk}).status_code == 302
    assert client.get("/admin/core/user/").status_code == 302
    # The admin's own login acts as administrator even from the nurse's session.
    assert _admin_form_login(client, nurse.user).status_code == 302
    assert client.get("/admin/core/user/").status_code == 200


def _two_roles_no_default() -> tuple[Membership, Membership]:
    first = f.staff(Role.PHYSICIAN, f.acute_function(), username="doc-two")
    first.is_default = False
    first.save()
    helpline = f.organisation(Organisation.Kind.HELPLINE_1813, "Akuttelefonen 1813")
    second = Membership.objects.create(user=first.user, organisation=helpline, role=Role.PHYSICIAN)
    return first, second


def test_a_user_of_several_roles_without_a_default_chooses_one_after_the_code() -> None:
    """She could not log in on the pages at all: the login page said to name
    the organisation and role, and had nowhere to name them."""
    first, second = _two_roles_no_default()
    client = Client()
    answer = f.log_in(client, first, next_url="/help/")
    assert answer.status_code == 302
    assert answer["Location"] == "/login/role/"
    assert client.get("/").status_code == 302  # not logged in before she chooses
    page = client.get("/login/role/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Vælg din rolle" in html
    assert "Akuttelefonen 1813" in html and first.organisation.name in html

    other = f.staff(Role.COORDINATOR, f.acute_function(), username="coord-other")
    for not_hers in (other.pk, "x", "", f"{second.pk} "):
        refused = client.post("/login/role/", {"membership": not_hers})
        assert refused.status_code == 400
        assert "Vælg en af dine roller." in refused.content.decode()
    assert client.get("/").status_code == 302

    chosen = client.post("/login/role/", {"membership": second.pk})
    assert chosen.status_code == 302
    assert chosen["Location"] == "/help/"
    assert client.session["membership_id"] == second.pk
    home = client.get("/")
    assert home.status_code == 200
    assert "Akuttelefonen 1813" in home.content.decode()
    # The step is over: it cannot be taken again to change roles.
    assert client.post("/login/role/", {"membership": first.pk})["Location"] == "/login/"


def test_the_role_choice_needs_the_code_first_and_a_role_in_force() -> None:
    first, second = _two_roles_no_default()
    client = Client()
    f.totp_device(first.user)
    assert (
        client.post("/login/", {"username": "doc-two", "password": f.PASSWORD}).status_code == 302
    )
    # The password alone does not lead to the choice.
    assert client.post("/login/role/", {"membership": second.pk})["Location"] == "/login/"
    assert client.get("/").status_code == 302
    assert client.post("/login/code/", {"otp": f.totp_code(first.user)}).status_code == 302
    Membership.objects.filter(pk=second.pk).update(is_active=False)
    refused = client.post("/login/role/", {"membership": second.pk})
    assert refused.status_code == 400
    assert client.get("/").status_code == 302


def test_the_role_switch_takes_only_her_own_roles_in_force_and_renews_the_session() -> None:
    first, second = _two_roles_no_default()
    Membership.objects.filter(pk=first.pk).update(is_default=True)
    client = Client()
    assert f.log_in(client, first).status_code == 302
    home = client.get("/").content.decode()
    assert "Arbejd i denne rolle" in home

    assert client.get("/role/").status_code == 405  # a switch is a form, never a link
    other = f.staff(Role.COORDINATOR, f.acute_function(), username="coord-x")
    for not_hers in (other.pk, "abc", "", "9" * 30):
        refused = client.post("/role/", {"membership": not_hers})
        assert refused.status_code == 400
    assert client.session["membership_id"] == first.pk

    key = client.session.session_key
    assert client.post("/role/", {"membership": second.pk})["Location"] == "/"
    assert client.session.session_key != key
    assert client.session["membership_id"] == second.pk
    Membership.objects.filter(pk=first.pk).update(is_active=False)
    assert client.post("/role/", {"membership": first.pk}).status_code == 400
    assert client.session["membership_id"] == second.pk


def test_the_role_switch_refuses_a_form_from_elsewhere() -> None:
    first, second = _two_roles_no_default()
    Membership.objects.filter(pk=first.pk).update(is_default=True)
    client = Client(enforce_csrf_checks=True)
    assert f.log_in(client, first).status_code == 403  # the login form itself needs its token
    strict = Client()
    assert f.log_in(strict, first).status_code == 302
    csrf_checked = Client(enforce_csrf_checks=True)
    csrf_checked.cookies = strict.cookies
    assert csrf_checked.post("/role/", {"membership": second.pk}).status_code == 403
    assert strict.session["membership_id"] == first.pk
