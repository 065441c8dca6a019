"""Who is told what: receivers of the acute function's domain events, each
choosing the partners to tell and writing their messages to the outbox in the
event's own transaction (no network here; Celery delivers after commit).

One module, a little over 500 lines: it is one routing table, from each
domain event to the partners told of it, and reads best whole, where a
reader can check that no hand-off goes unseen for want of a partner.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from acute import services as acute_services
from acute import signals as acute_signals
from acute.clinical import signals as clinical_signals
from acute.clinical.models import MedicationOrder
from acute.models import DeadlineWarning, Referral
from acute.models import Outcome as EpisodeOutcome
from consent.audit.services import Action, Outcome, Purpose, audit_record
from core.actors import Actor
from integrations.gp.outbound import Amends, VisitResults, observation_id
from integrations.helpline_1813.outbound import ENDED_WITHOUT_SEEING, ReferralStep
from integrations.home_nursing.outbound import ReferrerOutcome
from integrations.hospital.outbound import AdmissionRequest
from integrations.messages import Event
from integrations.models import OutboundMessage, Partner, never_reached
from integrations.outbound import home_nursing_partner, hospital_partner, message_send, partner_for
from integrations.outbox.enqueue import ENQUEUE_TASK

# A hand-off no relevant partner receives: sent to nobody, audited as denied.
NO_RECIPIENT = "no_recipient"

if TYPE_CHECKING:
    from acute.clinical.models import LabResult
    from acute.models import Episode, Visit
    from core.models import Citizen, Organisation


def _unaddressed(
    *,
    event: str,
    citizen_id: int,
    referral: Referral | None,
    kind: str | None,
    resource_type: str,
    resource_id: str,
    detail: dict[str, object],
    by: Actor | None,
) -> None:
    """A hand-off no partner receives goes to nobody (R3), never unseen: the
    coordinator is told on the board to pass it on by phone (one warning per
    referral and ``kind``; none when ``kind`` is None) and the withheld
    disclosure is audited as denied (R9), both in the event's transaction."""
    if referral is not None and kind is not None:
        acute_services.episode_end_warning_raise(referral=referral, kind=kind, detail=detail)
    audit_record(
        actor=Actor.system(ENQUEUE_TASK, on_behalf_of=by),
        action=Action.DISCLOSE,
        purpose=Purpose.TREATMENT,
        citizen_id=citizen_id,
        outcome=Outcome.DENIED,
        resource_type=resource_type,
        resource_id=resource_id,
        reason_code=NO_RECIPIENT,
        detail={"event": event, **detail},
    )


def _referral_status_partner(referral: Referral) -> Partner | None:
    return partner_for(referral.source_organisation, event=Event.REFERRAL_STATUS)


def _referral_status_message(
    *,
    partner: Partner,
    referral: Referral,
    step: str,
    by: Actor | None,
    note: str = "",
    outcome: str = "",
) -> OutboundMessage | None:
    return message_send(
        partner=partner,
        event=Event.REFERRAL_STATUS,
        about=ReferralStep(referral=referral, step=step, note=note, outcome=outcome),
        by=by,
        recipient=referral.source_organisation,
    )


def referral_status_send(
    *, referral: Referral, step: str, by: Actor | None, note: str = ""
) -> OutboundMessage | None:
    """Tell 1813 where its referral stands; nothing if the referral is not
    1813's. When no active partner speaks for 1813, the coordinator is asked
    to tell it (R12). The outcome at the episode's end is ``episode_end_send``'s."""
    if referral.source != Referral.Source.HELPLINE_1813:
        return None
    partner = _referral_status_partner(referral)
    if partner is None:
        _unaddressed(
            event=Event.REFERRAL_STATUS,
            citizen_id=referral.citizen_id,
            referral=referral,
            kind=DeadlineWarning.Kind.STATUS_UNSENT,
            resource_type="ServiceRequest",
            resource_id=str(referral.pk),
            detail={"step": step},
            by=by,
        )
        return None
    return _referral_status_message(partner=partner, referral=referral, step=step, by=by, note=note)


