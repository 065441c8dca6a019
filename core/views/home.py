"""The start page, with a switch to another of her roles, and the help for
the role she acts in."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.models import Role
from core.permissions import actor_from_request, page, serves
from core.services.memberships import memberships_to_act_in


@page()
def home(request: HttpRequest) -> HttpResponse:
    actor = actor_from_request(request)
    assert actor is not None  # the page decorator admits only staff acting in a role
    assert actor.user is not None
    memberships = memberships_to_act_in(user=actor.user)
    return render(request, "core/home.html", {"actor": actor, "memberships": memberships})


HELP_ROLES = frozenset(Role.values) - {Role.ADMINISTRATOR}


@page()
@serves("GET")
def help_page(request: HttpRequest) -> HttpResponse:
    """Help for the role the user acts in: its main tasks, step by step, with
    a link to the page where each is done."""
    actor = actor_from_request(request)
    assert actor is not None
    role = actor.role if actor.role in HELP_ROLES else "general"
    role_label = Role(actor.role).label if actor.role in Role.values else ""
    return render(
        request,
        "core/help.html",
        {"actor": actor, "role_label": role_label, "help_template": f"core/help/{role}.html"},
    )
