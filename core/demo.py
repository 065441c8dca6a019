"""Demo data for trying the platform: organisations, staff and fictitious citizens.

Everything here is invented. Loading twice changes nothing (idempotent).
"""

from __future__ import annotations

import base64
import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.models import Citizen, Membership, Organisation, Role, User

DEMO_PASSWORD = "demo"  # noqa: S105 - the demo's documented password, never used outside it
# Every demo user's TOTP app holds this key (base32, as an app takes it):
# `manage.py demo_code` prints the current code. Never used outside the demo.
DEMO_TOTP_KEY = "OR3GCZLSMFVXK5BNMRSW23ZNORXXI4BB"


def demo_totp_hex() -> str:
    return base64.b32decode(DEMO_TOTP_KEY).hex()


MUNICIPALITIES = [
    # code, name, demo SOR code
    ("157", "Gentofte Kommune", "900157000001"),
    ("159", "Gladsaxe Kommune", "900159000001"),
    ("173", "Lyngby-Taarbæk Kommune", "900173000001"),
    ("230", "Rudersdal Kommune", "900230000001"),
]

# Towns in each municipality: postal code, town, centre (lat, lon), street names.
TOWNS: dict[str, list[tuple[str, str, tuple[float, float], list[str]]]] = {
    "157": [
        (
            "2900",
            "Hellerup",
            (55.7315, 12.5700),
            ["Strandvejen", "Hellerupvej", "Ryvangs Allé", "Onsgårdsvej", "Callisensvej"],
        ),
        (
            "2920",
            "Charlottenlund",
            (55.7520, 12.5750),
            ["Jægersborg Allé", "Ordrupvej", "Hyldegårdsvej", "Kystvejen"],
        ),
        (
            "2820",
            "Gentofte",
            (55.7500, 12.5450),
            ["Gentoftegade", "Bregnegårdsvej", "Ahlmanns Allé", "Vangedevej"],
        ),
        (
            "2930",
            "Klampenborg",
            (55.7700, 12.5850),
            ["Dyrehavevej", "Bellevuekrogen", "Klampenborgvej"],
        ),
    ],
    "159": [
        (
            "2860",
            "Søborg",
            (55.7280, 12.5080),
            ["Søborg Hovedgade", "Maglegårds Allé", "Grønnemose Allé", "Vandtårnsvej"],
        ),
        (
            "2880",
            "Bagsværd",
            (55.7610, 12.4540),
            ["Bagsværd Hovedgade", "Aldershvilevej", "Skovalléen", "Bagsværdvej"],
        ),
        (
            "2860",
            "Gladsaxe",
            (55.7350, 12.4880),
            ["Gladsaxe Møllevej", "Buddingevej", "Gladsaxevej", "Telegrafvej"],
        ),
    ],
    "173": [
        (
            "2800",
            "Kongens Lyngby",
            (55.7700, 12.5050),
            ["Lyngby Hovedgade", "Jernbanevej", "Klampenborgvej", "Toftebæksvej", "Engelsborgvej"],
        ),
        (
            "2830",
            "Virum",
            (55.7950, 12.4730),
            ["Virumvej", "Kongevejen", "Frederiksdalsvej", "Geels Plads"],
        ),
        (
            "2800",
            "Lundtofte",
            (55.7900, 12.5130),
            ["Lundtoftevej", "Hjortekærsvej", "Lundtoftegårdsvej"],
        ),
    ],
    "230": [
        (
            "2840",
            "Holte",
            (55.8110, 12.4700),
            ["Holte Stationsvej", "Øverødvej", "Kongevejen", "Vejlesøvej", "Rudegårds Allé"],
        ),
        (
            "3460",
            "Birkerød",
            (55.8450, 12.4280),
            ["Birkerød Kongevej", "Hovedgaden", "Stationsvej", "Bregnerødvej"],
        ),
        (
            "2850",
            "Nærum",
            (55.8150, 12.5400),
            ["Nærum Hovedgade", "Skodsborgvej", "Langebjergvænget"],
        ),
        (
            "2950",
            "Vedbæk",
            (55.8530, 12.5650),
            ["Vedbæk Stationsvej", "Gammel Holtevej", "Henriettevej"],
        ),
    ],
}

GIVEN_FEMALE = [
    "Anna",
    "Karen",
    "Inge",
    "Kirsten",
    "Hanne",
    "Lene",
    "Birthe",
    "Grethe",
    "Else",
    "Bente",
    "Jytte",
    "Ruth",
    "Ellen",
    "Lis",
    "Tove",
    "Marianne",
    "Ida",
    "Emma",
    "Sofie",
    "Maja",
]
GIVEN_MALE = [
    "Jens",
    "Peter",
    "Niels",
    "Hans",
    "Poul",
    "Erik",
    "Jørgen",
    "Henrik",
    "Ole",
    "Lars",
    "Knud",
    "Bent",
    "Svend",
    "Arne",
    "Finn",
    "Carl",
    "Mikkel",
    "Frederik",
    "Oskar",
    "Viggo",
]
FAMILY = [
    "Jensen",
    "Nielsen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
    "Jørgensen",
    "Petersen",
    "Madsen",
    "Kristensen",
    "Olsen",
    "Thomsen",
    "Christiansen",
    "Poulsen",
    "Johansen",
    "Møller",
    "Mortensen",
    "Kjær",
    "Holm",
    "Lund",
    "Bech",
    "Dahl",
]

