"""One base for every partner: who it is, what it receives, what it sends, and how.

Each partner package declares its adapter in ``integrations/<partner>/adapter.py``
on :class:`PartnerAdapter`:

- ``kind`` — its code, one of :class:`integrations.models.Partner.Kind`. Which
  organisation a partner is (SOR code, endpoint, shared secret, retry policy)
  is data, on its ``Partner`` row, never code;
- ``receives`` — the message events the platform receives from it, a handler
  per event (:data:`Handler`); anything else it sends is refused with a
  fatal-error acknowledgement;
- ``sends`` — the message events the platform sends it, a builder per event
  (:data:`Builder`); one event may be built differently for each partner (a
  CareCommunication is the episode's outcome to a GP, the hand-back to home
  nursing);
- ``transport`` — how its messages travel (:class:`Transport`): the signed
  HTTP POST of :mod:`integrations.transport` today; a VANS/EHMI gateway would
  be another implementation of the same base.

Acknowledgements are not declared: every partner acknowledges and is
acknowledged (:mod:`integrations.inbound`). The adapters are listed in
:mod:`integrations.partners`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from core.actors import Actor
from integrations.medcom.outbound import MedComShape
from integrations.messages import ParsedMessage
from integrations.models import DeliveryAttempt, OutboundMessage, Partner

if TYPE_CHECKING:
    from core.models import Citizen


@dataclass(frozen=True)
class Handled:
    """What a handler did: the citizen concerned and ids of what it created."""

    citizen: Citizen | None
    result: dict[str, Any]


# Processes one message from the partner inside the transaction that also
# remembers it; raises InvalidMessage or a PlatformError to refuse it.
Handler = Callable[[Partner, ParsedMessage, Actor], Handled]


@dataclass(frozen=True)
class Outgoing:
    """A message a builder made for the outbox: the focus resources (listed in
    MessageHeader.focus), the resources supporting them, and what caused it."""

    citizen: Citizen
    focus: list[dict[str, Any]]
    source_type: str
    source_id: str
    supporting: list[dict[str, Any]] = field(default_factory=list)
    activity: str = "new-message"
    # The MedCom message type the content follows: built in MedCom's envelope
    # and checked against its rules before it may go (None: the platform's
    # own envelope).
    medcom: MedComShape | None = None


# Builds one event from what happened (a referral's step, an episode, a visit's
# results ...); None when there is nothing to tell. Each builder names the type
# it takes; the mapping of events to builders cannot, so it holds them as Any.
Builder = Callable[[Any], Outgoing | None]


@dataclass(frozen=True)
class DeliveryAnswer:
    """What one attempt to deliver a message came to."""

    outcome: str  # DeliveryAttempt.Outcome
    http_status: int | None
    error_code: str
    detail: str
    # The partner's acknowledgement of the message in its answer, if it gave one.
    acknowledgement: ReplyAcknowledgement | None = None

    @property
    def reached(self) -> bool:
        """The partner got the message, whatever it answered: the data is disclosed."""
        return self.outcome != DeliveryAttempt.Outcome.NETWORK


@dataclass(frozen=True)
class ReplyAcknowledgement:
    """A partner's acknowledgement of our message given in its answer to the
    delivery: its ids, by which it is remembered as one sent as a message is
    (a copy of it later is answered as the first), and what the attempt came
    to without it (by the HTTP status alone), for when it repeats one
    received before and so settles nothing again (MedCom 043)."""

    bundle_id: str
    header_id: str
    code: str
    unheeded: DeliveryAnswer


class Transport(abc.ABC):
    """How a message travels to a partner and what its answer means.

    ``deliver`` runs outside any transaction and must not raise for anything
    the network or the partner does: every way it can end is an answer."""

    @abc.abstractmethod
    def deliver(self, *, partner: Partner, message: OutboundMessage) -> DeliveryAnswer:
        """Send ``message`` once and classify the answer."""

    def addressed(self, partner: Partner) -> bool:
        """Whether ``partner`` has what this transport needs to reach it; a
        message to one that has not is parked for a person, never tried."""
        return True


class PartnerAdapter:
    """The declaration of one kind of partner (see the module docstring)."""

    kind: ClassVar[str]
    receives: ClassVar[Mapping[str, Handler]] = MappingProxyType({})
    sends: ClassVar[Mapping[str, Builder]] = MappingProxyType({})
    transport: ClassVar[Transport]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A typo in a declaration fails when the platform starts, not when the
        # first message of that kind arrives.
        if getattr(cls, "kind", None) not in Partner.Kind.values:
            raise TypeError(f"{cls.__name__}.kind must be one of Partner.Kind")
        if not isinstance(getattr(cls, "transport", None), Transport):
            raise TypeError(f"{cls.__name__}.transport must be a Transport")

    @classmethod
    def name(cls) -> str:
        return str(Partner.Kind(cls.kind).label)

    @classmethod
    def handler(cls, event: str) -> Handler | None:
        return cls.receives.get(event)

    @classmethod
    def builder(cls, event: str) -> Builder | None:
        return cls.sends.get(event)
