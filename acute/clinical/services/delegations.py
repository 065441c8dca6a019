"""A physician's delegation to the acute nurse (*delegation*, R7)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy

from acute.clinical.audit import clinical_audit
from acute.clinical.models import (
    Delegation,
    TestDefinition,
)
from acute.clinical.services.common import (
    not_after_death,
    not_before_referral,
    not_in_future,
    refuse,
    require_user,
    require_visit_status,
    stated_physician_or_refuse,
    visit_held,
)
from acute.clinical.services.orders import ORDER_STATUSES
from acute.models import Visit
from consent.audit.services import Action
from core.actors import Actor
from core.errors import (
    Duplicate,
    Forbidden,
    InvalidInput,
    PlatformError,
)
from core.messages import label
from core.validation import full_clean_or_raise, text_trimmed


def _delegable(test_code: str) -> TestDefinition:
    """The catalogue's test or procedure a physician may delegate (R7): not a
    predefined one, which needs none, nor a computed result."""
    test = TestDefinition.objects.filter(code=test_code, is_active=True).first()
    if test is None:
        raise InvalidInput(
            "catalogue.unknown", "No test or procedure with this code.", field="code"
        )
    if test.predefined:
        raise InvalidInput(
            "delegation.not_required",
            f"{test.display} is a predefined task (R7) and needs no delegation.",
            field="code",
            params={"test": label(test.display)},
            rule="R7",
        )
    if test.derivation:
        raise InvalidInput(
            "delegation.derived_test", "A computed result cannot be delegated.", field="code"
        )
    return test


def delegation_record(
    *,
    actor: Actor,
    visit: Visit,
    test_code: str,
    physician_name: str,
    physician_authorisation_id: str,
    physician_organisation_name: str,
    delegated_at: dt.datetime | None = None,
    note: str = "",
) -> Delegation:
    """Record on the visit that a physician delegated one task for this citizen
    (R7): given in this acute episode (at the earliest in the call that
    referred her), and not after her death. Not stated: when it is recorded."""
    user = require_user(actor)
    delegated_at = delegated_at or timezone.now()
    try:
        require_visit_status(visit, ORDER_STATUSES, gettext_lazy("A delegation"))
        not_in_future(delegated_at, field="delegated_at")
        not_before_referral(delegated_at, visit, field="delegated_at")
    except PlatformError as error:
        # A refused write on her record (R9), as one after her death is.
        raise refuse(
            error, actor=actor, citizen_id=visit.citizen_id, resource_type="Delegation"
        ) from None
    not_after_death(
        delegated_at, visit, actor=actor, field="delegated_at", resource_type="Delegation"
    )
    try:
        test = _delegable(test_code)
    except PlatformError as error:
        raise refuse(
            error, actor=actor, citizen_id=visit.citizen_id, resource_type="Delegation"
        ) from None
    physician = stated_physician_or_refuse(
        actor=actor,
        visit=visit,
        authorisation_id=physician_authorisation_id.strip(),
        refusal=Forbidden(
            "delegation.not_physician",
            "A delegation is given by a physician (R7): the authorisation ID given is "
            "your own or that of a member of staff who is not a physician.",
            field="physician_authorisation_id",
            rule="R7",
        ),
        resource_type="Delegation",
    )
    delegation = Delegation(
        visit=visit,
        citizen_id=visit.citizen_id,
        test=test,
        # A physician the platform holds by the authorisation id is named as
        # registered, whatever was typed, as on a phone order (R8): the task
        # is done under the delegation of the one the id names.
        physician_name=(physician.user.display_name if physician else text_trimmed(physician_name)),
        physician_authorisation_id=physician_authorisation_id.strip(),
        physician_organisation_name=(
            physician.organisation.name if physician else text_trimmed(physician_organisation_name)
        ),
        physician=physician.user if physician else None,
        delegated_at=delegated_at,
        note=text_trimmed(note),
        recorded_by=user,
    )
    full_clean_or_raise(delegation, code="delegation.invalid", exclude=["visit"])
    with visit_held(
        visit=visit,
        allowed=ORDER_STATUSES,
        what=gettext_lazy("A delegation"),
        actor=actor,
        resource_type="Delegation",
    ):
        already = Delegation.objects.select_for_update().filter(visit=visit, test=test).exists()
        if not already:
            delegation.save(force_insert=True)
            clinical_audit(actor, Action.CREATE, delegation, {"task": test.code})
    if already:
        # Refused once the lock is let go, so that the denied attempt stays (R9).
        raise refuse(
            Duplicate(
                "delegation.exists", "This task is already delegated on this visit.", field="code"
            ),
            actor=actor,
            citizen_id=visit.citizen_id,
            resource_type="Delegation",
        )
    return delegation


# --- Results ---------------------------------------------------------------