STAFF = [
    # username, first, last, role, organisation key
    ("coordinator", "Camilla", "Vagthavende", Role.COORDINATOR, "acute"),
    ("physician", "Peter", "Lægesen", Role.PHYSICIAN, "gp-157-1"),
    ("homenurse", "Hanne", "Hjemmesygeplejerske", Role.HOME_NURSE, "home-157"),
    ("officer", "Ole", "Lægemiddelansvarlig", Role.MEDICINE_OFFICER, "acute"),
    ("auditor", "Astrid", "Revisor", Role.AUDITOR, "acute"),
    ("analyst", "Anders", "Analytiker", Role.ANALYST, "muni-157"),
    ("admin", "Adam", "Administrator", Role.ADMINISTRATOR, "acute"),
]
NURSE_COUNT = 20
CITIZEN_COUNT = 200


def _organisations() -> dict[str, Organisation]:
    orgs: dict[str, Organisation] = {}

    def upsert(key: str, lookup: dict[str, object], **fields: object) -> Organisation:
        org, _ = Organisation.objects.update_or_create(**lookup, defaults=fields)  # type: ignore[arg-type]
        orgs[key] = org
        return org

    already = set(
        Organisation.objects.filter(
            municipality_code__in=[code for code, _, _ in MUNICIPALITIES]
        ).values_list("pk", flat=True)
    )
    for code, name, sor in MUNICIPALITIES:
        muni = upsert(
            f"muni-{code}",
            {"municipality_code": code},
            kind=Organisation.Kind.MUNICIPALITY,
            name=name,
            sor_code=sor,
        )
        if muni.pk not in already:
            # Joined once, when first made: loading the demo again leaves a
            # municipality that has since left the function out of it.
            muni.participates = True
            muni.save(update_fields=["participates"])
        home = upsert(
            f"home-{code}",
            {"sor_code": f"{sor[:-1]}2"},
            kind=Organisation.Kind.HOME_NURSING,
            name=f"Hjemmesygeplejen {name.replace(' Kommune', '')}",
            parent=muni,
        )
        home.serves.add(muni)
    acute = upsert(
        "acute",
        {"sor_code": "900000100001"},
        kind=Organisation.Kind.ACUTE_FUNCTION,
        name="Tværkommunal Akutfunktion",
        phone="+45 39 99 00 00",
    )
    # The catchment is set when the function is first made, then it is the
    # administrator's: loading the demo again neither drops a municipality
    # that has joined since nor brings back one that has left.
    if not acute.serves.exists():
        acute.serves.set([orgs[f"muni-{code}"] for code, _, _ in MUNICIPALITIES])
    hospital = upsert(
        "hospital",
        {"sor_code": "900000200001"},
        kind=Organisation.Kind.HOSPITAL,
        name="Herlev og Gentofte Hospital",
    )
    # Its catchment area: the admission hand-off goes only to the hospital
    # serving the citizen's municipality.
    if not hospital.serves.exists():
        hospital.serves.set([orgs[f"muni-{code}"] for code, _, _ in MUNICIPALITIES])
    for suffix, dept in enumerate(
        ["Akutmodtagelsen", "Medicinsk afdeling", "Geriatrisk afdeling", "Kardiologisk afdeling"],
        start=2,
    ):
        upsert(
            f"dept-{suffix}",
            {"sor_code": f"90000020000{suffix}"},
            kind=Organisation.Kind.HOSPITAL_DEPARTMENT,
            name=f"{dept}, Herlev og Gentofte Hospital",
            parent=hospital,
        )
    upsert(
        "1813",
        {"sor_code": "900000300001"},
        kind=Organisation.Kind.HELPLINE_1813,
        name="Akuttelefonen 1813",
        phone="1813",
    )
    for code, _name, _ in MUNICIPALITIES:
        town = TOWNS[code][0][1]
        for n in (1, 2):
            upsert(
                f"gp-{code}-{n}",
                {"provider_number": f"0{code}{n:02d}"},
                kind=Organisation.Kind.GP_PRACTICE,
                name=f"Lægerne {town} {n}",
                sor_code=f"9004{code}0000{n}",
                parent=None,
            )
    # Fictitious EAN/GLN location numbers (579 is Denmark's GS1 prefix), so the
    # demo's MedCom messages name every organisation as MedCom requires.
    for n, key in enumerate(sorted(orgs), start=1):
        ean = _gln(f"579000999{n:03d}")
        Organisation.objects.filter(pk=orgs[key].pk).update(ean=ean)
        orgs[key].ean = ean
    return orgs


