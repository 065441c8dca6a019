"""Factories and personas for every test: one place, stated rights.

Passwords are hashed once per run (Argon2 is slow on purpose) and shared.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
import time
from decimal import Decimal
from functools import cache
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from core.models import ApiToken, Citizen, Membership, Organisation, Role, User, hash_token

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)

MUNICIPALITY_NAMES = {
    "157": "Gentofte",
    "159": "Gladsaxe",
    "173": "Lyngby-Taarbæk",
    "230": "Rudersdal",
}


@cache
def _password_hash() -> str:
    return make_password(PASSWORD)


def municipality(code: str = "157", *, participates: bool | None = None) -> Organisation:
    """The municipality of ``code``; the four of the joint function take part,
    another only when told (one that joined, or another function's)."""
    org, _ = Organisation.objects.get_or_create(
        municipality_code=code,
        defaults={
            "kind": Organisation.Kind.MUNICIPALITY,
            "name": f"{MUNICIPALITY_NAMES.get(code, code)} Kommune",
            "participates": code in MUNICIPALITY_NAMES if participates is None else participates,
        },
    )
    return org


def organisation(kind: str, name: str | None = None, **fields: object) -> Organisation:
    n = next(_seq)
    return Organisation.objects.create(kind=kind, name=name or f"{kind} {n}", **fields)


def gln(n: int) -> str:
    """A 13-digit EAN/GLN location number with a valid GS1 check digit."""
    body = f"579{n:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def medcom_identified(org: Organisation) -> Organisation:
    """``org`` with the SOR code and EAN/GLN number MedCom names it by."""
    if not org.sor_code or not org.ean:
        n = next(_seq)
        org.sor_code = org.sor_code or f"{900000000000 + n}"
        org.ean = org.ean or gln(n)
        org.save(update_fields=["sor_code", "ean"])
    return org


def acute_function() -> Organisation:
    org = Organisation.objects.filter(kind=Organisation.Kind.ACUTE_FUNCTION).first()
    if org is None:
        org = organisation(
            Organisation.Kind.ACUTE_FUNCTION, "Tværkommunal Akutfunktion", phone="+4570101010"
        )
        medcom_identified(org)
        org.serves.set([municipality(code) for code in MUNICIPALITY_NAMES])
    return org


def gp_practice(code: str = "157") -> Organisation:
    n = next(_seq)
    return organisation(
        Organisation.Kind.GP_PRACTICE, f"Lægehuset {n}", provider_number=f"9{n:05d}"
    )


def staff(role: str, org: Organisation, *, username: str | None = None) -> Membership:
    user = User.objects.create(
        username=username or f"{role}-{next(_seq)}",
        password=_password_hash(),
        first_name=role.title(),
    )
    return Membership.objects.create(user=user, organisation=org, role=role, is_default=True)


# Every test user's TOTP app holds this key (20 bytes, hex as django-otp keeps it).
TOTP_KEY_HEX = "74766165726b7574746573742d746f74702d6b6579"


def totp_device(user: User) -> TOTPDevice:
    """The user's confirmed TOTP device with the tests' key (made once)."""
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, confirmed=True, defaults={"name": "Test", "key": TOTP_KEY_HEX}
    )
    return device


def totp_code(user: User) -> str:
    """A code the user's device accepts now and has not seen: the current
    step's, or the next one's when the current was just used (a device
    refuses a code twice and allows one step of drift)."""
    device = totp_device(user)
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    now_t = totp.t()
    t = max(now_t, device.last_t + 1)
    if t > now_t + device.tolerance:
        device.last_t = -1
        device.save(update_fields=["last_t"])
        t = now_t
    totp.time = time.time() + (t - now_t) * device.step
    return f"{totp.token():0{device.digits}d}"


def log_in(client: Client, membership: Membership, *, next_url: str = "") -> Any:
    """A password login through the login pages: the password, then the code."""
    user = membership.user
    totp_device(user)
    form = {"username": user.username, "password": PASSWORD}
    if next_url:
        form["next"] = next_url
    first = client.post("/login/", form)
    if first.status_code != 302 or first["Location"] != "/login/code/":
        return first
    return client.post("/login/code/", {"otp": totp_code(user)})


