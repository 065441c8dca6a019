"""Personas and stock for the medicine cabinet's tests.

- ``officer``: the medicine officer (*lægemiddelansvarlig*) of the acute function;
- ``nurse`` / ``nurse2``: acute nurses, each with her own bag;
- ``cabinet``: the locked cabinet; ``paracetamol`` (OTC), ``morphine`` (§4),
  counted in whole tablets and ampoules; ``lactulose``, counted in mL.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from acute.clinical.dosing import schedule_from_text, schedule_total
from core.actors import Actor
from core.models import Membership, Organisation, Role
from medicine_cabinet import services
from medicine_cabinet.models import Location, Lot, Medicine
from tests import factories as f


@pytest.fixture
def acute() -> Organisation:
    return f.acute_function()


@pytest.fixture
def officer(acute: Organisation) -> Membership:
    return f.staff(Role.MEDICINE_OFFICER, acute)


def on_shift(membership: Membership, *, starts_in: dt.timedelta = -dt.timedelta(hours=1)) -> Any:
    """A shift of the nurse at her acute function (starting ``starts_in`` from
    now, eight hours long): she packs her bag and witnesses while on it."""
    from acute.models import NurseShift

    starts_at = timezone.now() + starts_in
    return NurseShift.objects.create(
        nurse=membership.user,
        acute_function=membership.organisation,
        kind=NurseShift.Kind.DAY,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=8),
        base_name="Base",
        base_latitude=55.75,
        base_longitude=12.54,
    )


@pytest.fixture
def nurse(acute: Organisation) -> Membership:
    """An acute nurse on her shift."""
    membership = f.staff(Role.ACUTE_NURSE, acute)
    on_shift(membership)
    return membership


@pytest.fixture
def nurse2(acute: Organisation) -> Membership:
    """Another acute nurse on her shift (the usual §4 witness)."""
    membership = f.staff(Role.ACUTE_NURSE, acute)
    on_shift(membership)
    return membership


def actor(membership: Membership) -> Actor:
    return Actor.for_membership(membership)


@pytest.fixture
def cabinet(acute: Organisation) -> Location:
    return services.cabinet_create(organisation=acute, name="Skab 1")


@pytest.fixture
def bag(acute: Organisation, nurse: Membership) -> Location:
    return services.bag_for_nurse(organisation=acute, nurse=nurse.user)


@pytest.fixture
def bag2(acute: Organisation, nurse2: Membership) -> Location:
    return services.bag_for_nurse(organisation=acute, nurse=nurse2.user)


@pytest.fixture
def paracetamol() -> Medicine:
    return services.medicine_upsert(
        atc_code="N02BE01",
        name="Paracetamol",
        strength="500 mg",
        form="tablet",
        unit="tablet",
        package_size=Decimal("20"),
        dispensing=Medicine.Dispensing.OVER_THE_COUNTER,
        dependence_forming=False,
        minimum_stock=Decimal("40"),
    )


@pytest.fixture
def morphine() -> Medicine:
    return services.medicine_upsert(
        atc_code="N02AA01",
        name="Morfin",
        strength="10 mg/mL",
        form="solution for injection",
        unit="ampoule",
        package_size=Decimal("10"),
        dispensing=Medicine.Dispensing.PRESCRIPTION,
        dependence_forming=True,
        minimum_stock=Decimal("5"),
    )


@pytest.fixture
def lactulose() -> Medicine:
    """Counted in a measured unit (mL): its stock keeps decimals."""
    return services.medicine_upsert(
        atc_code="A06AD11",
        name="Laktulose",
        strength="667 mg/mL",
        form="oral solution",
        unit="mL",
        package_size=Decimal("500"),
        dispensing=Medicine.Dispensing.OVER_THE_COUNTER,
        dependence_forming=False,
        minimum_stock=Decimal("500"),
    )


def receive(
    officer: Membership,
    cabinet: Location,
    medicine: Medicine,
    quantity: str,
    *,
    batch: str = "B1",
    expires_in_days: int = 365,
    witness: Any = None,
) -> Lot:
    movement = services.stock_receive(
        actor=actor(officer),
        cabinet=cabinet,
        medicine=medicine,
        batch_number=batch,
        expires_on=timezone.localdate() + dt.timedelta(days=expires_in_days),
        quantity=Decimal(quantity),
        unit=medicine.unit,
        supplier="Apoteket",
        delivery_reference=f"D-{batch}",
        witness=witness,
    )
    return movement.lot


def to_bag(nurse: Membership, lot: Lot, cabinet: Location, bag: Location, quantity: str) -> Any:
    """The nurse takes ``quantity`` of the lot from the cabinet into her bag (*udtag*)."""
    return services.stock_transfer(
        actor=actor(nurse),
        lot=lot,
        source=cabinet,
        destination=bag,
        quantity=Decimal(quantity),
        unit=lot.medicine.unit,
    )


def in_bag(
    officer: Membership,
    nurse: Membership,
    cabinet: Location,
    bag: Location,
    medicine: Medicine,
    quantity: str,
    *,
    received: str = "20",
    batch: str = "B1",
) -> Lot:
    """A lot received into the cabinet, ``quantity`` of it moved to the nurse's bag."""
    lot = receive(officer, cabinet, medicine, received, batch=batch)
    to_bag(nurse, lot, cabinet, bag, quantity)
    return lot


