"""The role a login acts in: her memberships in force, the one chosen, and
the refusal of a municipality that has left the acute function."""

from __future__ import annotations

from django.utils.translation import gettext_noop as _

from core.catchment import withdrawn_municipality
from core.errors import Forbidden, InvalidInput, Unauthenticated
from core.models import Membership, User
from core.services.signals import login_refusal_send

MUNICIPALITY_LEFT = "auth.municipality_not_participating"
MUNICIPALITY_LEFT_MESSAGE = _(
    "Your municipality no longer takes part in the joint acute function:"
    " you cannot sign in on its behalf."
)


def municipality_left_refusal(*, username: str, client_address: str | None) -> Forbidden:
    """A sign-in in the name of a municipality that has left the acute
    function, refused and recorded (R9): its staff would be refused every
    citizen's data at the gate, so a session would hold nothing but refusals."""
    login_refusal_send(username=username, code=MUNICIPALITY_LEFT, client_address=client_address)
    return Forbidden(MUNICIPALITY_LEFT, MUNICIPALITY_LEFT_MESSAGE)


def memberships_to_act_in(*, user: User) -> list[Membership]:
    """Her memberships she may sign in to and switch to: in force, and not of a
    municipality (or a unit part of one) that has left the acute function."""
    return [
        m
        for m in Membership.objects.in_force()
        .filter(user=user)
        .select_related("organisation", "user")
        .order_by("organisation__name", "role", "pk")
        if withdrawn_municipality(m.organisation) is None
    ]


def membership_choose(
    *,
    user: User,
    organisation_id: int | None = None,
    role: str | None = None,
    client_address: str | None = None,
) -> Membership:
    """The membership a login acts in: the one asked for, else the default, else
    the only one. One of a municipality that has left the acute function is
    never chosen; a user with no other is refused, and the refusal recorded."""
    in_force = list(
        Membership.objects.in_force().filter(user=user).select_related("organisation", "user")
    )
    memberships = [m for m in in_force if withdrawn_municipality(m.organisation) is None]

    def asked(candidates: list[Membership]) -> list[Membership]:
        return [
            m
            for m in candidates
            if (organisation_id is None or m.organisation_id == organisation_id)
            and (not role or m.role == role)
        ]

    if organisation_id is not None or role:
        chosen = asked(memberships)
        if len(chosen) == 1:
            return chosen[0]
        if not chosen and asked(in_force):
            raise municipality_left_refusal(username=user.username, client_address=client_address)
        raise InvalidInput(
            "auth.membership_unknown", _("You have no such role at that organisation.")
        )
    defaults = [m for m in memberships if m.is_default]
    if defaults:
        return defaults[0]
    if len(memberships) == 1:
        return memberships[0]
    if not memberships:
        if in_force:
            raise municipality_left_refusal(username=user.username, client_address=client_address)
        raise Unauthenticated(
            "auth.no_membership", _("This user has no active role at any organisation.")
        )
    raise InvalidInput(
        "auth.membership_required",
        _("You have several roles: say which organisation and role to act in."),
    )