def results_send(
    *,
    visit: Visit,
    citizen: Citizen,
    gp_practice: Organisation | None,
    results: Sequence[LabResult],
    referral: Referral,
    by: Actor | None,
) -> OutboundMessage | None:
    """Results of a visit the GP asked for (on ``referral``), to that practice
    (HomeCareObservation). When no partner speaks for the practice, or there
    is no practice to send to, the coordinator is asked to tell the GP."""
    partner = _results_partner(
        visit=visit, gp_practice=gp_practice, results=results, referral=referral, by=by
    )
    if partner is None:
        return None
    return message_send(
        partner=partner,
        event=Event.HOME_CARE_OBSERVATION,
        about=VisitResults(visit=visit, citizen=citizen, results=results),
        by=by,
        recipient=gp_practice,
    )


def _results_partner(
    *,
    visit: Visit,
    gp_practice: Organisation | None,
    results: Sequence[LabResult],
    referral: Referral,
    by: Actor | None,
) -> Partner | None:
    """The partner that speaks for the GP's practice in results; without one
    (or without a practice) the coordinator is asked to tell the GP."""
    partner = partner_for(gp_practice, event=Event.HOME_CARE_OBSERVATION)
    if partner is None:
        _unaddressed(
            event=Event.HOME_CARE_OBSERVATION,
            citizen_id=visit.citizen_id,
            referral=referral,
            kind=DeadlineWarning.Kind.RESULTS_UNSENT,
            resource_type="Encounter",
            resource_id=f"visit-{visit.pk}",
            detail={
                "episode": visit.episode_id,
                "visit": visit.pk,
                "results": [r.pk for r in results],
            },
            by=by,
        )
    return partner


def _carried(message: OutboundMessage) -> set[str]:
    return {
        entry["resource"]["id"]
        for entry in message.bundle.get("entry", [])
        if entry.get("resource", {}).get("resourceType") == "Observation"
    }


def results_amended_send(
    *,
    visit: Visit,
    citizen: Citizen,
    gp_practice: Organisation | None,
    withdrawn: Sequence[LabResult],
    replacements: Sequence[LabResult],
    referral: Referral,
    by: Actor | None,
) -> list[OutboundMessage]:
    """Results entered in error (and their replacements) to the GP who was
    sent them: for each earlier HomeCareObservation that carried one, the
    same report again as it now stands, MedCom's ``modified-message`` — or
    ``retract-message`` when nothing of it stands and nothing replaces it —
    with a Provenance naming the earlier message. Results never sent (their
    message unaddressed) go as a new message; without a partner the
    coordinator is asked to tell the GP, as for the results themselves."""
    partner = _results_partner(
        visit=visit,
        gp_practice=gp_practice,
        results=[*withdrawn, *replacements],
        referral=referral,
        by=by,
    )
    if partner is None:
        return []
    visit_results = {observation_id(r): r for r in visit.lab_results.select_related("test")}
    withdrawn_ids = {observation_id(r) for r in withdrawn}
    replacing = {r.replaces_id: r for r in replacements if r.replaces_id is not None}
    sent: list[OutboundMessage] = []
    told = False
    # A report the GP never received (parked, withheld, refused): it has no
    # report to modify, so the correction goes as a new message.
    for earlier in (
        OutboundMessage.objects.filter(
            partner=partner,
            event=Event.HOME_CARE_OBSERVATION,
            source_type="acute.visit",
            source_id=str(visit.pk),
        )
        .exclude(never_reached())
        .order_by("created_at", "pk")
    ):
        carried = _carried(earlier)
        if not carried & withdrawn_ids:
            continue
        told = True
        results = [visit_results[i] for i in sorted(carried) if i in visit_results]
        results.sort(key=lambda r: (r.effective_at, r.pk))
        standing = [r for r in results if r.status == r.Status.FINAL]
        added = [replacing[r.pk] for r in results if r.pk in replacing]
        header = earlier.bundle["entry"][0]["resource"]
        message = message_send(
            partner=partner,
            event=Event.HOME_CARE_OBSERVATION,
            about=VisitResults(
                visit=visit,
                citizen=citizen,
                results=[*results, *added],
                amends=Amends(
                    activity="modified-message" if standing or added else "retract-message",
                    header_id=header["id"],
                    occurred=earlier.bundle.get("timestamp", ""),
                ),
            ),
            by=by,
            recipient=gp_practice,
        )
        if message is not None:
            sent.append(message)
    if not told:
        message = message_send(
            partner=partner,
            event=Event.HOME_CARE_OBSERVATION,
            about=VisitResults(visit=visit, citizen=citizen, results=[*withdrawn, *replacements]),
            by=by,
            recipient=gp_practice,
        )
        if message is not None:
            sent.append(message)
    return sent


