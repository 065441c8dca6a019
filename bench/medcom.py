"""MedCom HospitalNotifications received: validated against MedCom's rules and
processed (R12 hold and resume), in one process, side by side with the same
messages with validation off.

    DEBUG=1 .venv/bin/python -m bench.medcom [--messages N]

- validation alone: ``validate_message`` of MedCom's own admission example;
- received: ``message_receive`` of alternating admissions and discharges
  (MedCom's examples with new ids) for a citizen with a referral, as the
  platform receives them after the signature check: parse, de-duplicate,
  validate, process, acknowledge, audit (goal: p95 under 50 ms);
- throughput of the same, one process, with validation on and off (goal:
  300 messages per second on this 2-core machine).
"""

from __future__ import annotations

import argparse
import copy
import json
import time
import uuid
from typing import Any

from bench.common import ROOT, report, setup_django, summary

FIXTURES = ROOT / "tests" / "integrations" / "medcom" / "fixtures" / "hospitalnotification"
ADMIT = "a5e5b880-c087-4055-b9ec-99108695f81d"
DISCHARGE = "f4aa42a4-86db-4e68-9b38-9dda0dfd5774"
CPR = "2509479989"


def _fresh(template: dict[str, Any]) -> bytes:
    """The example with a new Bundle.id and MessageHeader.id (its own
    Provenance follows the header)."""
    message = copy.deepcopy(template)
    old = message["entry"][0]["resource"]["id"]
    new = str(uuid.uuid4())
    message["id"] = str(uuid.uuid4())
    message["entry"][0]["resource"]["id"] = new
    for entry in message["entry"]:
        for target in entry["resource"].get("target", []):
            if target.get("reference") == f"MessageHeader/{old}":
                target["reference"] = f"MessageHeader/{new}"
    return json.dumps(message).encode()


def _setup() -> Any:
    from acute.services import referral_accept, referral_create
    from core.actors import Actor
    from core.models import Citizen, Membership, Organisation, Role
    from integrations.models import Partner

    acute, _ = Organisation.objects.get_or_create(
        kind=Organisation.Kind.ACUTE_FUNCTION,
        defaults={"name": "Tværkommunal Akutfunktion"},
    )
    Organisation.objects.filter(pk=acute.pk).update(sor_code="953741000016009", ean="5790001348120")
    hospital, _ = Organisation.objects.get_or_create(
        sor_code="265161000016000",
        defaults={
            "kind": Organisation.Kind.HOSPITAL,
            "name": "Bench Hospital",
            "ean": "5790000209354",
        },
    )
    partner, _ = Partner.objects.get_or_create(
        code="bench-medcom-hospital",
        defaults={"kind": Partner.Kind.HOSPITAL, "organisation": hospital, "secret": "bench"},
    )
    municipality, _ = Organisation.objects.get_or_create(
        municipality_code="157",
        defaults={"kind": Organisation.Kind.MUNICIPALITY, "name": "Gentofte Kommune"},
    )
    citizen, _ = Citizen.objects.get_or_create(
        cpr=CPR,
        defaults={
            "given_name": "Bruno",
            "family_name": "Elmer",
            "birth_date": "1947-09-25",
            "sex": "male",
            "address_line": "Testvej 1",
            "postal_code": "2820",
            "city": "Gentofte",
            "latitude": "55.75",
            "longitude": "12.55",
            "municipality": municipality,
        },
    )
    coordinator = Membership.objects.filter(organisation=acute, role=Role.COORDINATOR).first()
    if coordinator is not None:
        actor = Actor.for_membership(coordinator)
        referral = referral_create(
            citizen=citizen,
            source="gp",
            channel="phone",
            referrer_name="Læge Hansen",
            referrer_phone="+4539000000",
            reason="Feber",
            clinical_picture="Temp 39",
            requested_actions="Vurdering",
            urgency="within_shift",
            responsible_physician_name="Læge Hansen",
            responsible_physician_phone="+4539000000",
            actor=actor,
        )
        referral_accept(referral=referral, actor=actor)
    return partner


def _receive_all(partner: Any, bodies: list[bytes]) -> tuple[list[float], float]:
    from integrations.inbound import message_receive

    samples = []
    started = time.perf_counter()
    for body in bodies:
        t0 = time.perf_counter()
        answer = message_receive(partner=partner, raw=body)
        samples.append((time.perf_counter() - t0) * 1000)
        if answer.status != 200:
            raise SystemExit(f"a message was refused: {answer.body}")
    return samples, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    setup_django()
    import integrations.inbound as inbound
    from integrations.medcom.validation import validate_message

    admit = json.loads((FIXTURES / f"{ADMIT}.json").read_text(encoding="utf-8"))
    discharge = json.loads((FIXTURES / f"{DISCHARGE}.json").read_text(encoding="utf-8"))
    validate_message(admit)  # the rules are read once, at the first message
    validation = []
    for _ in range(200):
        t0 = time.perf_counter()
        assert validate_message(admit) == []
        validation.append((time.perf_counter() - t0) * 1000)

    partner = _setup()
    count = args.messages - args.messages % 2
    bodies = [_fresh(admit if i % 2 == 0 else discharge) for i in range(count)]
    received, seconds_on = _receive_all(partner, bodies)

    real_validate = inbound.validate_message
    inbound.validate_message = lambda data: []  # type: ignore[assignment]
    try:
        bodies_off = [_fresh(admit if i % 2 == 0 else discharge) for i in range(count)]
        received_off, seconds_off = _receive_all(partner, bodies_off)
    finally:
        inbound.validate_message = real_validate

    figures = {
        "validation_only": summary(validation),
        "received_validation_on": summary(received),
        "received_validation_off": summary(received_off),
        "throughput_validation_on_per_s": round(count / seconds_on, 1),
        "throughput_validation_off_per_s": round(count / seconds_off, 1),
        "processes": 1,
    }
    goals = {
        "HospitalNotification validated and processed: p95 < 50 ms": figures[
            "received_validation_on"
        ]["p95_ms"]
        < 50,
        ">= 300 messages/s with validation on (one process)": figures[
            "throughput_validation_on_per_s"
        ]
        >= 300,
    }
    report("medcom", figures, goals)


if __name__ == "__main__":
    main()
