"""MedCom's official HospitalNotification test message STIN-A, broken in the
ways a partner's system can break it, sent as the hospital would (signed, to
``/fhir/$process-message``): each gets MedCom's Acknowledgement, fatal-error
with MedCom's issue detail naming the rule (never a server error, never the
platform's own answer), and nothing of it is written — no care relationship
for the hospital, no hold on her referral, no warning, no citizen, no
hand-off."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from acute.models import DeadlineWarning, Episode, Referral
from consent.models import CareRelationship
from core.models import Citizen
from integrations.medcom.validation import validate_message
from integrations.models import OutboundMessage
from tests import factories as f
from tests.integrations.medcom.conftest import EXAMPLE_CPR
from tests.integrations.medcom.peers import ack_parts, example, header_id, post_signed

pytestmark = pytest.mark.django_db

Mutation = Callable[[dict[str, Any]], None]


def _stin_a() -> dict[str, Any]:
    """STIN-A as a new message (new Bundle.id and MessageHeader.id)."""
    message = example("testexamples", "HospitalNotification-Ex-STIN-A")
    text = json.dumps(message).replace(header_id(message), str(uuid.uuid4()))
    again = json.loads(text)
    again["id"] = str(uuid.uuid4())
    return again


def _of(message: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == kind)


def _sender(message: dict[str, Any]) -> dict[str, Any]:
    sender = message["entry"][0]["resource"]["sender"]["reference"].split("/")[1]
    return next(e["resource"] for e in message["entry"] if e["resource"].get("id") == sender)


def _no_patient_identifier(m: dict[str, Any]) -> None:
    _of(m, "Patient").pop("identifier")


def _cpr_too_short(m: dict[str, Any]) -> None:
    _of(m, "Patient")["identifier"][0]["value"] = EXAMPLE_CPR[:8]


def _two_patients(m: dict[str, Any]) -> None:
    second = copy.deepcopy(
        next(e for e in m["entry"] if e["resource"]["resourceType"] == "Patient")
    )
    second["resource"]["id"] = str(uuid.uuid4())
    second["fullUrl"] = f"urn:uuid:{second['resource']['id']}"
    m["entry"].insert(2, second)


def _no_provenance(m: dict[str, Any]) -> None:
    m["entry"] = [e for e in m["entry"] if e["resource"]["resourceType"] != "Provenance"]


def _unknown_activity(m: dict[str, Any]) -> None:
    _of(m, "Provenance")["activity"]["coding"][0]["code"] = "admit-elsewhere"


def _sender_without_sor(m: dict[str, Any]) -> None:
    sender = _sender(m)
    sender["identifier"] = [i for i in sender["identifier"] if "1.2.208.176.1.1" not in i["system"]]


def _encounter_as_observation(m: dict[str, Any]) -> None:
    _of(m, "Encounter")["resourceType"] = "Observation"


def _timestamp_without_zone(m: dict[str, Any]) -> None:
    m["timestamp"] = "2026-03-01T12:00:00"


def _admission_without_zone(m: dict[str, Any]) -> None:
    _of(m, "Encounter")["period"]["start"] = "2026-03-01T12:00:00"


def _admission_on_a_day_no_calendar_has(m: dict[str, Any]) -> None:
    _of(m, "Encounter")["period"]["start"] = "2026-02-30T12:00:00+01:00"


def _duplicate_full_urls(m: dict[str, Any]) -> None:
    for entry in m["entry"]:
        entry["fullUrl"] = "urn:uuid:5f1c1c3e-8d2a-4c55-9a5e-0c2b7f1d9e11"


def _stay_ends_before_it_starts(m: dict[str, Any]) -> None:
    _of(m, "Encounter")["period"]["end"] = "2026-02-01T12:00:00+01:00"


def _death_after_year_9999_in_utc(m: dict[str, Any]) -> None:
    _of(m, "Patient")["deceasedDateTime"] = "9999-12-31T23:59:59-14:00"
    encounter = _of(m, "Encounter")
    encounter["status"] = "finished"
    encounter["period"]["end"] = "2026-03-02T12:00:00+01:00"


def _header(m: dict[str, Any]) -> dict[str, Any]:
    return m["entry"][0]["resource"]


def _absent() -> str:
    """A urn:uuid: reference to no entry of the message."""
    return f"urn:uuid:{uuid.uuid4()}"


def _focus_on_no_entry(m: dict[str, Any]) -> None:
    _header(m)["focus"] = [{"reference": _absent()}]


def _focus_on_an_encounter_not_sent(m: dict[str, Any]) -> None:
    _header(m)["focus"] = [{"reference": f"Encounter/{uuid.uuid4()}"}]


def _subject_on_no_entry(m: dict[str, Any]) -> None:
    # A reference built from her CPR number: the answer names the rule, never it.
    _of(m, "Encounter")["subject"] = {"reference": f"urn:uuid:{EXAMPLE_CPR}"}


def _sender_on_no_entry(m: dict[str, Any]) -> None:
    _header(m)["sender"] = {"reference": _absent()}


def _receiver_on_no_entry(m: dict[str, Any]) -> None:
    _header(m)["destination"][0]["receiver"] = {"reference": _absent()}


def _provenance_target_on_no_entry(m: dict[str, Any]) -> None:
    _of(m, "Provenance")["target"] = [{"reference": _absent()}]


def _provenance_agent_on_no_entry(m: dict[str, Any]) -> None:
    _of(m, "Provenance")["agent"][0]["who"] = {"reference": _absent()}


def _revision_of_no_entry(m: dict[str, Any]) -> None:
    _of(m, "Provenance")["entity"] = [{"role": "revision", "what": {"reference": _absent()}}]


def _patient_full_url_not_a_uuid(m: dict[str, Any]) -> None:
    entry = next(e for e in m["entry"] if e["resource"]["resourceType"] == "Patient")
    entry["fullUrl"] = f"urn:uuid:{EXAMPLE_CPR}"


def _patient_full_url_of_another_id(m: dict[str, Any]) -> None:
    entry = next(e for e in m["entry"] if e["resource"]["resourceType"] == "Patient")
    entry["fullUrl"] = f"https://medcomfhir.dk/ig/hospitalnotification/Patient/{uuid.uuid4()}"


def _encounter_full_url_of_a_version(m: dict[str, Any]) -> None:
    entry = next(e for e in m["entry"] if e["resource"]["resourceType"] == "Encounter")
    entry["fullUrl"] += "/_history/2"


REFUSED: dict[str, tuple[Mutation, str, str]] = {
    "focus on no entry (urn:uuid)": (
        _focus_on_no_entry,
        "MSG_NO_EXIST",
        "focus: aggregation:bundled",
    ),
    "focus on an Encounter not in the message": (
        _focus_on_an_encounter_not_sent,
        "MSG_NO_EXIST",
        "focus: aggregation:bundled",
    ),
    "Encounter.subject on no entry": (_subject_on_no_entry, "MSG_NO_EXIST", "subject: reference"),
    "sender on no entry": (_sender_on_no_entry, "MSG_NO_EXIST", "sender: aggregation:bundled"),
    "receiver on no entry": (
        _receiver_on_no_entry,
        "MSG_NO_EXIST",
        "destination[primary].receiver: aggregation:bundled",
    ),
    "Provenance.target on no entry": (
        _provenance_target_on_no_entry,
        "MSG_NO_EXIST",
        "target: reference",
    ),
    "Provenance.agent on no entry": (
        _provenance_agent_on_no_entry,
        "MSG_NO_EXIST",
        "agent.who: aggregation:bundled",
    ),
    "revision of a urn:uuid: on no entry": (
        _revision_of_no_entry,
        "MSG_NO_EXIST",
        "entity.what: reference",
    ),
    "fullUrl urn:uuid: without a UUID": (
        _patient_full_url_not_a_uuid,
        "MSG_BAD_FORMAT",
        "entry.fullUrl: fullUrl:uuid",
    ),
    "fullUrl of another id": (
        _patient_full_url_of_another_id,
        "MSG_RESOURCE_ID_MISMATCH",
        "entry.fullUrl: fullUrl:id",
    ),
    "fullUrl of a version": (
        _encounter_full_url_of_a_version,
        "MSG_PARAM_INVALID",
        "invariant:bdl-8",
    ),
    "Patient without identifier": (_no_patient_identifier, "MSG_RESOURCE_REQUIRED", "identifier"),
    "CPR number of 8 digits": (_cpr_too_short, "MSG_PARAM_INVALID", "invariant:cpr"),
    "two Patients": (_two_patients, "MSG_PARAM_INVALID", "medcom-hospitalNotification-2"),
    "no Provenance": (_no_provenance, "MSG_PARAM_INVALID", "medcom-messaging-2"),
    "unknown activity": (_unknown_activity, "MSG_VALUESET_VALUE_UNKNOWN", "activity"),
    "sender without SOR": (_sender_without_sor, "MSG_RESOURCE_REQUIRED", "identifier[SOR-ID]"),
    # Its fullUrl (…/Encounter/<id>) and the focus name an Encounter the message lacks.
    "Encounter entry as Observation": (
        _encounter_as_observation,
        "MSG_RESOURCE_TYPE_MISMATCH",
        "entry.fullUrl: fullUrl:type",
    ),
    "timestamp without zone": (_timestamp_without_zone, "MSG_DATE_FORMAT", "timestamp"),
    "admission without zone": (_admission_without_zone, "MSG_DATE_FORMAT", "period.start"),
    "admission on 30 February": (
        _admission_on_a_day_no_calendar_has,
        "MSG_DATE_FORMAT",
        "period.start",
    ),
    "duplicate fullUrls": (_duplicate_full_urls, "MSG_PARAM_INVALID", "invariant:bdl-7"),
    "stay ends before it starts": (
        _stay_ends_before_it_starts,
        "MSG_PARAM_INVALID",
        "period: invariant:per-1",
    ),
    "death outside the years 1 to 9999": (
        _death_after_year_9999_in_utc,
        "MSG_PARAM_INVALID",
        "fhir.date_out_of_range",
    ),
}


def _written() -> tuple[int, ...]:
    return (
        Citizen.objects.count(),
        Referral.objects.exclude(on_hold_since=None).count(),
        Episode.objects.count(),
        OutboundMessage.objects.count(),
        CareRelationship.objects.count(),
        DeadlineWarning.objects.count(),
    )


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_broken_official_test_message_gets_a_fatal_error_naming_the_rule_and_writes_nothing(
    name, hospital, citizen
):
    mutate, details, names = REFUSED[name]
    f.acute_referral(person=citizen, accepted=False)
    message = _stin_a()
    mutate(message)
    before = _written()
    status, body = post_signed(hospital, message)
    code, answering, codes = ack_parts(body)
    assert (status, code, answering) == (400, "fatal-error", header_id(message)), codes
    assert details in codes
    texts = [
        # The rule named: in the text, and its own words in diagnostics (Danish answer).
        f"{issue['details']['text']} {issue.get('diagnostics', '')}"
        for entry in body["entry"]
        if entry["resource"]["resourceType"] == "OperationOutcome"
        for issue in entry["resource"]["issue"]
    ]
    assert any(names in text for text in texts), texts
    assert validate_message(body) == []
    assert EXAMPLE_CPR not in json.dumps(body)
    assert _written() == before
    citizen.refresh_from_db()
    assert citizen.deceased_at is None


@pytest.mark.parametrize(
    "where",
    [
        ("Patient", "name", 0, "family"),
        ("Patient", "text", "div"),
        ("Encounter", "episodeOfCare", 0, "identifier", "value"),
    ],
)
def test_text_of_100_kb_is_received_not_a_server_error(where, hospital, citizen):
    """A partner's system that sends far more text than MedCom foresees (100
    kB in a name, the narrative, an episode identifier) is answered like any
    other message: the admission is received and holds her referral."""
    referral = f.acute_referral(person=citizen, accepted=False)
    message = _stin_a()
    node: Any = _of(message, where[0])
    for step in where[1:-1]:
        node = node[step]
    huge = "x" * 100_000
    node[where[-1]] = (
        f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{huge}</p></div>'
        if where[-1] == "div"
        else huge
    )
    status, body = post_signed(hospital, message)
    assert (status, ack_parts(body)[0]) == (200, "ok")
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"


def test_a_revision_of_a_message_never_received_is_received_and_links_to_nothing(hospital, citizen):
    """MedCom's rules make a revision of a message the platform never received
    (its Provenance.entity names a MessageHeader not in the message, as MedCom
    asks: ``MessageHeader/<id>``) no error: it is received like MedCom's
    official RE_STIN messages sent alone, the stay read from its own
    episode-of-care identifier, and that MessageHeader id is linked to
    nothing the platform keeps."""
    referral = f.acute_referral(person=citizen, accepted=False)
    message = _stin_a()
    unknown = str(uuid.uuid4())
    provenance = _of(message, "Provenance")
    provenance["activity"]["coding"][0]["code"] = "revise-admit-inpatient"
    provenance["entity"] = [{"role": "revision", "what": {"reference": f"MessageHeader/{unknown}"}}]

    status, body = post_signed(hospital, message)

    assert (status, ack_parts(body)[0]) == (200, "ok"), body
    referral.refresh_from_db()
    assert referral.on_hold_reason == "hospital_admission"
    assert not OutboundMessage.objects.filter(message_id=unknown).exists()
    assert unknown not in json.dumps(body)
