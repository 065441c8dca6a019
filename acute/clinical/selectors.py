"""Reads of the visit's clinical work, each behind the access gate and audited.

Access functions (``visit_access``, ``order_access_for_physician``) are the one
way in for the API, the FHIR endpoints and pages built on this app: they load
the visit or order, pass the consent gate (or the ordering-physician check), and
audit the decision. "Not found" and "not allowed" look the same.

Selectors for other pages:

- ``physician_orders(actor=, status=)`` — a physician's own orders (her page).
- ``physician_alerts_open(actor=)`` — her open alerts (critical results, reminders).
- ``orders_overdue(actor=)`` — phone orders past their confirmation time and
  prescriptions past due: a physician's own, or a coordinator's acute function's.
- ``board_alerts_open(actor=)`` — the coordinator's board: open critical results,
  doses booked against a corrected or cancelled order, and escalations of the
  acute function.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from django.db.models import DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from acute.clinical import dosing
from acute.clinical.audit import clinical_denied
from acute.clinical.models import (
    Delegation,
    LabResult,
    MedicationOrder,
    PhysicianAlert,
    ProcedureRecord,
    TestDefinition,
)
from acute.clinical.services.orders import ORDER_STATUSES
from acute.models import Visit
from acute.selectors import own_visit_under_way, visit_withdrawn_refusal
from consent.audit.services import Action, Purpose
from consent.gate import (
    Decision,
    access_citizen,
    access_citizen_as_author,
    audit_listed,
    author_list_decide,
    visible_record,
)
from core.actors import Actor
from core.errors import NotFoundOrNotAllowed
from core.models import Role

# The gate's category for the acute function's own visit data (as ``acute`` uses);
# the shared record's R2 categories do not cover results taken on a visit.
CATEGORY = "patient"
ZERO = Decimal("0")


@dataclass(frozen=True)
class _Attempt:
    """One attempt to reach a clinical record: who, as which read or write,
    on which resource. Whatever decides it (a check here, or the gate)
    records it under these same names (R9), for treatment."""

    actor: Actor
    action: str
    resource_type: str
    resource_id: str

    def refused(self, citizen_id: int | None, *, reason: str) -> NotFoundOrNotAllowed:
        """Record the attempt as denied (R9) and give the one "not found"
        error to raise."""
        clinical_denied(
            self.actor,
            self.action,
            reason,
            citizen_id,
            resource_type=self.resource_type,
            resource_id=self.resource_id,
        )
        return NotFoundOrNotAllowed()

    def through_gate(self, citizen_id: int, *, own_care: str = "") -> None:
        """The gate decides on the citizen (R1): her care relationship, her
        refusals — which do not stop ``own_care``, her own visit under way
        (:func:`acute.selectors.own_visit_under_way`)."""
        access_citizen(
            actor=self.actor,
            citizen_id=citizen_id,
            action=self.action,
            category=CATEGORY,
            purpose=Purpose.TREATMENT,
            resource_type=self.resource_type,
            resource_id=self.resource_id,
            own_care=own_care,
        )

    def as_author(
        self, citizen_id: int, basis: str, *, action: str | None = None, own_care: str = ""
    ) -> None:
        """Her own record stands for the care relationship; a refusal by the
        citizen that covers her (R4) still decides, unless it is of her own
        visit under way (``own_care``), audited by the gate as ``action``
        (the attempt's own when not said)."""
        access_citizen_as_author(
            actor=self.actor,
            citizen_id=citizen_id,
            action=action or self.action,
            category=CATEGORY,
            purpose=Purpose.TREATMENT,
            basis=basis,
            resource_type=self.resource_type,
            resource_id=self.resource_id,
            own_care=own_care,
        )


def visit_access(*, actor: Actor, visit_id: int, action: str, own_visit: bool) -> Visit:
    """The visit, if the actor may reach its citizen's data through the gate.

    ``own_visit`` (writes): only the visit's own nurse records on it. Her own
    visit under way passes the citizen's refusal: what she records and does
    on it is her own record of care, not a disclosure to her (R4,
    docs/decisions/0029); the shared record is read through its own gate.
    """
    visit = (
        Visit.objects.select_related("citizen", "referral", "shift__acute_function", "episode")
        .filter(pk=visit_id)
        .first()
    )
    attempt = _Attempt(actor, action, "Encounter", f"visit-{visit_id}")
    if visit is None:
        raise attempt.refused(None, reason="unknown_visit")
    if own_visit and (actor.user is None or visit.nurse_id != actor.user.pk):
        raise attempt.refused(visit.citizen_id, reason="not_visit_nurse")
    try:
        attempt.through_gate(visit.citizen_id, own_care=own_visit_under_way(actor, visit))
    except NotFoundOrNotAllowed:
        withdrawn = visit_withdrawn_refusal(actor, visit) if own_visit else None
        if withdrawn is not None:
            raise withdrawn from None
        raise
    return visit


def own_order_visit(*, order: MedicationOrder) -> Visit:
    """The visit of an order :func:`order_access_for_physician` gave its
    ordering physician: the gate has decided on the order's citizen (her
    own order stands for the care relationship), so the visit is not asked
    about again — it may have ended, and her written follow-up of the order
    still belongs on it (R8)."""
    visit = (
        Visit.objects.select_related("citizen", "referral", "episode")
        .filter(pk=order.visit_id)
        .first()
        if order.visit_id is not None
        else None
    )
    if visit is None:
        raise NotFoundOrNotAllowed()
    return visit


def order_access_for_physician(*, actor: Actor, order_id: int, action: str) -> MedicationOrder:
    """An order the actor gave herself: the ordering physician reads it,
    confirms it, marks its prescription sent, cancels or corrects it. Anyone
    else gets "not found", audited as the attempt it was (``action``: the
    read, or the update a step on the order is)."""
    order = MedicationOrder.objects.filter(pk=order_id).first()
    attempt = _Attempt(actor, action, "MedicationRequest", str(order_id))
    if order is None or actor.user is None or order.ordering_physician_id != actor.user.pk:
        raise attempt.refused(
            order.citizen_id if order else None,
            reason="not_ordering_physician" if order else "unknown_order",
        )
    if actor.organisation is None or order.ordering_organisation_id != actor.organisation.pk:
        # She gave it for one organisation; acting for another she is another
        # recipient (R3), to whom the order was never disclosed.
        raise attempt.refused(order.citizen_id, reason="not_ordering_organisation")
    # Her own order still names the citizen: a refusal by the citizen that
    # covers her (R4) decides, audited by the gate as a read.
    attempt.as_author(order.citizen_id, "ordering_physician", action=Action.READ)
    return order


def order_access_for_acute_function(*, actor: Actor, order_id: int, action: str) -> MedicationOrder:
    """An order received by the coordinator's acute function (a nurse of it
    took it down): she follows it up when its physician cannot — records a
    confirmation or prescription received by another route, or a withdrawal
    the physician phoned in (R8). Anyone else
    gets "not found", audited as the attempt it was. The order is the acute
    function's own record, which stands for the care relationship; a refusal
    by the citizen that covers the coordinator (R4) still decides."""
    order = MedicationOrder.objects.filter(pk=order_id).first()
    attempt = _Attempt(actor, action, "MedicationRequest", str(order_id))
    if (
        order is None
        or actor.role != Role.COORDINATOR
        or actor.organisation is None
        or order.recorded_by_organisation_id != actor.organisation.pk
    ):
        raise attempt.refused(
            order.citizen_id if order else None,
            reason="not_acute_function_order" if order else "unknown_order",
        )
    attempt.as_author(order.citizen_id, "acute_function_oversight", action=Action.READ)
    return order


def result_access(*, actor: Actor, result_id: int, action: str) -> LabResult:
    """A result a nurse may correct or withdraw: one she recorded herself
    (having recorded it stands for the care relationship; the citizen's
    refusal covering her still decides, R4), or one recorded by her own
    acute function while she has the care relationship (R1, the gate).
    Anyone else gets "not found", audited as the attempt it was."""
    result = (
        LabResult.objects.select_related(
            "visit__shift__acute_function", "citizen", "test", "recorded_by"
        )
        .filter(pk=result_id)
        .first()
    )
    attempt = _Attempt(actor, action, "Observation", str(result_id))
    if result is None or actor.user is None or actor.organisation is None:
        raise attempt.refused(
            result.citizen_id if result else None,
            reason="unknown_result" if result is None else "not_result_author",
        )
    if result.recorded_by_id == actor.user.pk and (
        result.recorded_by_organisation_id == actor.organisation.pk
    ):
        # On her own visit under way it is part of documenting it.
        own_care = own_visit_under_way(actor, result.visit)
        attempt.as_author(result.citizen_id, "result_author", own_care=own_care)
        return result
    if result.visit.shift.acute_function_id != actor.organisation.pk:
        raise attempt.refused(result.citizen_id, reason="not_result_author")
    attempt.through_gate(result.citizen_id)
    return result


def catalogue() -> QuerySet[TestDefinition]:
    """The active catalogue (no citizen data)."""
    return TestDefinition.objects.filter(is_active=True).select_related("derived_from")


def visit_results(*, visit: Visit) -> list[LabResult]:
    """Results of a visit already let through :func:`visit_access`."""
    return list(
        LabResult.objects.filter(visit=visit)
        .select_related("test", "derived_from", "recorded_by", "recorded_by_organisation")
        .order_by("effective_at", "pk")
    )


def visit_procedures(*, visit: Visit) -> list[ProcedureRecord]:
    return list(
        ProcedureRecord.objects.filter(visit=visit)
        .select_related("test", "recorded_by", "recorded_by_organisation")
        .order_by("performed_at", "pk")
    )


def visit_delegations(*, visit: Visit) -> list[Delegation]:
    return list(
        Delegation.objects.filter(visit=visit).select_related("test", "recorded_by").order_by("pk")
    )


def visit_orders(*, visit: Visit) -> list[MedicationOrder]:
    return list(_orders().filter(visit=visit).order_by("ordered_at", "pk"))


def _orders() -> QuerySet[MedicationOrder]:
    # What lists show: the citizen's name, who received the order, the order
    # correcting it and what has been given against it (for what remains), in
    # the list's one query.
    return given_against(
        MedicationOrder.objects.select_related("citizen", "recorded_by", "correction"),
        now=timezone.now(),
    )


def _given_sums(path: str, *, now: dt.datetime) -> dict[str, Coalesce]:
    """What the cabinet's administrations against an order come to, in the
    order's unit: in all, and in the 24 hours before ``now``."""
    return {
        "given_total": Coalesce(
            Sum(f"{path}order_amount"), Value(ZERO), output_field=DecimalField()
        ),
        "given_last_day": Coalesce(
            Sum(
                f"{path}order_amount",
                filter=Q(**{f"{path}administered_at__gt": now - dosing.DAY}),
            ),
            Value(ZERO),
            output_field=DecimalField(),
        ),
    }


def given_against(qs: QuerySet[MedicationOrder], *, now: dt.datetime) -> QuerySet[MedicationOrder]:
    """Orders with ``given_total`` and ``given_last_day`` from the ledger of doses."""
    return qs.annotate(**_given_sums("administrations__", now=now))


def order_allowance(order: MedicationOrder, *, at: dt.datetime | None = None) -> dosing.Allowance:
    """What the order allows (R8) for a dose given ``at`` (now when not said),
    from the doses given against it.

    The order is judged at the moment the dose was given, not when it is
    booked: whether its days were over then, and the 24 hours around it
    (:func:`acute.clinical.dosing.busiest_day`) — a dose her tablet queued
    offline and sent later counts against the doses booked meanwhile.

    An order read through :func:`given_against` carries its sums for now; any
    other, or a dose at another moment, is summed here. The cabinet calls
    this with the order's row locked, so two doses against one order are
    counted one after the other.
    """
    given = getattr(order, "given_total", None)
    given_last_day = getattr(order, "given_last_day", None)
    if at is not None or given is None or given_last_day is None or order.corrects_id:
        at = at or timezone.now()
        doses = list(order.administrations.values_list("administered_at", "order_amount"))
        doses += _doses_against_corrected(order)
        given = sum((amount for _when, amount in doses), ZERO)
        given_last_day = dosing.busiest_day(doses, at=at)
    return dosing.allowance(
        dose=order.dose,
        unit=order.dose_unit,
        total=order.total_quantity,
        doses_per_day=order.doses_per_day,
        duration_days=order.duration_days,
        ordered_at=order.ordered_at,
        given=given,
        given_last_day=given_last_day,
        at=at or timezone.now(),
    )


def _doses_against_corrected(order: MedicationOrder) -> list[tuple[dt.datetime, Decimal]]:
    """The doses given against the phone order this written order corrects,
    in this order's unit (R8): the correction takes its place, so a dose
    given against it — sent from the tablet's offline queue after the
    correction — is not given again. A dose of another medicine is not
    counted; one whose amount does not convert to this order's unit uses up
    all of it, so the physician decides what more may be given."""
    if order.corrects_id is None:
        return []
    counted: list[tuple[dt.datetime, Decimal]] = []
    corrected = MedicationOrder.objects.get(pk=order.corrects_id)
    for given in corrected.administrations.select_related("medicine"):
        if given.medicine.atc_code != order.medicine_atc:
            continue
        amount = dosing.convert(given.order_amount, given.order_unit, order.dose_unit)
        if amount is None:
            amount = dosing.amount_in_unit(
                quantity=given.quantity,
                stock_unit=given.unit,
                amount_per_unit=given.medicine.amount_per_unit,
                amount_unit=given.medicine.amount_unit,
                unit=order.dose_unit,
            )
        counted.append((given.administered_at, order.total_quantity if amount is None else amount))
    return counted


def _audit_listed(
    actor: Actor,
    citizen_ids: list[int],
    resource_type: str,
    reason: str,
    overrides: Mapping[int, Decision] | None = None,
) -> None:
    """What a list showed, one entry per citizen (R9), for treatment; one
    only her open break-the-glass showed (``overrides``) as that emergency
    access."""
    audit_listed(
        actor=actor,
        action=Action.SEARCH,
        purpose=Purpose.TREATMENT,
        citizen_ids=citizen_ids,
        overrides=overrides or {},
        category=CATEGORY,
        resource_type=resource_type,
        reason_code=reason,
    )


_Authored = TypeVar("_Authored", MedicationOrder, PhysicianAlert)


def _shown_to_author(
    actor: Actor, items: list[_Authored], resource_type: str, basis: str
) -> list[_Authored]:
    """Her own orders or alerts, less those of citizens whose refusal covers
    her (R4), recorded one entry per citizen (R9): as ``basis``, or, where
    only her open break-the-glass shows the citizen, as that emergency
    access."""
    refused, overrides = author_list_decide(
        actor=actor, citizen_ids={i.citizen_id for i in items}, purpose=Purpose.TREATMENT
    )
    shown = [i for i in items if i.citizen_id not in refused]
    _audit_listed(actor, [i.citizen_id for i in shown], resource_type, basis, overrides)
    return shown


def physician_orders(
    *, actor: Actor, status: str | None = None, limit: int = 200
) -> list[MedicationOrder]:
    """The physician's own orders, newest first (her page)."""
    if actor.user is None or actor.role != Role.PHYSICIAN:
        return []
    qs = _orders().filter(ordering_physician=actor.user, ordering_organisation=actor.organisation)
    if status:
        qs = qs.filter(status=status)
    orders = list(qs.order_by("-ordered_at", "-pk")[:limit])
    return _shown_to_author(actor, orders, "MedicationRequest", "ordering_physician")


def orders_overdue(*, actor: Actor, limit: int = 200) -> list[MedicationOrder]:
    """Phone orders past their confirmation time and prescriptions past due.

    A physician sees her own; a coordinator those received by her acute function.
    """
    now = timezone.now()
    overdue = Q(status=MedicationOrder.Status.AWAITING_CONFIRMATION, confirm_by__lte=now) | (
        MedicationOrder.prescription_owed() & Q(prescription_due_by__lte=now)
    )
    qs = _orders().filter(overdue)
    if actor.role == Role.PHYSICIAN and actor.user is not None:
        qs = qs.filter(ordering_physician=actor.user, ordering_organisation=actor.organisation)
        reason = "ordering_physician"
    elif actor.role == Role.COORDINATOR and actor.organisation is not None:
        qs = qs.filter(recorded_by_organisation=actor.organisation)
        reason = "acute_function_oversight"
    else:
        return []
    orders = list(qs.order_by("ordered_at", "pk")[:limit])
    if reason == "ordering_physician":
        return _shown_to_author(actor, orders, "MedicationRequest", reason)
    _audit_listed(actor, [o.citizen_id for o in orders], "MedicationRequest", reason)
    return orders


def _alerts() -> QuerySet[PhysicianAlert]:
    # The citizen's name and the visit's referral: what the pages show beside each alert.
    return PhysicianAlert.objects.filter(acknowledged_at__isnull=True).select_related(
        "lab_result__test",
        "medication_order",
        "recipient",
        "recipient_organisation",
        "citizen",
        "visit",
    )


def physician_alerts_open(*, actor: Actor, limit: int = 200) -> list[PhysicianAlert]:
    """Open alerts for the physician: addressed to her, or to her organisation
    without a named physician — less those of citizens whose refusal covers
    her (R4), as her orders."""
    if actor.user is None or actor.role != Role.PHYSICIAN or actor.organisation is None:
        return []
    alerts = list(
        _alerts()
        .filter(
            Q(recipient=actor.user)
            | Q(recipient__isnull=True, recipient_organisation=actor.organisation)
        )
        .order_by("-raised_at", "-pk")[:limit]
    )
    return _shown_to_author(actor, alerts, "Flag", "alert_recipient")


def board_alerts_open(*, actor: Actor, limit: int = 200) -> list[PhysicianAlert]:
    """For the coordinator's board: open critical results of the acute function's
    visits and doses booked against an order since corrected or cancelled
    (R8), and escalations addressed to it. Each citizen named is recorded
    once (R9). One whose refusal covers the coordinator (R4) and whom no
    break-the-glass of hers opens stays on the list — a critical result
    must reach someone — marked ``citizen_refused``: shown without whom or
    what, as the board does a partner's message (decision 0031), and not
    recorded as read."""
    if actor.role != Role.COORDINATOR or actor.organisation is None:
        return []
    alerts = list(
        _alerts()
        .filter(
            Q(
                kind__in=[
                    PhysicianAlert.Kind.CRITICAL_RESULT,
                    PhysicianAlert.Kind.DOSE_AFTER_CORRECTION,
                    PhysicianAlert.Kind.DOSE_AFTER_CANCELLATION,
                ],
                visit__shift__acute_function=actor.organisation,
            )
            | Q(recipient_organisation=actor.organisation)
        )
        .order_by("-raised_at", "-pk")[:limit]
    )
    refused, overrides = author_list_decide(
        actor=actor, citizen_ids={a.citizen_id for a in alerts}, purpose=Purpose.TREATMENT
    )
    for alert in alerts:
        alert.citizen_refused = alert.citizen_id in refused
    _audit_listed(
        actor,
        [a.citizen_id for a in alerts if not a.citizen_refused],
        "Flag",
        "acute_function_oversight",
        overrides,
    )
    return alerts


def alert_access(*, actor: Actor, alert_id: int) -> PhysicianAlert:
    """An alert the actor may acknowledge: hers, her organisation's, or (a
    coordinator) her acute function's. Anyone else gets "not found", audited
    as the refused acknowledgement (an update) it was."""
    alert = PhysicianAlert.objects.select_related("visit__shift").filter(pk=alert_id).first()
    allowed = False
    if alert is not None and actor.user is not None and actor.organisation is not None:
        if actor.role == Role.PHYSICIAN:
            allowed = alert.recipient_id == actor.user.pk or (
                alert.recipient_id is None
                and alert.recipient_organisation_id == actor.organisation.pk
            )
        elif actor.role == Role.COORDINATOR:
            allowed = alert.recipient_organisation_id == actor.organisation.pk or (
                alert.visit is not None
                and alert.visit.shift.acute_function_id == actor.organisation.pk
            )
    attempt = _Attempt(actor, Action.UPDATE, "Flag", str(alert_id))
    if alert is None or not allowed:
        raise attempt.refused(
            alert.citizen_id if alert else None,
            reason="not_alert_recipient" if alert else "unknown_alert",
        )
    if actor.role == Role.PHYSICIAN:
        # Addressed to her, the alert still names the citizen: a refusal by
        # the citizen that covers her (R4) decides, as for her own orders.
        attempt.as_author(alert.citizen_id, "alert_recipient", action=Action.READ)
    else:
        # The coordinator marks it seen whatever the citizen refused (it
        # reads nothing of her); what she is answered says nothing of her
        # either, as on her board (R4).
        refused, _ = author_list_decide(
            actor=actor, citizen_ids={alert.citizen_id}, purpose=Purpose.TREATMENT
        )
        alert.citizen_refused = alert.citizen_id in refused
    return alert


def physician_visits(*, actor: Actor, limit: int = 100) -> list[Visit]:
    """The open visits a physician may give a written order on: those whose
    citizen the gate lets her see (her practice's patients, a recorded care
    relationship, an open break-the-glass), newest first. Listed, each
    citizen is recorded once (R9); one only the override shows, as an
    emergency access."""
    if actor.user is None or actor.role != Role.PHYSICIAN:
        return []
    found = visible_record(actor=actor, category=CATEGORY, purpose=Purpose.TREATMENT)
    visits = list(
        Visit.objects.filter(status__in=ORDER_STATUSES, citizen__in=found.citizens)
        .exclude(citizen_id__in=found.refused)
        .select_related("citizen", "nurse", "referral")
        .order_by("-pk")[:limit]
    )
    _audit_listed(
        actor, [v.citizen_id for v in visits], "Encounter", "care_relationship", found.overrides
    )
    return visits