def _gln(twelve: str) -> str:
    """A 13-digit GLN: ``twelve`` digits and the GS1 modulo-10 check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(twelve))
    return f"{twelve}{(10 - total % 10) % 10}"


# The demo's acute nurses (fictitious): a first name each, so the
# coordinator's map tells them apart.
DEMO_NURSE_NAMES = (
    ("Anne", "Holm"),
    ("Mette", "Skov"),
    ("Louise", "Dahl"),
    ("Sofie", "Lund"),
    ("Maria", "Bech"),
    ("Julie", "Krogh"),
    ("Line", "Vestergaard"),
    ("Sara", "Bak"),
    ("Karina", "Friis"),
    ("Tina", "Mogensen"),
    ("Signe", "Juhl"),
    ("Ida", "Thygesen"),
    ("Mads", "Kjær"),
    ("Jonas", "Bisgaard"),
    ("Rasmus", "Lauridsen"),
    ("Henrik", "Brandt"),
    ("Lars", "Munk"),
    ("Birgitte", "Winther"),
    ("Pia", "Svendsen"),
    ("Hanne", "Dam"),
)


def _staff(orgs: dict[str, Organisation]) -> list[str]:
    created: list[str] = []
    people = [(u, f, last, r, o) for u, f, last, r, o in STAFF]
    for n in range(1, NURSE_COUNT + 1):
        first, last = DEMO_NURSE_NAMES[(n - 1) % len(DEMO_NURSE_NAMES)]
        people.append((f"nurse{n}", first, last, Role.ACUTE_NURSE, "acute"))
    for username, first, last, role, org_key in people:
        user, was_created = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last}
        )
        if was_created:
            user.set_password(DEMO_PASSWORD)
            if role == Role.ADMINISTRATOR:
                user.is_staff = user.is_superuser = True
            if role in (Role.PHYSICIAN,):
                user.authorisation_id = "0DEMO"
            user.save()
            created.append(username)
        Membership.objects.get_or_create(
            user=user, organisation=orgs[org_key], role=role, defaults={"is_default": True}
        )
        TOTPDevice.objects.get_or_create(
            user=user, name="Demo", defaults={"key": demo_totp_hex(), "confirmed": True}
        )
    # The demo physician also takes shifts at 1813 (a second role to choose at login).
    physician = User.objects.get(username="physician")
    Membership.objects.get_or_create(user=physician, organisation=orgs["1813"], role=Role.PHYSICIAN)
    return created


def _cpr(rng: random.Random, birth: dt.date, female: bool, taken: set[str]) -> str:
    while True:
        seventh = rng.randint(0, 3) if birth.year < 2000 else 4
        serial = f"{seventh}{rng.randint(0, 99):02d}"
        last = rng.choice([0, 2, 4, 6, 8] if female else [1, 3, 5, 7, 9])
        cpr = f"{birth:%d%m%y}{serial}{last}"
        if cpr not in taken:
            taken.add(cpr)
            return cpr


def _citizens(orgs: dict[str, Organisation]) -> int:
    rng = random.Random(20261123)  # fixed seed: the same fictitious citizens every time
    taken: set[str] = set()
    created = 0
    codes = [code for code, _, _ in MUNICIPALITIES]
    for index in range(CITIZEN_COUNT):
        code = codes[index % len(codes)]
        postal, town, (lat, lon), streets = rng.choice(TOWNS[code])
        female = rng.random() < 0.55
        # Mostly elderly, as the acute function's citizens are.
        age = int(min(101, max(18, rng.gauss(80, 9))))
        birth = dt.date(2026 - age, rng.randint(1, 12), rng.randint(1, 28))
        cpr = _cpr(rng, birth, female, taken)
        given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
        family = rng.choice(FAMILY)
        street = f"{rng.choice(streets)} {rng.randint(1, 160)}"
        latitude = Decimal(f"{lat + rng.uniform(-0.006, 0.006):.6f}")
        longitude = Decimal(f"{lon + rng.uniform(-0.009, 0.009):.6f}")
        gp = orgs[f"gp-{code}-{rng.randint(1, 2)}"]
        _, was_created = Citizen.objects.get_or_create(
            cpr=cpr,
            defaults=dict(
                given_name=given,
                family_name=family,
                birth_date=birth,
                sex="female" if female else "male",
                address_line=street,
                postal_code=postal,
                city=town,
                latitude=latitude,
                longitude=longitude,
                municipality=orgs[f"muni-{code}"],
                gp_practice=gp,
                phone=f"+45 2{rng.randint(0, 9999999):07d}",
            ),
        )
        created += int(was_created)
    return created


@transaction.atomic
def load(say: Callable[[str], None]) -> dict[str, Organisation]:
    orgs = _organisations()
    users = _staff(orgs)
    citizens = _citizens(orgs)
    say(f"core: {len(orgs)} organisations, {len(users)} new staff users, {citizens} new citizens")
    say(
        f"core: demo logins need a code after the password: key {DEMO_TOTP_KEY} in a TOTP app,"
        " or `DEPLOYMENT=local .venv/bin/python manage.py demo_code` for the current one"
    )
    return orgs