@pytest.fixture
def furosemide() -> Medicine:
    """Furosemide ampoules: a prescription medicine, not dependence-forming."""
    return services.medicine_upsert(
        atc_code="C03CA01",
        name="Furosemid",
        strength="10 mg/mL, 4 mL",
        form="solution for injection",
        unit="ampoule",
        package_size=Decimal("10"),
        dispensing=Medicine.Dispensing.PRESCRIPTION,
        dependence_forming=False,
        minimum_stock=Decimal("0"),
    )


def ordering_physician():
    """The physician who gives the phone order (matched by authorisation id)."""
    from tests import factories as f

    physician = f.staff(Role.PHYSICIAN, f.gp_practice())
    physician.user.authorisation_id = "0A1B2"
    physician.user.save(update_fields=["authorisation_id"])
    return physician


FUROSEMIDE = {
    "atc": "C03CA01",
    "name": "Furosemid",
    "strength": "10 mg/mL, 4 mL",
    "form": "solution for injection",
    "unit": "ampoule",
}


def on_the_nurses_page(**medicine: str) -> tuple[Any, Any, Medicine, Location, Lot]:
    """A nurse on site, logged in on her visit page, with ``medicine`` in her bag:
    the visit, her client, the medicine, her bag and its lot."""
    from tests.acute.test_pages_nurse import _on_site, _stocked

    nurse, _shift, visit, client = _on_site()
    stocked, bag, lot = _stocked(nurse, **medicine)
    return visit, client, stocked, bag, lot


def phone_order_on_page(client: Any, visit: Any, medicine: Medicine, **what: str) -> Any:
    """A phone order for ``medicine`` recorded on the nurse's visit page."""
    from tests.acute.test_pages_nurse import _phone_order_on_page

    return _phone_order_on_page(
        client, visit, medicine_atc=medicine.atc_code, medicine_name=medicine.name, **what
    )


def give_offline(
    client: Any, visit: Any, order: Any, medicine: Medicine, quantity: str, *, ref: str, at: Any
) -> Any:
    """A dose given on the tablet without a connection at ``at``, sent from its queue."""
    from tests.acute.test_pages_nurse import _give_on_page

    return _give_on_page(
        client,
        visit,
        order,
        medicine,
        quantity,
        client_ref=ref,
        given_offline_at=at.isoformat(),
        headers={"HTTP_X_OFFLINE_SEND": "1", "HTTP_X_OFFLINE_REPLAY": "1"},
    )


def one_tablet_given(
    nurse: Membership, visit: Any, order: Any, medicine: Medicine, lot: Lot
) -> Any:
    """One tablet of ``medicine`` from ``lot`` given by ``nurse`` on ``visit``
    under ``order``, through the service every door calls."""
    return services.administration_give(
        actor=actor(nurse),
        visit_id=visit.pk,
        order_id=order.pk,
        medicine=medicine,
        quantity=Decimal("1"),
        unit="tablet",
        lot=lot,
    )


def denied_audited(citizen: Any, code: str) -> bool:
    """A denied attempt to give a dose to the citizen was audited with ``code``."""
    from consent.audit.models import AuditEntry

    return AuditEntry.objects.filter(
        citizen_id=citizen.pk,
        resource_type="MedicationAdministration",
        outcome="denied",
        reason_code=code,
    ).exists()