def token_for(membership: Membership) -> str:
    raw = secrets.token_urlsafe(24)
    ApiToken.objects.create(
        key_hash=hash_token(raw),
        membership=membership,
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    return raw


def client_for(membership: Membership | None) -> APIClient:
    client = APIClient()
    if membership is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(membership)}")
    return client


def cpr_number(*, born: dt.date = dt.date(1941, 3, 2), female: bool = True) -> str:
    """A CPR number with a valid date, unique within the run."""
    n = next(_seq) % 1000
    seventh = 0 if born.year < 2000 else 4
    last = (n * 2) % 10 if female else (n * 2 + 1) % 10
    return f"{born:%d%m%y}{seventh}{n % 100:02d}{last}"


def citizen(
    *,
    municipality_code: str = "157",
    gp: Organisation | None = None,
    female: bool = True,
    born: dt.date = dt.date(1941, 3, 2),
) -> Citizen:
    from core.cpr import cpr_facts

    number = cpr_number(born=born, female=female)
    while Citizen.objects.filter(cpr=number).exists():
        number = cpr_number(born=born, female=female)
    facts = cpr_facts(number)
    return Citizen.objects.create(
        cpr=number,
        given_name="Inge",
        family_name="Testesen",
        birth_date=facts.birth_date,
        sex=facts.sex,
        address_line="Gentoftegade 1",
        postal_code="2820",
        city="Gentofte",
        latitude=Decimal("55.750000"),
        longitude=Decimal("12.545000"),
        municipality=municipality(municipality_code),
        gp_practice=gp,
    )


ALL_ROLES = list(Role.values)


# --- acute: shifts and referrals ---------------------------------------------


def acute_nurse_on_shift(
    *,
    skills: tuple[str, ...] = ("iv_treatment", "catheter", "blood_samples"),
    latitude: float = 55.7400,
    longitude: float = 12.5300,
    max_load: int = 3,
    hours_before: float = 2,
    hours_after: float = 6,
):  # -> tuple[Membership, acute.models.NurseShift]
    """An acute nurse of the joint function, on a shift around now at the given position."""
    from acute.models import NurseShift

    membership = staff(Role.ACUTE_NURSE, acute_function())
    now = timezone.now()
    shift = NurseShift.objects.create(
        nurse=membership.user,
        acute_function=membership.organisation,
        kind=NurseShift.Kind.DAY,
        starts_at=now - dt.timedelta(hours=hours_before),
        ends_at=now + dt.timedelta(hours=hours_after),
        skills=list(skills),
        max_load=max_load,
        base_name="Base Gentofte",
        base_latitude=55.7500,
        base_longitude=12.5450,
        latitude=latitude,
        longitude=longitude,
        position_at=now,
    )
    return membership, shift


def acute_referral(
    *,
    person: Citizen | None = None,
    urgency: str = "within_2_hours",
    accepted: bool = True,
    required_skills: tuple[str, ...] = (),
    by: Membership | None = None,
):  # -> acute.models.Referral
    """A referral typed in by a coordinator (accepted by triage unless told otherwise)."""
    from acute.services import referral_accept, referral_create
    from core.actors import Actor

    coordinator = by or staff(Role.COORDINATOR, acute_function())
    actor = Actor.for_membership(coordinator)
    referral = referral_create(
        citizen=person or citizen(),
        source="gp",
        channel="phone",
        referrer_name="Læge Hansen",
        referrer_phone="+4539000000",
        reason="Feber og konfusion",
        clinical_picture="Temp 39, nyopstået forvirring",
        requested_actions="Vurdering, CRP, væsketal",
        urgency=urgency,
        responsible_physician_name="Læge Hansen",
        responsible_physician_phone="+4539000000",
        required_skills=required_skills,
        actor=actor,
    )
    if accepted:
        referral = referral_accept(referral=referral, actor=actor)
    return referral


