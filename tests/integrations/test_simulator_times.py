"""The simulated partners (``make run`` starts them) write a time as MedCom
partners do: in UTC written ``Z`` (core.times.fhir_instant), never
``+00:00``, in their messages and in their acknowledgements alike."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from integrations.simulators.acks import simulator_ack
from integrations.simulators.messages import (
    helpline_referral,
    hospital_notification,
    shared_record_update,
)

_WITH_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T")
_AS_PARTNERS_WRITE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_PATIENT = {
    "resourceType": "Patient",
    "identifier": [{"system": "urn:oid:1.2.208.176.1.2", "value": "0101700000"}],
}


def _times(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _times(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _times(inner, f"{where}[{i}]")
    elif isinstance(value, str) and _WITH_TIME.match(value):
        yield where, value


def test_every_time_a_simulated_partner_writes_is_utc_with_z() -> None:
    written = {
        "1813": helpline_referral(
            sender_code="1813", patient=_PATIENT, reason="Feber", case_id="C-1"
        ),
        "admitted": hospital_notification(
            sender_code="hospital", patient=_PATIENT, encounter_id="E-1", admitted=True
        ),
        "record": shared_record_update(sender_code="records", patient=_PATIENT, resources=[]),
        "ack": simulator_ack("m-1", "ok", sender="hospital"),
    }
    found = [
        (name, where, value) for name, body in written.items() for where, value in _times(body)
    ]
    assert {where for _, where, _ in found} >= {".timestamp", ".entry[5].resource.recorded"}
    assert any(where.endswith(".period.start") for _, where, _ in found), found
    assert [t for t in found if not _AS_PARTNERS_WRITE.fullmatch(t[2])] == []