def visit_for(nurse: Membership, citizen: Any, *, on_site: bool = True) -> Any:
    """A follow-up visit of the nurse to the citizen, with the care relationship
    the acute function opens for an assigned visit (R1)."""
    from acute.models import Episode, NurseShift, Visit
    from consent.models import CareRelationship
    from consent.services import care_relationship_open

    now = timezone.now()
    episode = Episode.objects.filter(citizen=citizen, status="open").first() or (
        Episode.objects.create(citizen=citizen, municipality=citizen.municipality)
    )
    shift = NurseShift.objects.create(
        nurse=nurse.user,
        acute_function=nurse.organisation,
        kind=NurseShift.Kind.DAY,
        starts_at=now - dt.timedelta(hours=2),
        ends_at=now + dt.timedelta(hours=6),
        base_name="Base",
        base_latitude=55.75,
        base_longitude=12.54,
    )
    visit = Visit.objects.create(
        episode=episode,
        citizen=citizen,
        kind=Visit.Kind.FOLLOW_UP,
        nurse=nurse.user,
        shift=shift,
        status=Visit.Status.ON_SITE if on_site else Visit.Status.ACCEPTED,
        # Sent an hour ago: a dose she gave a while back is still on this visit.
        assigned_at=now - dt.timedelta(hours=1),
        respond_by=now + dt.timedelta(minutes=10),
        on_site_at=now if on_site else None,
    )
    care_relationship_open(
        citizen=citizen,
        organisation=nurse.organisation,
        basis=CareRelationship.Basis.VISIT,
        source_type="acute.visit",
        source_id=str(visit.pk),
        user=nurse.user,
    )
    return visit


def order_for(
    nurse: Membership,
    citizen: Any,
    medicine: Medicine,
    *,
    kind: str = "phone",
    visit: Any = None,
    **extra: Any,
) -> Any:
    """A physician's order as the clinical app stores it: a phone order read
    back and confirmed on the phone (received on a visit), or a written
    electronic order."""
    from acute.clinical.models import MedicationOrder

    fields: dict[str, Any] = {
        "kind": kind,
        "status": MedicationOrder.Status.AWAITING_CONFIRMATION
        if kind == "phone"
        else MedicationOrder.Status.CONFIRMED,
        "citizen": citizen,
        "medicine_atc": medicine.atc_code,
        "medicine_name": medicine.name,
        "dose": Decimal("1"),
        "dose_unit": "g",
        "route": "oral",
        "frequency": "once",
        "duration": "single dose",
        "indication": "pain",
        "dependence_forming": medicine.dependence_forming,
        "ordered_at": timezone.now(),
        "ordered_by_name": "Dr. Hansen",
        "ordered_by_role": "GP",
        "ordered_by_organisation_name": "Lægehuset",
        "ordered_by_authorisation_id": "0ABC1",
        "recorded_by": nurse.user,
        "recorded_by_organisation": nurse.organisation,
        "read_back": kind == "phone",
        "read_back_confirmed": kind == "phone",
        "confirmed_at": None if kind == "phone" else timezone.now(),
    }
    names = {fl.name for fl in MedicationOrder._meta.fields}
    if visit is not None and "visit" in names:
        fields["visit"] = visit
    if extra.pop("cancelled", False):
        fields["status"] = MedicationOrder.Status.CANCELLED
        if "cancel_reason" in names:
            fields.update(cancelled_at=timezone.now(), cancel_reason="Ordered in error")
    fields.update(extra)
    # What the order allows (R8), as the clinical service reads it from its words.
    said = schedule_from_text(fields["frequency"], fields["duration"])
    fields.setdefault("doses_per_day", said.doses_per_day)
    fields.setdefault("duration_days", said.duration_days)
    fields.setdefault(
        "total_quantity",
        schedule_total(
            dose=fields["dose"],
            doses_per_day=fields["doses_per_day"],
            duration_days=fields["duration_days"],
        ),
    )
    return MedicationOrder.objects.create(**fields)


def receipt_body(
    cabinet: Location, medicine: Medicine, batch: str, reference: str
) -> dict[str, object]:
    """A goods receipt of ten of ``medicine`` into ``cabinet`` as ``POST
    /api/cabinet/receipts`` takes it: ``batch``, delivered as ``reference``."""
    return {
        "cabinet": cabinet.pk,
        "medicine": medicine.pk,
        "batch_number": batch,
        "expires_on": (timezone.localdate() + dt.timedelta(days=200)).isoformat(),
        "quantity": "10",
        "unit": medicine.unit,
        "supplier": "Apoteket",
        "delivery_reference": reference,
    }