def episode_end_send(*, episode: Episode, by: Actor | None) -> None:
    """R11: every referrer and the citizen's GP are told the outcome, home
    nursing gets the hand-back: each partner's own CareCommunication. A
    referral the acute function declined was answered by its decline; its
    referrer is not told how the episode it was not part of ended. The
    hand-back goes to the home nursing of the municipality the citizen lives
    in when the episode ends; a home nursing that referred her and is not
    that one (she lives elsewhere, or moved meanwhile) is told the outcome as
    any referrer. A hand-back or a referrer's outcome that no partner is
    configured to receive is raised on the coordinator's board, never dropped
    unseen, and audited as withheld; so is the outcome her GP cannot be sent,
    on the audit log only (R11 asks it of the referrer).

    A referral that lapsed before any nurse reached the citizen leaves home
    nursing nothing to take over: no hand-back is sent (nor raised as unsent),
    and a home nursing that referred her, her own included, is told the
    outcome as any referrer."""
    told: set[int] = set()
    answered: set[int] = set()  # referrers told the outcome, or raised unsent
    municipality = episode.citizen.municipality
    handback_partner = home_nursing_partner(municipality)
    handback_owed = _handback_owed(episode)

    def tell(
        partner: Partner | None, recipient: Organisation | None = None, about: object = episode
    ) -> bool:
        if partner is None:
            return False
        if partner.pk not in told:
            told.add(partner.pk)
            message_send(
                partner=partner,
                event=Event.CARE_COMMUNICATION,
                about=about,
                by=by,
                recipient=recipient,
            )
        return True

    referrals = list(
        episode.referrals.select_related("citizen", "source_organisation").order_by("pk")
    )
    for referral in referrals:
        if referral.status == Referral.Status.DECLINED or referral.withdrawal_known_to_referrer:
            # The decline was this referrer's answer, and the episode was never
            # its referral's: 1813 must not read "completed" after "rejected",
            # nor anyone the outcome of care it did not ask for (R3). A
            # referral withdrawn on the referrer's own call, or entered in
            # error, was answered by its withdrawal.
            continue
        referrer = referral.source_organisation
        if referral.source == Referral.Source.HELPLINE_1813:
            partner = _referral_status_partner(referral)
            reached = (
                partner is not None
                and _referral_status_message(
                    partner=partner,
                    referral=referral,
                    step="completed",
                    by=by,
                    # Why nobody saw her is the reason 1813 reads beside it.
                    note=episode.outcome_note if episode.outcome in ENDED_WITHOUT_SEEING else "",
                    outcome=episode.outcome,
                )
                is not None
            )
        elif referral.source != Referral.Source.HOME_NURSING:
            reached = tell(
                partner_for(referrer, event=Event.CARE_COMMUNICATION),
                referrer,
            )
        elif handback_owed and (referrer is None or _serves(referrer, municipality)):
            continue  # her own municipality's home nursing: the hand-back is their answer
        else:
            partner = (
                handback_partner
                if referrer is None
                else partner_for(referrer, event=Event.CARE_COMMUNICATION)
            )
            if handback_owed and partner is not None and partner == handback_partner:
                continue  # it speaks for her own municipality too: the hand-back
            reached = tell(partner, referrer, about=ReferrerOutcome(episode=episode))
        if referrer is not None:
            answered.add(referrer.pk)  # told, or raised for the board below
        if not reached:
            _unaddressed(
                event=Event.REFERRAL_STATUS
                if referral.source == Referral.Source.HELPLINE_1813
                else Event.CARE_COMMUNICATION,
                citizen_id=episode.citizen_id,
                referral=referral,
                kind=DeadlineWarning.Kind.REFERRER_UNTOLD,
                resource_type="EpisodeOfCare",
                resource_id=str(episode.pk),
                detail={"episode": episode.pk, "source": referral.source},
                by=by,
            )
    practice = episode.citizen.gp_practice
    gp_partner = partner_for(practice, event=Event.CARE_COMMUNICATION, kind=Partner.Kind.GP)
    if not tell(gp_partner, practice) and practice is not None and practice.pk not in answered:
        # Her GP is told where a partner carries it; R11 asks it of the
        # referrer alone, so no phone task is raised for the board, but the
        # outcome withheld from her GP is not dropped unseen (R9).
        _unaddressed(
            event=Event.CARE_COMMUNICATION,
            citizen_id=episode.citizen_id,
            referral=None,
            kind=None,
            resource_type="EpisodeOfCare",
            resource_id=str(episode.pk),
            detail={"episode": episode.pk, "recipient": "gp"},
            by=by,
        )
    if handback_owed and not tell(handback_partner):
        _unaddressed(
            event=Event.CARE_COMMUNICATION,
            citizen_id=episode.citizen_id,
            referral=referrals[0] if referrals else None,
            kind=DeadlineWarning.Kind.HANDBACK_UNSENT,
            resource_type="EpisodeOfCare",
            resource_id=str(episode.pk),
            detail={
                "episode": episode.pk,
                "municipality": municipality.municipality_code,
            },
            by=by,
        )


