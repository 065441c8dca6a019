"""Shared-record updates from a municipality's care record system (EOJ), over
real HTTP from its simulator."""

from __future__ import annotations

import json

import pytest

from core.fhir.patient import patient_resource
from integrations.simulators import shared_record_update
from tests import factories as f
from tests.integrations.helpers import ack_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_r2_a_psychiatric_diagnosis_from_a_municipal_record_system_is_refused(live_network) -> None:
    citizen = f.citizen()
    sim = live_network.sims["eoj"]
    condition = {
        "resourceType": "Condition",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "F32.1"}]},
    }
    [reply] = sim.send(
        shared_record_update(
            sender_code=sim.code, patient=patient_resource(citizen), resources=[condition]
        )
    )
    code, _, outcome = ack_of(reply)
    assert code == "fatal-error"
    assert "R2" in json.dumps(outcome) or "psychiatric" in json.dumps(outcome).lower()
