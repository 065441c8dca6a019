"""Forms re-sent from the tablet: a form the nurse sent while the connection was
poor is written once, however often it arrives."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, models, transaction

from acute.models import Visit, VisitSubmission
from core.actors import Actor
from core.errors import Forbidden, InvalidInput, PlatformError

CLIENT_REF_SHAPE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


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
) -> SubmissionResult:
    """Run ``write`` (a documentation service) once per ``client_ref`` from this
    user on this visit.

    The reference is claimed in the same transaction as the write, so a second
    send racing the first waits on the database's unique index and then gets
    the first result. A refusal from ``write`` releases the claim (she may
    correct the form and send it again) but keeps the refusal's own audit entry.
    Without a reference (an ordinary online submit) ``write`` simply runs.
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
        return SubmissionResult(submission=earlier, replayed=True)
    failure: PlatformError | None = None
    with transaction.atomic():
        try:
            with transaction.atomic():
                submission = VisitSubmission.objects.create(
                    visit=visit, user=actor.user, client_ref=ref, form=form
                )
        except IntegrityError:
            # A send with the same reference committed while this one waited.
            return SubmissionResult(submission=mine.get(), replayed=True)
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
    if failure is not None:
        raise failure
    return SubmissionResult(submission=submission, replayed=False)