def _handback_owed(episode: Episode) -> bool:
    """Whether home nursing takes something over: always, unless the referral
    lapsed (*henvisningen bortfaldt*) before any nurse reached the citizen.
    A citizen not found is handed back: home nursing should know nobody met
    her."""
    return (
        episode.outcome != EpisodeOutcome.REFERRAL_LAPSED
        or episode.visits.filter(on_site_at__isnull=False).exists()
    )


def _serves(organisation: Organisation, municipality: Organisation) -> bool:
    """Whether ``organisation`` is home nursing of ``municipality``: one of its
    units, or serving it by agreement (as :func:`home_nursing_partner` finds)."""
    return (
        organisation.pk == municipality.pk
        or organisation.parent_id == municipality.pk
        or organisation.serves.filter(pk=municipality.pk).exists()
    )


def admission_handoff_send(
    *, visit: Visit, by: Actor | None, reason: str
) -> OutboundMessage | None:
    """The admission hand-off, to the hospital serving the citizen. When no
    hospital serves her municipality it goes to nobody (R3): the coordinator
    is told on the board to phone it through, and the withheld disclosure is
    audited."""
    partner = hospital_partner(visit.citizen)
    if partner is None:
        _unaddressed(
            event=Event.ADMISSION_HANDOFF,
            citizen_id=visit.citizen_id,
            referral=_visit_referral(visit),
            kind=DeadlineWarning.Kind.ADMISSION_UNSENT,
            resource_type="Encounter",
            resource_id=f"visit-{visit.pk}",
            detail={
                "episode": visit.episode_id,
                "visit": visit.pk,
                "municipality": visit.citizen.municipality.municipality_code,
            },
            by=by,
        )
        return None
    return message_send(
        partner=partner,
        event=Event.ADMISSION_HANDOFF,
        about=AdmissionRequest(visit=visit, reason=reason),
        by=by,
    )


def _visit_referral(visit: Visit) -> Referral | None:
    """Where the board shows a warning about a visit: its referral, else the
    episode's first."""
    return visit.referral or visit.episode.referrals.order_by("pk").first()


def order_confirmation_request_send(
    *, order: MedicationOrder, by: Actor | None
) -> OutboundMessage | None:
    """Ask the ordering physician's organisation to confirm a phone order (R8).
    When no partner speaks for it, the coordinator is asked to have the
    physician confirm it."""
    if (
        order.kind != MedicationOrder.Kind.PHONE
        or order.status != MedicationOrder.Status.AWAITING_CONFIRMATION
    ):
        return None
    partner = partner_for(order.ordering_organisation, event=Event.ORDER_CONFIRMATION_REQUEST)
    if partner is None:
        _unaddressed(
            event=Event.ORDER_CONFIRMATION_REQUEST,
            citizen_id=order.citizen_id,
            referral=_visit_referral(order.visit) if order.visit is not None else None,
            kind=DeadlineWarning.Kind.ORDER_UNSENT,
            resource_type="MedicationRequest",
            resource_id=str(order.pk),
            detail={"visit": order.visit_id, "order": order.pk},
            by=by,
        )
        return None
    return message_send(
        partner=partner,
        event=Event.ORDER_CONFIRMATION_REQUEST,
        about=order,
        by=by,
        recipient=order.ordering_organisation,
    )


