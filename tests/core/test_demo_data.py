"""The demo: organisations, staff with the documented logins, fictitious citizens
in the four municipalities."""

import pytest
from django.core.management import call_command
from django_otp.oath import TOTP

from core import demo
from core.demo import TOWNS
from core.models import Citizen, Membership, Organisation, User

pytestmark = pytest.mark.django_db

DEMO_USERS = [
    "coordinator",
    "nurse1",
    "nurse2",
    "physician",
    "homenurse",
    "officer",
    "auditor",
    "analyst",
    "admin",
]


def test_demo_data_is_complete_and_idempotent(client) -> None:
    call_command("demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    counts = (
        Organisation.objects.count(),
        User.objects.count(),
        Citizen.objects.count(),
        Membership.objects.count(),
    )
    call_command("demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    assert counts == (
        Organisation.objects.count(),
        User.objects.count(),
        Citizen.objects.count(),
        Membership.objects.count(),
    )

    codes = set(
        Organisation.objects.filter(kind="municipality").values_list("municipality_code", flat=True)
    )
    assert codes == {"157", "159", "173", "230"}
    for kind in (
        "acute_function",
        "hospital",
        "hospital_department",
        "helpline_1813",
        "gp_practice",
        "home_nursing",
    ):
        assert Organisation.objects.filter(kind=kind).exists(), kind
    assert User.objects.filter(memberships__role="acute_nurse").count() >= 20
    assert Citizen.objects.count() >= 200

    # Every demo user logs in with the documented password and the code of the
    # documented TOTP key, and gets a token; the password alone is not enough.
    refused = client.post(
        "/api/auth/token",
        {"username": DEMO_USERS[0], "password": "demo"},
        content_type="application/json",
    )
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "auth.otp_required"
    code = f"{TOTP(bytes.fromhex(demo.demo_totp_hex())).token():06d}"
    for username in DEMO_USERS:
        response = client.post(
            "/api/auth/token",
            {"username": username, "password": "demo", "otp": code},
            content_type="application/json",
        )
        assert response.status_code == 201, (username, response.content)

    # Citizens live inside their municipality's towns.
    for person in Citizen.objects.select_related("municipality"):
        towns = TOWNS[str(person.municipality.municipality_code)]
        assert any(
            abs(float(person.latitude) - lat) < 0.01 and abs(float(person.longitude) - lon) < 0.01
            for _, _, (lat, lon), _ in towns
        )


def test_the_demo_board_opens_without_a_warning_of_a_hand_off_gone_to_nobody() -> None:
    """The demo's partners exist before its referrals are taken, so no step
    of a demo referral is left untold for want of a partner (R12)."""
    from acute.models import DeadlineWarning

    call_command("demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    unsent = DeadlineWarning.objects.filter(
        kind__in=[
            DeadlineWarning.Kind.STATUS_UNSENT,
            DeadlineWarning.Kind.REFERRER_UNTOLD,
            DeadlineWarning.Kind.RESULTS_UNSENT,
            DeadlineWarning.Kind.ORDER_UNSENT,
            DeadlineWarning.Kind.ADMISSION_UNSENT,
            DeadlineWarning.Kind.HANDBACK_UNSENT,
        ]
    )
    assert list(unsent.values_list("kind", flat=True)) == []


def test_loading_the_demo_again_keeps_the_municipalities_an_administrator_configured() -> None:
    """More municipalities join by configuration: `make run` loads the demo at
    every start, and must neither drop one that has joined since nor bring
    back one that has left."""
    call_command("demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    acute = Organisation.objects.get(kind="acute_function")
    hospital = Organisation.objects.get(kind="hospital")
    fureso = Organisation.objects.create(
        kind="municipality", name="Furesø Kommune", municipality_code="190", participates=True
    )
    acute.serves.add(fureso)
    hospital.serves.add(fureso)
    gladsaxe = Organisation.objects.get(municipality_code="159")
    gladsaxe.participates = False
    gladsaxe.save(update_fields=["participates"])
    acute.serves.remove(gladsaxe)

    call_command("demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123

    served = set(acute.serves.values_list("municipality_code", flat=True))
    assert served == {"157", "173", "190", "230"}
    assert set(hospital.serves.values_list("municipality_code", flat=True)) >= {"190"}
    gladsaxe.refresh_from_db()
    assert not gladsaxe.participates
