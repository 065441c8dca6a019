"""Whose log an auditor reads (R9, R5): decided here once, for every door
that shows an auditor entries or citizens (``/api/audit/``, ``/fhir/AuditEvent``,
the auditor's pages and exports, the insight report's look-up and the gate's
decision on the report itself). docs/decisions/0039 says why.

- The joint acute function runs the platform for every participating
  municipality: its auditor reads the whole log.
- A participating municipality's auditor reads the entries about citizens
  resident in it and the entries made by its own staff (the municipality
  and every unit *part of* it), whoever the citizen.
- Any other organisation's auditor (a hospital or its department, 1813, a
  GP practice, a unit of a municipality) reads the entries made by its own
  staff: the organisation and every unit part of it.
- Staff of a municipality that has left the acute function read nothing:
  the doors refuse them as the gate does
  (``access.municipality_not_participating``).

An entry outside the scope is answered as no entry at all. Residence is
the citizen's municipality now (``Citizen.municipality``): the platform
keeps no history of where she lived.

No side effects: the doors record what they answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from consent.audit.errors import entry_id_possible
from consent.audit.models import AuditEntry, Purpose
from core.actors import Actor
from core.catchment import withdrawn_municipality
from core.models import Citizen, Organisation, Role


@dataclass(frozen=True)
class AuditorScope:
    """The part of the log an auditor reads. Made empty it reads nothing
    (deny by default); :func:`auditor_scope` gives an actor hers."""

    whole_log: bool = False
    # Entries made by these organisations (the auditor's own and its units).
    organisation_ids: frozenset[int] = frozenset()
    # Entries about the citizens resident in this municipality.
    municipality_id: int | None = None
    # Acting for a municipality that has left the acute function.
    withdrawn: bool = False

    def entries(self, entries: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        """``entries`` narrowed to the scope."""
        if self.whole_log:
            return entries
        within = self._made_by_own_staff() | self._about_residents()
        return entries.filter(within) if within else entries.none()

    def holds(self, entry_id: int) -> bool:
        """Whether the entry is in the scope; an id that names no entry is
        not. For the whole log: True, and the door finds out the rest."""
        if self.whole_log:
            return True
        if not entry_id_possible(entry_id):
            return False
        return self.entries(AuditEntry.objects.filter(id=entry_id)).exists()

    def citizens(self, citizens: QuerySet[Citizen]) -> QuerySet[Citizen]:
        """The citizens the auditor may find and see named: her
        municipality's residents, and those her own staff reached for their
        work. Her organisation's own audit reads do not count: a citizen
        she only searched for (and the search recorded on) is not found
        by name or CPR number through that search."""
        if self.whole_log:
            return citizens
        within = Q()
        if self.municipality_id is not None:
            within |= Q(municipality_id=self.municipality_id)
        if self.organisation_ids:
            within |= Q(
                Exists(
                    AuditEntry.objects.filter(
                        citizen_id=OuterRef("pk"),
                        actor_organisation_id__in=self.organisation_ids,
                    ).exclude(purpose=Purpose.AUDIT)
                )
            )
        return citizens.filter(within) if within else citizens.none()

    def citizens_wholly(self, citizens: QuerySet[Citizen]) -> QuerySet[Citizen]:
        """The citizens whose whole log is the auditor's: what the insight
        report (R5) needs, every access to her whoever made it."""
        if self.whole_log:
            return citizens
        if self.municipality_id is None:
            return citizens.none()
        return citizens.filter(municipality_id=self.municipality_id)

    def covers_citizen(self, citizen: Citizen) -> bool:
        """:meth:`citizens_wholly` for one citizen already read."""
        return self.whole_log or (
            self.municipality_id is not None and citizen.municipality_id == self.municipality_id
        )

    def _made_by_own_staff(self) -> Q:
        if not self.organisation_ids:
            return Q()
        return Q(actor_organisation_id__in=self.organisation_ids)

    def _about_residents(self) -> Q:
        if self.municipality_id is None:
            return Q()
        return Q(
            citizen_id__in=Citizen.objects.filter(municipality_id=self.municipality_id).values("pk")
        )


# The platform's own reading of its log (commands, benchmarks), no auditor's.
WHOLE_LOG = AuditorScope(whole_log=True)
NOTHING = AuditorScope()


def _with_units(organisation: Organisation) -> frozenset[int]:
    """The organisation and every unit *part of* it, however deep."""
    found = {organisation.pk}
    frontier = {organisation.pk}
    while frontier:
        frontier = (
            set(Organisation.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
            - found
        )
        found |= frontier
    return frozenset(found)


def auditor_scope(actor: Actor) -> AuditorScope:
    """The part of the log ``actor`` reads as an auditor, by the organisation
    she acts for (see the module's docstring). Anyone not acting as an
    auditor reads nothing."""
    if actor.membership is None or actor.role != Role.AUDITOR:
        return NOTHING
    organisation = actor.membership.organisation
    if withdrawn_municipality(organisation) is not None:
        return AuditorScope(withdrawn=True)
    if organisation.kind == Organisation.Kind.ACUTE_FUNCTION:
        return WHOLE_LOG
    return AuditorScope(
        organisation_ids=_with_units(organisation),
        municipality_id=(
            organisation.pk if organisation.kind == Organisation.Kind.MUNICIPALITY else None
        ),
    )
