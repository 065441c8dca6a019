"""Demo data for the medicine cabinet: the formulary of typical acute-function
medicines (ATC codes from PRODUCT.md), the base's locked cabinet with stock,
and the bags of nurses on shift as the demo is loaded (``make run`` loads it at
every start). Idempotent: loading twice changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import NamedTuple

from django.utils import timezone

from acute.models import NurseShift
from core.actors import Actor
from core.models import Membership, Organisation, Role
from medicine_cabinet import services
from medicine_cabinet.models import Location, Medicine, Movement

D = Decimal
RX, OTC = Medicine.Dispensing.PRESCRIPTION, Medicine.Dispensing.OVER_THE_COUNTER


class Line(NamedTuple):
    """One formulary line, named as :func:`medicine_cabinet.services.medicine_upsert` takes it."""

    atc_code: str
    name: str
    strength: str
    form: str
    unit: str
    package_size: Decimal
    minimum_stock: Decimal
    dispensing: str = RX
    dependence_forming: bool = False  # §4: given only with a witness


def tablets(atc_code: str, name: str, strength: str, package: int, minimum: int) -> Line:
    """Prescription tablets, counted by the tablet."""
    return Line(atc_code, name, strength, "tablet", "tablet", D(package), D(minimum))


def ampoules(
    atc_code: str, name: str, strength: str, minimum: int, *, dependence_forming: bool = False
) -> Line:
    """A solution for injection in boxes of ten ampoules, counted by the ampoule."""
    return Line(
        atc_code,
        name,
        strength,
        "solution for injection",
        "ampoule",
        D(10),
        D(minimum),
        dependence_forming=dependence_forming,
    )


FORMULARY = [
    tablets("J01CA08", "Pivmecillinam", "400 mg", 20, 40),
    tablets("J01CA04", "Amoxicillin", "500 mg", 20, 40),
    tablets("J01CR02", "Amoxicillin/clavulansyre", "500 mg/125 mg", 20, 40),
    tablets("J01CE02", "Phenoxymethylpenicillin", "1 MIE", 20, 40),
    ampoules("C03CA01", "Furosemid", "10 mg/mL, 4 mL", 10),
    Line("N02BE01", "Paracetamol", "500 mg", "tablet", "tablet", D(100), D(100), OTC),
    ampoules("A03FA01", "Metoclopramid", "5 mg/mL, 2 mL", 10),
    Line("R03AC02", "Salbutamol", "2 mg/mL, 2.5 mL", "nebuliser solution", "ampoule", D(20), D(20)),
    tablets("H02AB06", "Prednisolon", "25 mg", 20, 20),
    ampoules("V03AB15", "Naloxon", "0.4 mg/mL, 1 mL", 5),
    ampoules("N02AA01", "Morfin", "10 mg/mL, 1 mL", 10, dependence_forming=True),
    ampoules("N05CD08", "Midazolam", "5 mg/mL, 1 mL", 5, dependence_forming=True),
]


# How many of the nurses on shift (acute/demo.py's rota) get a stocked bag when
# the demo is loaded: a nurse packs her own bag, and only on her shift
# (docs/cabinet.md); every other nurse fills hers from the cabinet (a transfer).
STOCKED_BAGS = 3


def load(say: Callable[[str], None], orgs: dict[str, Organisation]) -> None:
    acute = orgs["acute"]
    medicines = [services.medicine_upsert(**line._asdict()) for line in FORMULARY]
    cabinet = Location.objects.filter(organisation=acute, kind=Location.Kind.CABINET).first()
    if cabinet is None:
        cabinet = services.cabinet_create(organisation=acute, name="Medicinskab, basen")
    officer = Membership.objects.filter(
        user__username="officer", organisation=acute, role=Role.MEDICINE_OFFICER
    ).first()
    now = timezone.now()
    on_shift = NurseShift.objects.filter(
        acute_function=acute, starts_at__lte=now, ends_at__gt=now
    ).values("nurse")
    # The nurses on shift pack their bags and witness one another's §4 lines.
    on_duty = list(
        Membership.objects.filter(organisation=acute, role=Role.ACUTE_NURSE, user__in=on_shift)
        .select_related("user", "organisation")
        .order_by("user__username")
    )
    nurses = on_duty[:STOCKED_BAGS]
    if officer is None or len(on_duty) < 2:
        say("medicine_cabinet: formulary loaded; no officer or nurses to stock the cabinet")
        return
    received = 0
    today = timezone.localdate()
    for n, medicine in enumerate(medicines):
        reference = f"DEMO-{medicine.atc_code}"
        if Movement.objects.filter(
            kind=Movement.Kind.RECEIVED, delivery_reference=reference
        ).exists():
            continue
        services.stock_receive(
            actor=Actor.for_membership(officer),
            cabinet=cabinet,
            medicine=medicine,
            batch_number=f"{medicine.atc_code[-4:]}{240 + n}",
            expires_on=today + dt.timedelta(days=45 + 30 * n),
            quantity=medicine.package_size * 3,
            unit=medicine.unit,
            supplier="Apoteket Gentofte",
            delivery_reference=reference,
            witness=on_duty[0].user if medicine.dependence_forming else None,
        )
        received += 1
    stocked = 0
    for nurse in nurses:
        bag = services.bag_for_nurse(organisation=acute, nurse=nurse.user)
        if Movement.objects.filter(location=bag).exists():
            continue
        witness = next(m.user for m in on_duty if m.user != nurse.user)
        for medicine in medicines:
            lot = medicine.lots.order_by("expires_on").first()
            if lot is None:
                continue
            services.stock_transfer(
                actor=Actor.for_membership(nurse),
                lot=lot,
                source=cabinet,
                destination=bag,
                quantity=D(2),
                unit=medicine.unit,
                witness=witness if medicine.dependence_forming else None,
            )
        stocked += 1
    say(
        f"medicine_cabinet: {len(medicines)} formulary lines, {received} new deliveries,"
        f" the bags of {', '.join(n.user.username for n in nurses)} stocked ({stocked} new)"
    )