def on_referral_accepted(
    sender: object, *, referral: Referral, by: Actor | None = None, **_: object
) -> None:
    referral_status_send(referral=referral, step="accepted", by=by)


def on_referral_declined(
    sender: object, *, referral: Referral, by: Actor | None = None, reason: str = "", **_: object
) -> None:
    referral_status_send(
        referral=referral, step="declined", by=by, note=reason or referral.decline_reason
    )


def on_referral_withdrawn(
    sender: object, *, referral: Referral, by: Actor | None = None, note: str = "", **_: object
) -> None:
    """1813's Task ends when the coordinator withdraws its referral, whatever
    the reason: cancelled, with why. When the withdrawal ended the episode
    and 1813 is told its outcome (the referral lapsed), that message is the
    one: 1813 reads the end once."""
    episode = referral.episode
    episode.refresh_from_db(fields=["status"])
    if episode.status != episode.Status.OPEN and not referral.withdrawal_known_to_referrer:
        return
    referral_status_send(referral=referral, step="withdrawn", by=by, note=note)


def _visit_step(step: str) -> Callable[..., None]:
    def receiver(sender: object, *, visit: Visit, by: Actor | None = None, **_: object) -> None:
        if visit.referral is not None:
            referral_status_send(referral=visit.referral, step=step, by=by)

    receiver.__name__ = f"on_visit_{step}"
    return receiver


on_visit_accepted = _visit_step("nurse_accepted")
on_nurse_en_route = _visit_step("en_route")
on_nurse_on_site = _visit_step("on_site")


def on_episode_completed(
    sender: object, *, episode: Episode, by: Actor | None = None, **_: object
) -> None:
    episode_end_send(episode=episode, by=by)


def on_admission_requested(
    sender: object, *, visit: Visit, by: Actor | None = None, reason: str = "", **_: object
) -> None:
    admission_handoff_send(visit=visit, by=by, reason=reason)


def _handed_on(send: Callable[..., object]) -> Callable[..., None]:
    """A receiver that hands the signal's keyword arguments to ``send`` as
    they are: the signal documents them, ``send`` names them."""

    def receiver(sender: object, *, signal: object, **kwargs: Any) -> None:
        send(**kwargs)

    receiver.__name__ = f"on_{send.__name__}"
    return receiver


on_results_recorded = _handed_on(results_send)
on_results_amended = _handed_on(results_amended_send)


def on_medication_order_recorded(
    sender: object, *, order: MedicationOrder, by: Actor | None = None, **_: object
) -> None:
    order_confirmation_request_send(order=order, by=by)


def connect() -> None:
    uid = "integrations"
    acute_signals.referral_accepted.connect(on_referral_accepted, dispatch_uid=f"{uid}.ref-acc")
    acute_signals.referral_declined.connect(on_referral_declined, dispatch_uid=f"{uid}.ref-dec")
    acute_signals.referral_withdrawn.connect(
        on_referral_withdrawn, dispatch_uid=f"{uid}.ref-withdrawn"
    )
    acute_signals.visit_accepted.connect(on_visit_accepted, dispatch_uid=f"{uid}.visit-acc")
    acute_signals.nurse_en_route.connect(on_nurse_en_route, dispatch_uid=f"{uid}.en-route")
    acute_signals.nurse_on_site.connect(on_nurse_on_site, dispatch_uid=f"{uid}.on-site")
    acute_signals.episode_completed.connect(on_episode_completed, dispatch_uid=f"{uid}.episode")
    acute_signals.admission_requested.connect(on_admission_requested, dispatch_uid=f"{uid}.admit")
    clinical_signals.results_recorded.connect(on_results_recorded, dispatch_uid=f"{uid}.results")
    clinical_signals.results_amended.connect(on_results_amended, dispatch_uid=f"{uid}.amended")
    clinical_signals.medication_order_recorded.connect(
        on_medication_order_recorded, dispatch_uid=f"{uid}.order"
    )
