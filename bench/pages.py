"""Page rendering: the nurse's visit page with a 50-resource shared-record
summary (goal p95 < 150 ms) and the coordinator's board with 100 open
referrals and 25 nurses on shift (goal p95 < 200 ms).

Each page is rendered in-process through Django's full request stack
(middleware, session, access gate, audit, template) on PostgreSQL. Beside each
page the same run times its baseline: the selector the page is built on
(``patient_everything`` for the visit, ``referral_board`` for the board), so
the cost of the page itself is visible.

    DEBUG=1 .venv/bin/python -m bench.pages            # 25 requests per page (about 2 minutes)
    DEBUG=1 .venv/bin/python -m bench.pages --full     # 300 requests per page
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
from typing import Any

from bench.common import report, setup_django, summary, timed

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tvaerakut_bench_pages"
REFERRALS = 100
NURSES = 25
RESOURCES = 50


def seed() -> dict[str, Any]:
    from decimal import Decimal

    from django.utils import timezone

    from acute import services
    from acute.models import NurseShift
    from consent.services import record_resource_create
    from core.actors import Actor
    from core.models import Citizen, Membership, Organisation, Role, User

    tag = secrets.token_hex(4)
    muni, _ = Organisation.objects.get_or_create(
        municipality_code="157",
        defaults={
            "kind": Organisation.Kind.MUNICIPALITY,
            "name": "Gentofte Kommune",
            "participates": True,
        },
    )
    acute = Organisation.objects.filter(kind=Organisation.Kind.ACUTE_FUNCTION).first()
    if acute is None:
        acute = Organisation.objects.create(
            kind=Organisation.Kind.ACUTE_FUNCTION, name="Bench akutfunktion"
        )
    acute.serves.add(muni)

    def member(role: str, name: str) -> Membership:
        user = User.objects.create(username=f"{name}-{tag}", first_name=name)
        return Membership.objects.create(user=user, organisation=acute, role=role, is_default=True)

    coordinator = member(Role.COORDINATOR, "koordinator")
    coordinator_actor = Actor.for_membership(coordinator)
    now = timezone.now()
    # Earlier runs' referrals stay open on the board: retire them so each run
    # measures exactly REFERRALS open referrals.
    from acute.models import Referral

    Referral.objects.filter(reached_at__isnull=True).update(reached_at=now)
    NurseShift.objects.filter(ends_at__gt=now).update(ends_at=now)
    shifts = []
    for i in range(NURSES):
        nurse = member(Role.ACUTE_NURSE, f"sygeplejerske{i}")
        shifts.append(
            NurseShift.objects.create(
                nurse=nurse.user,
                acute_function=acute,
                kind=NurseShift.Kind.DAY,
                starts_at=now - dt.timedelta(hours=1),
                ends_at=now + dt.timedelta(hours=8),
                skills=["blood_samples"],
                max_load=5,
                base_name="Base",
                base_latitude=55.75,
                base_longitude=12.54,
                latitude=55.70 + (i % 5) * 0.03,
                longitude=12.42 + (i // 5) * 0.04,
                position_at=now,
            )
        )
    start = Citizen.objects.count()

    def citizen(n: int) -> Citizen:
        number = start + n
        cpr = f"0202{40 + number % 50:02d}{number % 10000:04d}"
        while Citizen.objects.filter(cpr=cpr).exists():
            number += 7919
            cpr = f"0202{40 + number % 50:02d}{number % 10000:04d}"
        return Citizen.objects.create(
            cpr=cpr,
            given_name="Bench",
            family_name=f"Borger {n}",
            birth_date=dt.date(1940 + number % 50, 2, 2),
            sex="female",
            address_line="Benchvej 1",
            postal_code="2820",
            city="Gentofte",
            latitude=Decimal("55.75"),
            longitude=Decimal("12.54"),
            municipality=muni,
        )

    def referral(person: Citizen) -> Any:
        created = services.referral_create(
            citizen=person,
            source="gp",
            channel="phone",
            referrer_name="Læge Bench",
            referrer_phone="+4539000000",
            reason="Feber",
            clinical_picture="Temp 39",
            requested_actions="CRP",
            urgency="within_2_hours",
            responsible_physician_name="Læge Bench",
            responsible_physician_phone="+4539000000",
            actor=coordinator_actor,
        )
        return services.referral_accept(referral=created, actor=coordinator_actor)

    for n in range(REFERRALS):
        referral(citizen(n))
    rich = citizen(REFERRALS)
    visit = services.visit_assign(referral=referral(rich), shift=shifts[0], actor=coordinator_actor)
    nurse_membership = Membership.objects.get(user=shifts[0].nurse, organisation=acute)
    nurse_actor = Actor.for_membership(nurse_membership)
    for step in (services.visit_accept, services.visit_set_off, services.visit_arrive):
        visit = step(visit=visit, actor=nurse_actor)
    for i in range(RESOURCES):
        record_resource_create(
            actor=nurse_actor,
            data={
                "resourceType": "Condition",
                "meta": {
                    "tag": [{"system": "urn:tvaerakut:data-category", "code": "somatic-diagnosis"}]
                },
                "code": {
                    "coding": [
                        {"system": "http://hl7.org/fhir/sid/icd-10", "code": f"I{10 + i % 80}"}
                    ]
                },
                "subject": {"reference": f"Patient/{rich.pk}"},
                "recordedDate": f"2025-{1 + i % 12:02d}-01",
            },
            purpose="treatment",
        )
    return {"visit": visit, "nurse": nurse_membership, "coordinator": coordinator}


def client_for(membership: Any) -> Any:
    from django.test import Client

    from core.permissions import session_membership_set

    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(membership.user)
    session = client.session
    session_membership_set(session, membership)
    session.save()
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="300 requests per page")
    args = parser.parse_args()
    repeat = 300 if args.full else 25
    setup_django(DATABASE_URL)

    from acute.selectors import referral_board
    from consent.selectors import patient_everything
    from core.actors import Actor

    data = seed()
    visit, nurse, coordinator = data["visit"], data["nurse"], data["coordinator"]
    nurse_client, board_client = client_for(nurse), client_for(coordinator)
    visit_path = f"/nurse/visits/{visit.pk}/"

    def visit_page() -> None:
        response = nurse_client.get(visit_path)
        assert response.status_code == 200, response.status_code
        assert response.content.count(b"<li><span>") >= RESOURCES

    def visit_baseline() -> None:
        patient_everything(
            actor=Actor.for_membership(nurse), citizen_id=str(visit.citizen_id), purpose="treatment"
        )

    def board_page() -> None:
        response = board_client.get("/coordinator/live/")
        assert response.status_code == 200, response.status_code
        assert response.content.count(b'class="risk-') == REFERRALS

    def board_baseline() -> None:
        referral_board(actor=Actor.for_membership(coordinator))

    for fn in (visit_page, board_page):
        fn()  # warm caches and connections once
    visit_figures = summary(timed(visit_page, repeat))
    board_figures = summary(timed(board_page, repeat))
    figures: dict[str, Any] = {
        "sizes": {"summary_resources": RESOURCES, "open_referrals": REFERRALS, "nurses": NURSES},
        "visit_page": visit_figures,
        "visit_baseline_patient_everything": summary(timed(visit_baseline, repeat)),
        "board_page": board_figures,
        "board_baseline_referral_board": summary(timed(board_baseline, repeat)),
    }
    goals = {
        "visit_page_p95_under_150ms": visit_figures["p95_ms"] < 150,
        "board_page_p95_under_200ms": board_figures["p95_ms"] < 200,
    }
    for name, value in figures.items():
        print(f"{name:40} {value}")
    for goal, met in goals.items():
        print(f"{goal:40} {'met' if met else 'NOT met'}")
    report("pages", figures, goals)


if __name__ == "__main__":
    main()
