"""Races on PostgreSQL with real concurrent transactions: exactly one wins."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from acute import services
from acute.models import Visit
from core.actors import Actor
from core.errors import Conflict
from core.models import Role
from tests import factories as f

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(*calls):
    """Run the calls at the same moment, each in its own thread and connection."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - the race's loser is the result under test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_coordinators_assigning_one_referral_at_once():
    first = f.staff(Role.COORDINATOR, f.acute_function())
    second = f.staff(Role.COORDINATOR, f.acute_function())
    _n1, shift1 = f.acute_nurse_on_shift()
    _n2, shift2 = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=first)
    for _attempt in range(3):
        results = race(
            lambda: services.visit_assign(
                referral=referral, shift=shift1, actor=Actor.for_membership(first)
            ),
            lambda: services.visit_assign(
                referral=referral, shift=shift2, actor=Actor.for_membership(second)
            ),
        )
        wins = [r for r in results if isinstance(r, Visit)]
        losses = [r for r in results if isinstance(r, Conflict)]
        assert len(wins) == 1 and len(losses) == 1, results
        assert losses[0].code == "referral.already_assigned"
        assert Visit.objects.filter(referral=referral, status="assigned").count() == 1
        services.visit_withdraw(visit=wins[0], actor=Actor.for_membership(first))


def test_one_nurse_assigned_twice_at_once_beyond_her_load():
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    other = f.staff(Role.COORDINATOR, f.acute_function())
    _nurse, shift = f.acute_nurse_on_shift(max_load=1)
    a = f.acute_referral(by=coordinator)
    b = f.acute_referral(by=coordinator)
    results = race(
        lambda: services.visit_assign(
            referral=a, shift=shift, actor=Actor.for_membership(coordinator)
        ),
        lambda: services.visit_assign(referral=b, shift=shift, actor=Actor.for_membership(other)),
    )
    wins = [r for r in results if isinstance(r, Visit)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert losses[0].code == "dispatch.load_limit"
    assert Visit.objects.filter(shift=shift, status__in=Visit.ACTIVE_STATUSES).count() == 1


def test_one_reference_sent_at_once_with_two_entries_writes_one_and_refuses_the_other():
    """Two sends racing under one ``client_ref`` with different notes: the
    second waits on the reference's unique index, then sees it was another
    entry and is refused, never told "already received"."""
    from acute.models import VisitNote
    from tests.acute.clinical.conftest import visit_scene

    scene = visit_scene()
    nurse = Actor.for_membership(scene.nurse)

    def send(text):
        def call():
            visit = Visit.objects.get(pk=scene.visit.pk)
            return services.visit_submission_once(
                visit=visit,
                actor=nurse,
                client_ref="race-ref-0001",
                form="note",
                fingerprint=services.submission_fingerprint([("text", text)]),
                write=lambda: services.visit_note_add(
                    visit=visit, kind="note", text=text, actor=nurse
                ),
            )

        return call

    results = race(send("Feber 39"), send("Feber 38"))
    wins = [r for r in results if isinstance(r, services.SubmissionResult)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert not wins[0].replayed
    assert losses[0].code == "submission.client_ref_reused"
    assert VisitNote.objects.filter(visit_id=scene.visit.pk).count() == 1


def test_the_same_queued_entry_replayed_three_times_at_once_is_written_once():
    """The tablet's queue sends one note three times as its connection comes
    back: one note, and every send is answered as received."""
    from acute.models import VisitNote, VisitSubmission
    from tests.acute.clinical.conftest import visit_scene

    scene = visit_scene()
    nurse = Actor.for_membership(scene.nurse)

    def send():
        visit = Visit.objects.get(pk=scene.visit.pk)
        return services.visit_submission_once(
            visit=visit,
            actor=nurse,
            client_ref="replay-ref-0001",
            form="note",
            fingerprint=services.submission_fingerprint([("text", "Feber 39")]),
            write=lambda: services.visit_note_add(
                visit=visit, kind="note", text="Feber 39", actor=nurse
            ),
        )

    results = race(send, send, send)
    assert all(isinstance(r, services.SubmissionResult) for r in results), results
    assert sorted(r.replayed for r in results) == [False, True, True]
    assert len({r.submission.pk for r in results}) == 1
    assert VisitNote.objects.filter(visit_id=scene.visit.pk).count() == 1
    assert VisitSubmission.objects.filter(visit_id=scene.visit.pk).count() == 1


def _assigned_to_a_nurse() -> tuple[Actor, Visit]:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    nurse, shift = f.acute_nurse_on_shift()
    visit = services.visit_assign(
        referral=f.acute_referral(by=coordinator),
        shift=shift,
        actor=Actor.for_membership(coordinator),
    )
    return Actor.for_membership(nurse), visit


def test_a_nurse_accepting_and_declining_one_assignment_at_once_gets_one_answer():
    """Two taps on her tablet (or her tablet and her phone): the first
    taken stands, the other is a 409, and the visit is in one state."""
    for _attempt in range(3):
        nurse, visit = _assigned_to_a_nurse()
        results = race(
            lambda visit=visit, nurse=nurse: services.visit_accept(visit=visit, actor=nurse),
            lambda visit=visit, nurse=nurse: services.visit_decline(
                visit=visit, reason="Syg", actor=nurse
            ),
        )
        losses = [r for r in results if isinstance(r, Conflict)]
        assert len(losses) == 1 and losses[0].code == "visit.transition_not_allowed", results
        visit.refresh_from_db()
        accepted = isinstance(results[0], Visit)
        assert visit.status == (Visit.Status.ACCEPTED if accepted else Visit.Status.CANCELLED)


def test_a_visit_completed_twice_at_once_is_completed_once():
    """A double tap on "Afslut besøg": one completion with one assessment,
    the other a 409."""
    from acute.models import VisitNote

    for _attempt in range(3):
        nurse, visit = _assigned_to_a_nurse()
        for step in (services.visit_accept, services.visit_set_off, services.visit_arrive):
            visit = step(visit=visit, actor=nurse)

        def complete(visit=visit, nurse=nurse):
            return services.visit_complete(
                visit=visit, outcome="treated_at_home", assessment="Stabil", actor=nurse
            )

        results = race(complete, complete)
        losses = [r for r in results if isinstance(r, Conflict)]
        assert len(losses) == 1 and losses[0].code == "visit.transition_not_allowed", results
        assert VisitNote.objects.filter(visit=visit, kind=VisitNote.Kind.ASSESSMENT).count() == 1
