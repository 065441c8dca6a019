"""Forms re-sent from the tablet: a form the nurse sent while the connection was
poor is written once, however often it arrives."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import IntegrityError, models, transaction

from acute.models import Visit, VisitSubmission
from acute.services._common import creation_refused_audit
from core.actors import Actor
from core.errors import Conflict, Forbidden, InvalidInput, PlatformError

CLIENT_REF_SHAPE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
SUBMISSION_REF_REUSED = "submission.client_ref_reused"


def submission_fingerprint(fields: Iterable[tuple[str, str]]) -> str:
    """A digest of one entry's fields, in any order. The caller leaves out
    what may differ between two sends of the same entry (the form token, the
    reference itself, a secret kept only in memory, the tablet's own time)."""
    digest = hashlib.sha256()
    for name, value in sorted(fields):
        digest.update(name.encode() + b"\0" + value.encode() + b"\0")
    return digest.hexdigest()


def _reused(*, visit: Visit, actor: Actor, form: str) -> Conflict:
    """The reference came before with another entry: refused, and a denied
    attempt on the citizen's record (R9), so nothing she sent is lost unseen."""
    creation_refused_audit(
        actor=actor,
        citizen_id=visit.citizen_id,
        resource_type="Encounter",
        reason_code=SUBMISSION_REF_REUSED,
        detail={"visit": visit.pk, "form": form},
    )
    return Conflict(
        SUBMISSION_REF_REUSED,
        "This reference came before with another entry; nothing was saved."
        " Send the entry again as a new one.",
        field="client_ref",
    )


@dataclass(frozen=True)
class SubmissionResult:
    """What a form sent from the tablet led to; ``replayed`` when the same
    ``client_ref`` had already been received and nothing new was written."""

    submission: VisitSubmission | None
    replayed: bool


def visit_submission_once(
    *,
    visit: Visit,
    actor: Actor,
    client_ref: str,
    form: str,
    write: Callable[[], object],
    fingerprint: str = "",
) -> SubmissionResult:
    """Run ``write`` (a documentation service) once per ``client_ref`` from this
    user on this visit.

    The reference is claimed in the same transaction as the write, so a second
    send racing the first waits on the database's unique index and then gets
    the first result. A refusal from ``write`` releases the claim (she may
    correct the form and send it again) but keeps the refusal's own audit entry.
    Without a reference (an ordinary online submit) ``write`` simply runs.
    A reference received before with another ``fingerprint`` (another form,
    other fields) is refused, ``409 submission.client_ref_reused``: answered
    "already received", the second entry would be lost without a word.
    """
    if actor.user is None:
        raise Forbidden("actor.required", "Only a member of staff can do this.")
    ref = client_ref.strip()
    if not ref:
        write()
        return SubmissionResult(submission=None, replayed=False)
    if not CLIENT_REF_SHAPE.match(ref):
        raise InvalidInput(
            "submission.client_ref_invalid",
            "The form's reference must be 8-64 letters, digits, '-' or '_'.",
            field="client_ref",
        )
    if form not in VisitSubmission.Form.values:
        raise InvalidInput("submission.form_unknown", "Unknown form.", field="form")
    mine = VisitSubmission.objects.filter(visit=visit, user=actor.user, client_ref=ref)
    earlier = mine.first()
    if earlier is not None:
        return _replayed(earlier, visit=visit, actor=actor, form=form, fingerprint=fingerprint)
    failure: PlatformError | None = None
    with transaction.atomic():
        try:
            with transaction.atomic():
                submission = VisitSubmission.objects.create(
                    visit=visit, user=actor.user, client_ref=ref, form=form, fingerprint=fingerprint
                )
        except IntegrityError:
            # A send with the same reference committed while this one waited.
            earlier = mine.get()
        else:
            try:
                result = write()
            except PlatformError as exc:
                submission.delete()
                failure = exc
            else:
                first = result[0] if isinstance(result, list) and result else result
                if isinstance(first, models.Model):
                    submission.result_type = type(first).__name__
                    submission.result_id = str(first.pk)
                submission.save(update_fields=["result_type", "result_id"])
    if earlier is not None:
        return _replayed(earlier, visit=visit, actor=actor, form=form, fingerprint=fingerprint)
    if failure is not None:
        raise failure
    return SubmissionResult(submission=submission, replayed=False)


def _replayed(
    earlier: VisitSubmission, *, visit: Visit, actor: Actor, form: str, fingerprint: str
) -> SubmissionResult:
    """A send whose reference was received before: the same entry again, or
    another entry under a reference already used (refused)."""
    if earlier.form != form or not earlier.same_entry(fingerprint):
        raise _reused(visit=visit, actor=actor, form=form)
    return SubmissionResult(submission=earlier, replayed=True)