def integration_partner(
    kind: str,
    organisation: Organisation,
    *,
    endpoint_url: str = "",
    code: str | None = None,
    secret: str | None = None,
    **policy: object,
):
    """A hand-off partner (integrations.Partner) with its own secret; its
    organisation identified by SOR and EAN, as MedCom names partners."""
    from integrations.models import Partner

    medcom_identified(organisation)
    return Partner.objects.create(
        code=code or f"{kind.replace('_', '-')}-{next(_seq)}",
        kind=kind,
        organisation=organisation,
        endpoint_url=endpoint_url,
        secret=secret or secrets.token_urlsafe(32),
        **policy,
    )


# --- consent: recipients of the shared record ---------------------------------


def home_nursing(code: str = "157") -> Organisation:
    """The home nursing (hjemmesygepleje) serving one municipality."""
    muni = municipality(code)
    org = organisation(Organisation.Kind.HOME_NURSING, f"Hjemmesygeplejen {code}", parent=muni)
    org.serves.add(muni)
    return org


def municipal_unit(kind: str, code: str = "157") -> Organisation:
    """A municipality's own unit acting for its citizens: municipal assessment
    (visitation), home care (hjemmepleje) or a rehabilitation unit
    (genoptræning), part of the municipality and serving no other."""
    muni = municipality(code)
    return organisation(kind, f"{kind} {code}", parent=muni)


def hospital_department() -> Organisation:
    hospital = organisation(Organisation.Kind.HOSPITAL)
    return organisation(Organisation.Kind.HOSPITAL_DEPARTMENT, parent=hospital)


def open_visit(nurse: Membership, person: Citizen, source_id: str | None = None) -> object:
    """A nurse's own visit for a citizen: the care relationship R1 asks for."""
    from consent.models import CareRelationship
    from consent.services import care_relationship_open

    return care_relationship_open(
        citizen=person,
        organisation=nurse.organisation,
        user=nurse.user,
        basis=CareRelationship.Basis.VISIT,
        source_type="test.visit",
        source_id=source_id or str(next(_seq)),
    )


def phone_order(
    nurse: Membership | Any,
    visit: object,
    *,
    medicine_name: str = "Pivmecillinam 400 mg tablet",
    authorisation_id: str = "0A1B2",
) -> Any:
    """A GP's phone order for pivmecillinam, read back and confirmed (R8),
    recorded by the nurse on her visit. ``nurse`` is her membership or an
    actor; ``authorisation_id`` names the ordering physician."""
    from acute.clinical.services import OrderDetails, phone_order_record
    from core.actors import Actor

    actor = Actor.for_membership(nurse) if isinstance(nurse, Membership) else nurse
    return phone_order_record(
        actor=actor,
        visit=visit,
        details=OrderDetails(
            medicine_atc="J01CA08",
            medicine_name=medicine_name,
            dose="400",
            dose_unit="mg",
            route="oral",
            frequency="3 gange dagligt",
            duration="3 dage",
            indication="Cystitis",
        ),
        ordered_at=timezone.now(),
        ordered_by_name="Hanne Hansen",
        ordered_by_role="physician",
        ordered_by_organisation_name="Lægehuset",
        ordered_by_authorisation_id=authorisation_id,
        read_back=True,
        read_back_confirmed=True,
    )


def audit_extra_queries() -> int:
    """What an audit append costs in statements beyond PostgreSQL's one: on
    SQLite the chain is kept in Python (savepoint, head, insert, head update,
    release). For query budgets that hold on both."""
    return 0 if connection.vendor == "postgresql" else 4


def medicine_body(**fields: object) -> dict[str, object]:
    """A formulary entry as the officer posts it to /api/cabinet/medicines:
    paracetamol 500 mg tablets, over the counter, with ``fields`` on top."""
    return {
        "atc_code": "N02BE01",
        "name": "Paracetamol",
        "strength": "500 mg",
        "form": "tablet",
        "unit": "tablet",
        "package_size": "20",
        "dispensing": "otc",
        "dependence_forming": False,
        **fields,
    }
