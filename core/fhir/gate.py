"""How the FHIR base (``core.fhir.resources``) reaches the access gate.

The gate and the audit log live in ``consent``, a layer above ``core``; core
may not import them. ``consent`` registers its gate here when its app is
ready (:func:`register_gate`). Until one is registered every question is
refused (deny by default): a read raises "not found", a search finds nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any, NotRequired, Protocol, TypedDict, Unpack

from core.actors import Actor
from core.errors import NotFoundOrNotAllowed

logger = logging.getLogger(__name__)

# Whom a refused request names: one citizen's id, or a tuple of them where one
# request names several (a transaction Bundle's entries, a search by several
# Patient ids), or nobody.
CitizensNamed = int | tuple[int, ...] | None


class ResourceAsked(TypedDict):
    """One resource of one citizen, as a read asks the gate for it."""

    actor: Actor
    citizen_id: int
    category: str
    purpose: str
    resource_type: str
    resource_id: str
    data_dates: NotRequired[tuple[dt.datetime, ...]]


class OneRead(TypedDict):
    """One resource of a citizen's a written Reference names, as the gate
    would be asked a read of it (:meth:`Gate.may_read`)."""

    category: str
    resource_type: str
    resource_id: str
    data_dates: NotRequired[tuple[dt.datetime, ...]]


class Gate(Protocol):
    """What the FHIR base asks; each answer is decided *and* recorded (R9)."""

    def read(self, **asked: Unpack[ResourceAsked]) -> Any:
        """One resource of one citizen: returns the citizen, or raises
        :class:`NotFoundOrNotAllowed` (recorded as denied)."""

    def search(
        self, *, actor: Actor, citizen_id: int, category: str, purpose: str, resource_type: str
    ) -> Any | None:
        """A search that names one citizen: the citizen, or ``None`` when refused
        or unknown (recorded either way)."""

    def may_read(
        self, *, actor: Actor, citizen_id: int, purpose: str, reads: Sequence[OneRead]
    ) -> list[bool]:
        """Whether :meth:`read` of each of these resources of one citizen
        would be permitted, decided as it decides and recording nothing: a
        written Reference that names one (``core.fhir.references``)
        discloses no content, and the write records its own refusal. What
        the gate reads with the citizen is read once for all of them."""

    def refuse(
        self,
        *,
        actor: Actor,
        action: str,
        purpose: str,
        resource_type: str,
        resource_id: str,
        reason_code: str,
        citizen_id: CitizensNamed = None,
    ) -> None:
        """Record an attempt refused before the gate decided on a citizen: an
        unknown id, a role that may not ask, a purpose of use the platform
        does not know. ``citizen_id`` is the citizen the request itself names
        (its Patient id, the patient a search names), if any: the attempt is
        then on that citizen's log, when there is such a citizen. A request
        naming several (a tuple) is on each one's log, one entry each."""


class _RefuseAll:
    """The gate before one is registered: nothing is let through."""

    def read(self, **asked: Any) -> Any:
        logger.error("FHIR read refused: no access gate is registered")
        raise NotFoundOrNotAllowed()

    def search(self, **asked: Any) -> Any | None:
        logger.error("FHIR search refused: no access gate is registered")
        return None

    def may_read(self, *, reads: Sequence[OneRead], **asked: Any) -> list[bool]:
        logger.error("FHIR reference refused: no access gate is registered")
        return [False for _ in reads]

    def refuse(self, **asked: Any) -> None:
        logger.error("FHIR request refused: no access gate is registered")


_REFUSE_ALL = _RefuseAll()
_gate: Gate | None = None


def register_gate(gate: Gate) -> None:
    global _gate
    _gate = gate


def unregister_gate() -> None:
    """Back to refusing everything (tests of deny by default)."""
    global _gate
    _gate = None


def gate_registered() -> bool:
    return _gate is not None


def current_gate() -> Gate:
    return _gate if _gate is not None else _REFUSE_ALL
