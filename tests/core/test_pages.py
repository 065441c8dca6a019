"""The page frame: login, the role-aware start page, language, the "not allowed" page.

Also walks every page route: each role that a page does not admit gets the
same "not available" page as an unknown address, so a refusal reveals nothing.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from core.models import Role
from tests import factories

pytestmark = pytest.mark.django_db


def _logged_in(membership) -> Client:
    client = Client()
    response = factories.log_in(client, membership)
    assert response.status_code == 302
    return client


def _main(html: str) -> str:
    match = re.search(r"<main.*?</main>", html, re.S)
    assert match
    return match.group(0)


def _role_pages() -> list[tuple[str, frozenset[str]]]:
    """Every page route restricted to named roles, as (path, roles)."""
    found: list[tuple[str, frozenset[str]]] = []

    def walk(patterns, prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                access = getattr(p.callback, "page_access", None)
                if isinstance(access, frozenset):
                    path = re.sub(r"<(?:\w+:)?\w+>", "1", prefix + str(p.pattern))
                    found.append(("/" + path.lstrip("^").rstrip("$"), access))

    walk(get_resolver().url_patterns, "")
    return found


def test_login_page_is_danish_by_default_and_labelled():
    response = Client().get("/login/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="da">' in html
    assert '<label for="id_username">Brugernavn</label>' in html
    assert '<label for="id_password">Adgangskode</label>' in html
    assert "core/vendor/htmx.min.js" in html


def test_english_is_available_through_the_language_switch():
    client = Client()
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    html = client.get("/login/").content.decode()
    assert '<html lang="en">' in html
    assert ">Username</label>" in html


def test_wrong_password_is_refused_with_a_message_and_no_session():
    nurse = factories.staff(Role.ACUTE_NURSE, factories.acute_function())
    client = Client()
    response = client.post("/login/", {"username": nurse.user.username, "password": "nope"})
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert client.get("/").status_code == 302


def test_start_page_names_the_role_in_danish_and_logout_ends_the_session():
    nurse = factories.staff(Role.ACUTE_NURSE, factories.acute_function())
    client = _logged_in(nurse)
    html = client.get("/").content.decode()
    assert "Akutsygeplejerske" in html
    assert 'id="role-tiles"' in html
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_the_administrator_s_start_page_leads_to_the_administration():
    """The administrator landed on a start page with Help alone: nothing led
    to the administration where her work is."""
    admin = factories.staff(Role.ADMINISTRATOR, factories.acute_function())
    admin.user.is_staff = True
    admin.user.save()
    client = _logged_in(admin)
    html = client.get("/").content.decode()
    tiles = html[html.index('id="role-tiles"') :]
    assert 'href="/admin/"' in tiles
    assert "Organisationer, medarbejdere og deres roller" in tiles
    assert client.get("/admin/").status_code == 200


def test_unknown_address_shows_the_not_available_page():
    nurse = factories.staff(Role.ACUTE_NURSE, factories.acute_function())
    response = _logged_in(nurse).get("/no-such-page/")
    assert response.status_code == 404
    assert "Ikke tilgængelig" in response.content.decode()


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.ADMINISTRATOR])
def test_each_refused_role_sees_the_same_page_as_an_unknown_address(role):
    """Deny by default on pages: a refusal and a missing page are indistinguishable."""
    org = (
        factories.acute_function()
        if role in (Role.ACUTE_NURSE, Role.COORDINATOR, Role.MEDICINE_OFFICER)
        else factories.gp_practice()
        if role == Role.PHYSICIAN
        else factories.municipality("159")
    )
    client = _logged_in(factories.staff(role, org))
    unknown = _main(client.get("/no-such-page/").content.decode())
    for path, allowed in _role_pages():
        if role in allowed:
            continue
        response = client.get(path)
        assert response.status_code == 403, path
        assert _main(response.content.decode()) == unknown, path


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.ADMINISTRATOR])
def test_every_link_on_the_start_page_opens(role):
    """The role's navigation and tiles lead to pages it may open (no 403/405)."""
    org = (
        factories.acute_function()
        if role in (Role.ACUTE_NURSE, Role.COORDINATOR, Role.MEDICINE_OFFICER, Role.AUDITOR)
        else factories.gp_practice()
        if role == Role.PHYSICIAN
        else factories.municipality("159")
    )
    client = _logged_in(factories.staff(role, org))
    html = client.get("/").content.decode()
    tiles = html[html.index('id="role-tiles"') :]
    for href in set(re.findall(r'class="tile" href="([^"#]+)', tiles)):
        assert client.get(href).status_code == 200, href


def test_a_pin_near_the_maps_right_edge_has_its_tag_inside_the_map():
    """The coordinator's map: a nurse's name beside a pin at the east edge is
    drawn to the left of it, not cut off by the map's edge."""
    from core.pages import Marker, municipality_map

    drawn = municipality_map(
        [
            Marker(latitude=55.75, longitude=13.5, label="Anne Holm", tag="Anne"),
            Marker(latitude=55.75, longitude=12.0, label="Mette Skov", tag="Mette"),
        ]
    )
    markers = drawn["markers"]
    assert isinstance(markers, list)
    east, west = markers
    assert float(east["x"]) > float(drawn["width"]) - 120
    assert (east["tag_anchor"], east["tag_dx"]) == ("end", "-16")
    assert (west["tag_anchor"], west["tag_dx"]) == ("start", "16")


def test_pins_in_a_municipality_that_joined_later_are_placed_where_they_live():
    """Furesø (190) joined by configuration and has no outline on the map: two
    of its citizens, in Farum and in Værløse, are two pins in their own places
    west of the drawn municipalities, not one heap on the map's edge."""
    from core.pages import Marker, municipality_map

    drawn = municipality_map(
        [
            Marker(latitude=55.812, longitude=12.360, label="Farum", kind="referral"),
            Marker(latitude=55.782, longitude=12.372, label="Værløse", kind="referral"),
            Marker(latitude=55.750, longitude=12.560, label="Hellerup", kind="referral"),
        ]
    )
    markers = drawn["markers"]
    assert isinstance(markers, list)
    farum, vaerloese, hellerup = ((float(m["x"]), float(m["y"])) for m in markers)
    assert farum[0] < vaerloese[0] < hellerup[0]  # west to east, as on the ground
    assert farum[1] < vaerloese[1]  # Farum lies north of Værløse
    assert farum[0] > 4.0  # inside the map, not clamped to its edge
