"""R4 with real concurrent transactions on PostgreSQL: a write on the shared
record and the citizen's refusal, or the withdrawal of her consent, recorded
at the same moment. The gate is asked under her row's lock, which the
refusal and the withdrawal take too (``core.locks``): either the write is
on her record before the refusal is answered as recorded, or it is asked
after it and refused. Never is a write the gate let through before the
refusal committed stored after it, on the create, the update and the
transaction Bundle alike.

The window between the gate's answer and the write is held open by a third
transaction that holds the writer's organisation a moment (as a slow disk
or a busy database would): the write then waits at its insert, with the
gate's answer already given."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from consent.audit.models import AuditEntry, Outcome, Purpose
from consent.models import ConsentDirective, RecordResource
from consent.services import (
    consent_create,
    consent_withdraw,
    patient_update,
    record_resource_create,
    record_resource_update,
    record_transaction,
)
from core.actors import Actor
from core.errors import NotFoundOrNotAllowed
from core.models import Citizen, Organisation
from tests.consent import bodies
from tests.consent.conftest import World
from tests.lock_waits import row_held, until, waiting_on_locks

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class _Side(threading.Thread):
    """One side of the race, in its own thread and database connection,
    noting when it was answered."""

    def __init__(self, call: Callable[[], Any], answered: list[str], name: str) -> None:
        super().__init__()
        self.call, self.answered, self.side = call, answered, name
        self.result: Any = None

    def run(self) -> None:
        try:
            self.result = self.call()
        except Exception as exc:  # noqa: BLE001 - the loser's refusal is the result under test
            self.result = exc
        finally:
            self.answered.append(self.side)
            connection.close()


def _held_open(organisation: Organisation, release: threading.Event) -> threading.Thread:
    """A transaction holding the organisation's row until ``release``."""
    return row_held(
        f"SELECT 1 FROM {Organisation._meta.db_table} WHERE id = %s FOR UPDATE",  # noqa: S608 - the table name is the model's own
        [organisation.pk],
        release,
    )


def _admin(world: World) -> Actor:
    return Actor.for_membership(world.administrator)


def _refusal_recorded(world: World) -> Callable[[], Any]:
    """The citizen refuses her GP (the physician by name)."""
    data = bodies.refusal(world.person.pk, users=[world.physician.user.pk])
    return lambda: consent_create(actor=_admin(world), data=data, purpose=Purpose.OPERATIONS)


def _consent_withdrawn(world: World) -> Callable[[], Any]:
    """She had refused her GP and then let him in again; she withdraws that consent."""
    _refusal_recorded(world)()
    consent = consent_create(
        actor=_admin(world),
        data=bodies.refusal(world.person.pk, users=[world.physician.user.pk], kind="permit"),
        purpose=Purpose.OPERATIONS,
    )
    return lambda: consent_withdraw(
        actor=_admin(world), directive_id=consent.pk, given_how="oral", purpose=Purpose.OPERATIONS
    )


def _created(world: World) -> Callable[[], Any]:
    gp = Actor.for_membership(world.physician)
    data = bodies.diagnosis(world.person.pk, code="E11")
    return lambda: record_resource_create(actor=gp, data=data, purpose=Purpose.TREATMENT)


def _updated(world: World) -> Callable[[], Any]:
    gp = Actor.for_membership(world.physician)
    data = {**bodies.diagnosis(world.person.pk, code="E11"), "id": str(world.diagnosis.pk)}
    return lambda: record_resource_update(
        actor=gp,
        resource_type="Condition",
        resource_id=world.diagnosis.pk,
        data=data,
        purpose=Purpose.TREATMENT,
        if_match='W/"1"',
    )


def _in_a_bundle(world: World) -> Callable[[], Any]:
    gp = Actor.for_membership(world.physician)
    bundle = bodies.transaction(bodies.diagnosis(world.person.pk, code="E11"))
    return lambda: record_transaction(actor=gp, bundle=bundle, purpose=Purpose.TREATMENT)


WRITES = {"create": _created, "update": _updated, "transaction": _in_a_bundle}
DIRECTIVES = {"refusal": _refusal_recorded, "withdrawal": _consent_withdrawn}


