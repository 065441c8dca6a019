"""Who is acting: a user in one membership, or background work on someone's behalf."""

from __future__ import annotations

from dataclasses import dataclass

from core.models import Membership, Organisation, User


@dataclass(frozen=True)
class Actor:
    """The party behind an action, as the access gate and the audit log see it.

    For background work ``task`` names the Celery task or command and
    ``user``/``membership`` (or ``partner``) say on whose behalf it runs;
    ``caused_by`` names the organisation whose work a scheduled job does
    when no person or partner set it going (the acute function whose visit
    went unanswered): the audit log and the citizen's insight report name it
    as the actor's organisation. It grants nothing and narrows nothing: it is
    not ``organisation``, which the gate and the services read.
    """

    user: User | None
    membership: Membership | None
    task: str = ""
    partner: Organisation | None = None
    caused_by: Organisation | None = None

    @property
    def role(self) -> str:
        return self.membership.role if self.membership else ""

    @property
    def organisation(self) -> Organisation | None:
        if self.membership is not None:
            return self.membership.organisation
        return self.partner

    @classmethod
    def for_membership(cls, membership: Membership) -> Actor:
        return cls(user=membership.user, membership=membership)

    @classmethod
    def system(
        cls,
        task: str,
        *,
        on_behalf_of: Actor | None = None,
        partner: Organisation | None = None,
        caused_by: Organisation | None = None,
    ) -> Actor:
        if on_behalf_of is not None:
            return cls(
                user=on_behalf_of.user,
                membership=on_behalf_of.membership,
                task=task,
                partner=partner,
                caused_by=caused_by or on_behalf_of.caused_by,
            )
        return cls(user=None, membership=None, task=task, partner=partner, caused_by=caused_by)
