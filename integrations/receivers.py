"""Receivers of the acute function's domain events: each writes outbox rows in
the event's own transaction (no network here; Celery delivers after commit)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.actors import Actor
from integrations.gp.outbound import order_confirmation_request_send, outcome_send, results_send
from integrations.helpline_1813.outbound import referral_status_send
from integrations.home_nursing.outbound import handback_send
from integrations.hospital.outbound import admission_handoff_send
from integrations.models import Partner
from integrations.outbound import partner_for


def on_referral_accepted(sender: Any, *, referral: Any, by: Actor | None = None, **_: Any) -> None:
    referral_status_send(referral=referral, step="accepted", by=by)


def on_referral_declined(
    sender: Any, *, referral: Any, by: Actor | None = None, reason: str = "", **_: Any
) -> None:
    referral_status_send(
        referral=referral, step="declined", by=by, note=reason or referral.decline_reason
    )


def _visit_step(step: str) -> Callable[..., None]:
    def receiver(sender: Any, *, visit: Any, by: Actor | None = None, **_: Any) -> None:
        if visit.referral_id is not None:
            referral_status_send(referral=visit.referral, step=step, by=by)

    receiver.__name__ = f"on_visit_{step}"
    return receiver


on_visit_accepted = _visit_step("nurse_accepted")
on_nurse_en_route = _visit_step("en_route")


def on_episode_completed(
    sender: Any, *, episode: Any, outcome: str = "", by: Actor | None = None, **_: Any
) -> None:
    """R11: home nursing gets the hand-back; every referrer and the citizen's GP the outcome."""
    told: set[int] = set()
    for referral in episode.referrals.select_related("citizen", "source_organisation").all():
        if referral.source == "helpline_1813":
            referral_status_send(
                referral=referral, step="completed", by=by, outcome=episode.outcome
            )
            continue
        if referral.source == "home_nursing":
            continue  # the hand-back below is their answer
        partner = partner_for(referral.source_organisation)
        if partner is not None and partner.pk not in told:
            outcome_send(episode=episode, partner=partner, by=by)
            told.add(partner.pk)
    gp = partner_for(episode.citizen.gp_practice, kind=Partner.Kind.GP)
    if gp is not None and gp.pk not in told:
        outcome_send(episode=episode, partner=gp, by=by)
    handback_send(episode=episode, by=by)


def on_admission_requested(
    sender: Any, *, visit: Any, by: Actor | None = None, reason: str = "", **_: Any
) -> None:
    admission_handoff_send(visit=visit, by=by, reason=reason)


def on_results_recorded(
    sender: Any,
    *,
    visit: Any,
    citizen: Any,
    gp_practice: Any,
    results: Any,
    by: Actor | None = None,
    **_: Any,
) -> None:
    results_send(visit=visit, citizen=citizen, gp_practice=gp_practice, results=results, by=by)


def on_medication_order_recorded(
    sender: Any, *, order: Any, by: Actor | None = None, **_: Any
) -> None:
    order_confirmation_request_send(order=order, by=by)


def connect() -> None:
    from acute import signals as acute_signals
    from acute.clinical import signals as clinical_signals

    uid = "integrations"
    acute_signals.referral_accepted.connect(on_referral_accepted, dispatch_uid=f"{uid}.ref-acc")
    acute_signals.referral_declined.connect(on_referral_declined, dispatch_uid=f"{uid}.ref-dec")
    acute_signals.visit_accepted.connect(on_visit_accepted, dispatch_uid=f"{uid}.visit-acc")
    acute_signals.nurse_en_route.connect(on_nurse_en_route, dispatch_uid=f"{uid}.en-route")
    acute_signals.episode_completed.connect(on_episode_completed, dispatch_uid=f"{uid}.episode")
    acute_signals.admission_requested.connect(on_admission_requested, dispatch_uid=f"{uid}.admit")
    clinical_signals.results_recorded.connect(on_results_recorded, dispatch_uid=f"{uid}.results")
    clinical_signals.medication_order_recorded.connect(
        on_medication_order_recorded, dispatch_uid=f"{uid}.order"
    )