def _write_waits_then_refusal(
    holder: threading.Thread,
    writer: _Side,
    refuser: _Side,
    release: threading.Event,
    answered: list[str],
) -> None:
    """The write passes the gate and waits on the held row; the refusal is
    sent then. It waits for the write: nothing is answered while the write
    is held, and both are answered once it is let go. (Which thread reports
    first after the write commits is the scheduler's choice, not the
    platform's.)"""
    answered_while_held: list[str] | None = None
    try:
        writer.start()
        until(lambda: waiting_on_locks() >= 1)  # the gate said yes; the write waits
        refuser.start()
        until(lambda: bool(answered) or waiting_on_locks() >= 2)
        answered_while_held = list(answered)
    finally:
        release.set()
        for thread in (holder, writer, refuser):
            thread.join(timeout=30)
    assert isinstance(refuser.result, ConsentDirective), refuser.result
    assert answered_while_held == [], (answered_while_held, writer.result)
    assert sorted(answered) == ["refusal", "write"], (answered, writer.result)


@pytest.mark.parametrize("directive", DIRECTIVES)
@pytest.mark.parametrize("door", WRITES)
def test_r4_a_write_let_through_before_her_refusal_is_stored_before_it_never_after(
    world: World, door: str, directive: str
) -> None:
    write = WRITES[door](world)
    refuse = DIRECTIVES[directive](world)
    answered: list[str] = []
    release = threading.Event()
    holder = _held_open(world.gp, release)
    writer = _Side(write, answered, "write")
    refuser = _Side(refuse, answered, "refusal")
    _write_waits_then_refusal(holder, writer, refuser, release, answered)
    assert not isinstance(writer.result, Exception), writer.result


@pytest.mark.parametrize("directive", DIRECTIVES)
def test_r4_a_write_asked_while_her_refusal_is_recorded_waits_and_is_refused(
    world: World, directive: str
) -> None:
    """The other way round: the refusal's transaction is under way when the
    write asks; the write waits for it, and is then refused and recorded so."""
    refuse = DIRECTIVES[directive](world)
    before = RecordResource.objects.count()
    recording, release = threading.Event(), threading.Event()
    answered: list[str] = []

    def refusal_held_open() -> Any:
        with transaction.atomic():
            directive_row = refuse()
            recording.set()
            release.wait(timeout=20)
        return directive_row

    refuser = _Side(refusal_held_open, answered, "refusal")
    writer = _Side(_created(world), answered, "write")
    try:
        refuser.start()
        assert recording.wait(timeout=10)
        writer.start()
        until(lambda: bool(answered) or waiting_on_locks() >= 1)
    finally:
        release.set()
        for thread in (refuser, writer):
            thread.join(timeout=30)
    assert answered == ["refusal", "write"], (answered, writer.result)
    assert isinstance(writer.result, NotFoundOrNotAllowed), writer.result
    assert RecordResource.objects.count() == before
    assert AuditEntry.objects.filter(
        citizen_id=world.person.pk,
        actor_user_id=world.physician.user.pk,
        outcome=Outcome.DENIED,
        reason_code="refused",
    ).exists()


def _key_share_held(world: World, release: threading.Event) -> threading.Thread:
    """A transaction holding her row for key share until ``release``, as one
    storing a row that names her does (a note, an order, a result)."""
    return row_held(
        f"SELECT 1 FROM {Citizen._meta.db_table} WHERE id = %s FOR KEY SHARE",  # noqa: S608 - the table name is the model's own
        [world.person.pk],
        release,
    )


@pytest.mark.parametrize("directive", DIRECTIVES)
def test_r4_a_patient_update_let_through_before_her_refusal_is_stored_before_it(
    world: World, directive: str
) -> None:
    """The Patient's update: its gate is asked under her row's lock as well,
    so a refusal cannot be recorded between the gate's answer and the
    update's own lock on her row."""
    refuse = DIRECTIVES[directive](world)
    gp = Actor.for_membership(world.physician)
    body = bodies.patient(world.person.cpr, line="Strandvejen 100", gp_id=world.gp.pk)
    answered: list[str] = []
    release = threading.Event()
    holder = _key_share_held(world, release)
    writer = _Side(
        lambda: patient_update(
            actor=gp,
            citizen_id=world.person.pk,
            data=body,
            purpose=Purpose.TREATMENT,
            if_match='W/"1"',
        ),
        answered,
        "write",
    )
    refuser = _Side(refuse, answered, "refusal")
    _write_waits_then_refusal(holder, writer, refuser, release, answered)
    assert isinstance(writer.result, Citizen), writer.result
