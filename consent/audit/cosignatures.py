"""What witnesses send the platform: cosignatures of its checkpoints, and
signed refusals of checkpoints that are not append-only extensions of what
they saw (``consent.audit.witness`` is the witness's side). Each is accepted
only when it verifies against a witness key the platform is configured with
(``AUDIT_WITNESS_KEYS``): the signature is the witness's authentication.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models.functions import Least
from django.utils import timezone

from consent.audit.errors import alarm_not_found
from consent.audit.log import checkpoint_latest
from consent.audit.models import Action, AuditEntry, LogCheckpoint, LogCosignature, Purpose
from consent.audit.notes import (
    COSIGNATURE_V1,
    NoteError,
    NoteVerifier,
    checkpoint_parse,
    cosignature_time,
    note_split,
    signature_valid,
)
from consent.audit.services import audit_record
from consent.audit.witness import refusal_message
from core.actors import Actor
from core.errors import Forbidden, InvalidInput, NotFoundOrNotAllowed

# What the audit log calls a witness's refusal when an auditor acknowledges it.
WITNESS_ALARM = "WitnessAlarm"


def _witness(name: str) -> NoteVerifier:
    for vkey in settings.AUDIT_WITNESS_KEYS:
        try:
            verifier = NoteVerifier.from_vkey(vkey)
        except NoteError as exc:
            raise ImproperlyConfigured(f"AUDIT_WITNESS_KEYS: {exc}") from None
        if verifier.name == name and verifier.algorithm == COSIGNATURE_V1:
            return verifier
    raise Forbidden("audit.witness_unknown", "This witness is not one the platform accepts.")


def _checkpoint_of(body: str) -> LogCheckpoint | None:
    parsed = checkpoint_parse(body)
    for checkpoint in LogCheckpoint.objects.filter(log=parsed.origin, size=parsed.size).order_by(
        "-id"
    ):
        if bytes(checkpoint.root) == parsed.root and note_split(checkpoint.note)[0] == body:
            return checkpoint
    return None


def cosignature_accept(*, witness: str, body: str, line: str) -> LogCosignature:
    """A witness's cosignature of one of the log's checkpoints, kept once it
    verifies against the witness's configured key."""
    verifier = _witness(witness)
    try:
        checkpoint = _checkpoint_of(body)
        _, [signature] = note_split(body + "\n" + line)
    except (NoteError, ValueError):
        raise InvalidInput(
            "audit.cosignature_invalid", "Not a checkpoint with one cosignature line."
        ) from None
    if checkpoint is None:
        raise NotFoundOrNotAllowed("audit.checkpoint_unknown", "The log signed no such checkpoint.")
    if not signature_valid(body, signature, verifier):
        raise InvalidInput(
            "audit.cosignature_invalid", "The cosignature does not verify with the witness's key."
        )
    at = dt.datetime.fromtimestamp(cosignature_time(signature), tz=dt.UTC)
    return LogCosignature.objects.create(
        checkpoint=checkpoint, witness=witness, signature_line=signature.text(), cosigned_at=at
    )


def refusal_accept(*, witness: str, body: str, problem: str, signature: str) -> LogCosignature:
    """A witness's signed refusal of a checkpoint: the alarm auditors see."""
    verifier = _witness(witness)
    try:
        parsed = checkpoint_parse(body)
        verifier.public.verify(
            base64.b64decode(signature, validate=True), refusal_message(body, problem)
        )
    except (NoteError, ValueError, InvalidSignature):
        raise InvalidInput(
            "audit.refusal_invalid", "The refusal does not verify with the witness's key."
        ) from None
    checkpoint = _checkpoint_of(body) or checkpoint_latest(parsed.origin)
    if checkpoint is None:
        raise NotFoundOrNotAllowed("audit.log_unknown", "No audit log with this name.")
    return LogCosignature.objects.create(
        checkpoint=checkpoint,
        witness=witness,
        cosigned_at=timezone.now(),
        refused=True,
        problem=problem[:300],
    )


@dataclass(frozen=True)
class WitnessStatus:
    """What the auditors' console shows: when a witness last cosigned, and
    the refusals witnesses have raised."""

    last_witnessed: dt.datetime | None
    stale: bool
    refusals: list[LogCosignature]
    # Cosigned less than a minute ago: said so, not "0 minutes ago".
    just_now: bool = False
    # Each refusal's acknowledgement (its entry in the audit log), by refusal id.
    acknowledged: dict[int, AuditEntry] | None = None

    @property
    def alarms(self) -> list[tuple[LogCosignature, AuditEntry | None]]:
        """Each refusal with its acknowledgement, if an auditor has given one."""
        return [(r, (self.acknowledged or {}).get(r.pk)) for r in self.refusals]


def witness_status(now: dt.datetime | None = None) -> WitnessStatus:
    now = now or timezone.now()
    # A cosignature counts from the witness's own time, so one replayed later
    # is as old as it was; never from later than the platform received it, so
    # a witness whose clock runs ahead does not keep the console quiet for as
    # long after it stopped.
    last = (
        LogCosignature.objects.filter(refused=False)
        .annotate(witnessed_at=Least("cosigned_at", "received_at"))
        .order_by("-witnessed_at")
        .values_list("witnessed_at", flat=True)
        .first()
    )
    limit = dt.timedelta(minutes=settings.AUDIT_WITNESS_STALE_MINUTES)
    refusals = list(LogCosignature.objects.filter(refused=True).order_by("-cosigned_at")[:5])
    return WitnessStatus(
        last,
        last is None or now - last > limit,
        refusals,
        just_now=last is not None and now - last < dt.timedelta(minutes=1),
        acknowledged=_acknowledgements(refusals),
    )


def _acknowledgements(refusals: list[LogCosignature]) -> dict[int, AuditEntry]:
    entries = AuditEntry.objects.filter(
        resource_type=WITNESS_ALARM,
        action=Action.UPDATE,
        resource_id__in=[str(r.pk) for r in refusals],
    ).order_by("id")
    acknowledged: dict[int, AuditEntry] = {}
    for entry in entries:
        acknowledged.setdefault(int(entry.resource_id), entry)
    return acknowledged


def witness_alarm_acknowledge(*, refusal_id: int, actor: Actor) -> AuditEntry:
    """An auditor acknowledges a witness's refusal of a checkpoint. The
    acknowledgement is an entry of the audit log itself (who, when), and the
    alarm stays on the console beside it: it is never dismissed silently."""
    if not LogCosignature.objects.filter(pk=refusal_id, refused=True).exists():
        raise alarm_not_found()
    return audit_record(
        actor=actor,
        action=Action.UPDATE,
        purpose=Purpose.AUDIT,
        citizen_id=None,
        resource_type=WITNESS_ALARM,
        resource_id=str(refusal_id),
    )
