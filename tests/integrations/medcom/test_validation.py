"""MedCom's rules, read from the official FSH, checked on MedCom's own example
messages (valid) and on broken variants of them (each refused naming the rule).

The examples are the IGs' Instances written out as FHIR JSON
(``fixtures/*/SOURCES.md`` says which); the rules come from
``integrations/medcom/spec/``. No database is needed: validation is pure.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from core.models import Organisation
from integrations.medcom.envelope import AckCode, Issue, acknowledgement
from integrations.medcom.fsh import load
from integrations.medcom.validation import Violation, validate_message, validator
from tests.factories import gln

FIXTURES = Path(__file__).resolve().parent / "fixtures"
HOSPITAL_NOTIFICATIONS = sorted((FIXTURES / "hospitalnotification").glob("*.json"))
ACKNOWLEDGEMENTS = sorted((FIXTURES / "acknowledgement").glob("*.json"))
# MedCom's official test messages, less TEK_FCC, which breaks MedCom's own rules
# (test_official_test_messages.py shows it refused, naming them).
TEST_MESSAGES = sorted(
    p for p in (FIXTURES / "testexamples").glob("*.json") if not p.stem.endswith("TEK-FCC")
)
STIN = FIXTURES / "hospitalnotification" / "a5e5b880-c087-4055-b9ec-99108695f81d.json"  # admitted
STOR = (
    FIXTURES / "hospitalnotification" / "d3128d9b-cede-4c7f-8904-809eab322d7d.json"
)  # start leave
ACK_FATAL = FIXTURES / "acknowledgement" / "bc9535ef-ed94-4060-a928-7baddec7ee71.json"


def _message(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _resource(bundle: dict[str, Any], kind: str, index: int = 0) -> dict[str, Any]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind][index]


def _rules(violations: list[Violation]) -> set[tuple[str, str, str]]:
    return {(v.profile, v.path, v.rule) for v in violations}


# --- the reader -------------------------------------------------------------------


def test_the_reader_understands_every_rule_of_the_spec():
    definitions = load()
    assert definitions.skipped == []
    provenance = validator().chain("medcom-messaging-provenance")[0]
    assert ("occurredDateTime", 1) in {(c.path, c.min) for c in provenance.cardinalities}
    header = validator().chain("medcom-messaging-messageHeader")[0]
    assert header.slicings["destination"].slices == {"primary": (1, 1), "cc": (0, None)}
    encounter = definitions.structure("MedComHospitalNotificationEncounter")
    assert encounter is not None and encounter.parent == "MedComCoreEncounter"
    assert {"in-progress", "onleave", "finished", "entered-in-error"} == {
        code
        for _, code in definitions.value_set_codes(
            definitions.value_set("medcom-hospitalNotification-encounterStatus")
        )
    }
    assert definitions.invariants["medcom-hospitalNotification-4"].expression.startswith(
        "entry.resource.ofType(Patient)"
    )


def test_profiles_resolve_by_name_id_and_any_canonical_url():
    assert validator().known("MedComCorePatient")
    assert validator().known("medcom-core-patient")
    assert validator().known(
        "http://medcomfhir.dk/fhir/hospitalnotification/StructureDefinition/medcom-hospitalNotification-messageHeader"
    )
    assert not validator().known("http://example.org/StructureDefinition/unknown")


# --- MedCom's own examples are valid ---------------------------------------------


@pytest.mark.parametrize(
    "path",
    HOSPITAL_NOTIFICATIONS + ACKNOWLEDGEMENTS + TEST_MESSAGES,
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)
def test_the_official_examples_keep_every_rule(path):
    assert HOSPITAL_NOTIFICATIONS and ACKNOWLEDGEMENTS and TEST_MESSAGES
    assert validate_message(_message(path)) == []


def test_without_meta_profile_the_event_chooses_the_profiles():
    bundle = _message(STIN)
    for resource in [bundle] + [e["resource"] for e in bundle["entry"]]:
        resource.pop("meta", None)
    assert validate_message(bundle) == []
    _resource(bundle, "Encounter")["status"] = "planned"
    assert ("medcom-hospitalNotification-encounter", "status", "binding") in _rules(
        validate_message(bundle)
    )


# --- broken variants are refused, naming the rule --------------------------------


def _broken(path: Path, change) -> list[Violation]:
    bundle = copy.deepcopy(_message(path))
    change(bundle)
    violations = validate_message(bundle)
    assert violations, "a broken message must not pass"
    return violations


def test_a_message_without_provenance_breaks_medcom_messaging_2():
    def drop(bundle):
        bundle["entry"] = [
            e for e in bundle["entry"] if e["resource"]["resourceType"] != "Provenance"
        ]

    assert ("medcom-messaging-message", "", "invariant:medcom-messaging-2") in _rules(
        _broken(STIN, drop)
    )


def test_a_patient_without_cpr_breaks_hospital_notification_4():
    def ecpr(bundle):
        _resource(bundle, "Patient")["identifier"][0]["system"] = "urn:oid:1.2.208.176.1.6.1.1"

    assert (
        "medcom-hospitalNotification-message",
        "",
        "invariant:medcom-hospitalNotification-4",
    ) in _rules(_broken(STIN, ecpr))


def test_a_malformed_cpr_breaks_the_cpr_invariant_and_is_never_shown():
    def malformed(bundle):
        _resource(bundle, "Patient")["identifier"][0]["value"] = "3213999999"

    violations = _broken(STIN, malformed)
    assert ("dk-core-cpr-identifier", "identifier[cpr].value", "invariant:cpr") in _rules(
        violations
    )
    assert "3213999999" not in json.dumps([v.as_dict() for v in violations])


def test_an_organisation_without_ean_breaks_its_cardinality():
    def no_ean(bundle):
        organisation = _resource(bundle, "Organization")
        organisation["identifier"] = [
            i for i in organisation["identifier"] if "gs1" not in i["system"]
        ]

    rules = _rules(_broken(STIN, no_ean))
    assert ("medcom-messaging-organization", "identifier[EAN-ID]", "cardinality") in rules
    assert ("medcom-messaging-organization", "identifier", "cardinality") in rules


def test_an_organisation_checked_before_is_judged_by_its_content_each_time():
    """The sender's and receiver's organisations are the same in every message
    of a partner: their check is remembered by content, and never lifts or
    lends a violation."""

    def no_ean(bundle):
        organisation = _resource(bundle, "Organization")
        organisation["identifier"] = [
            i for i in organisation["identifier"] if "gs1" not in i["system"]
        ]

    broken_rule = ("medcom-messaging-organization", "identifier[EAN-ID]", "cardinality")
    assert validate_message(_message(STIN)) == []
    for _ in range(2):  # the broken organisation, met the first time and again
        assert broken_rule in _rules(_broken(STIN, no_ean))
        assert validate_message(_message(STIN)) == []
    # The same broken organisation in another kind of message.
    assert broken_rule in _rules(_broken(STOR, no_ean))


def test_a_gln_with_a_wrong_check_digit_breaks_gln_modulus_10():
    def wrong_digit(bundle):
        for identifier in _resource(bundle, "Organization")["identifier"]:
            if "gs1" in identifier["system"]:
                identifier["value"] = identifier["value"][:-1] + str(
                    (int(identifier["value"][-1]) + 1) % 10
                )

    assert (
        "dk-core-gln-identifier",
        "identifier[EAN-ID].value",
        "invariant:gln-modulus-10",
    ) in _rules(_broken(STIN, wrong_digit))


def test_a_short_sor_code_breaks_min_digits_sor():
    def short(bundle):
        _resource(bundle, "Organization")["identifier"][0]["value"] = "12345"

    assert (
        "dk-core-sor-identifier",
        "identifier[SOR-ID].value",
        "invariant:min-digits-sor",
    ) in _rules(_broken(STIN, short))


def test_leave_without_its_start_breaks_hospital_notification_6():
    def no_leave(bundle):
        _resource(bundle, "Encounter").pop("extension")

    assert (
        "medcom-hospitalNotification-encounter",
        "",
        "invariant:medcom-hospitalNotification-6",
    ) in _rules(_broken(STOR, no_leave))


def test_an_unknown_activity_breaks_the_activity_binding():
    # medcom-hospitalNotification-3 says the same, but as MedCom writes it
    # (``entry.ofType(Provenance)``: an entry is never a Provenance) it holds
    # for every message; the binding on Provenance.activity catches it.
    def unknown(bundle):
        _resource(bundle, "Provenance")["activity"]["coding"][0]["code"] = "admit-somewhere"

    violations = _broken(STIN, unknown)
    assert ("medcom-messaging-provenance", "activity", "binding") in _rules(violations)
    assert "admit-somewhere" in [v.found for v in violations]


def test_a_provenance_without_occurred_date_time_breaks_its_cardinality():
    def undated(bundle):
        _resource(bundle, "Provenance").pop("occurredDateTime")

    assert ("medcom-messaging-provenance", "occurredDateTime", "cardinality") in _rules(
        _broken(STIN, undated)
    )


def test_a_carbon_copy_destination_breaks_the_primary_slice_and_hospital_notification_5():
    def carbon_copy(bundle):
        _resource(bundle, "MessageHeader")["destination"][0]["extension"][0]["valueCoding"][
            "code"
        ] = "cc"

    rules = _rules(_broken(STIN, carbon_copy))
    assert ("medcom-messaging-messageHeader", "destination[primary]", "cardinality") in rules
    assert ("medcom-hospitalNotification-messageHeader", "destination[cc]", "cardinality") in rules
    assert (
        "medcom-hospitalNotification-message",
        "",
        "invariant:medcom-hospitalNotification-5",
    ) in rules


def test_a_header_without_focus_breaks_its_cardinality():
    def unfocused(bundle):
        _resource(bundle, "MessageHeader").pop("focus")

    assert ("medcom-hospitalNotification-messageHeader", "focus", "cardinality") in _rules(
        _broken(STIN, unfocused)
    )


def test_a_wrong_event_breaks_the_fixed_event_of_the_profile():
    def wrong_event(bundle):
        _resource(bundle, "MessageHeader")["eventCoding"]["code"] = "care-communication-message"

    violations = _broken(STIN, wrong_event)
    fixed = [v for v in violations if v.rule == "fixed" and v.path == "eventCoding"]
    assert fixed and fixed[0].profile == "medcom-hospitalNotification-messageHeader"
    assert "hospital-notification-message" in fixed[0].expected
    assert fixed[0].found == "care-communication-message"


def test_an_event_medcom_does_not_define_is_named():
    def local(bundle):
        for resource in [bundle] + [e["resource"] for e in bundle["entry"]]:
            resource.pop("meta", None)
        _resource(bundle, "MessageHeader")["eventCoding"] = {
            "system": "urn:example",
            "code": "acute-referral",
        }

    assert ("medcom-messaging-messageHeader", "eventCoding", "binding") in _rules(
        _broken(STIN, local)
    )


def test_a_bundle_without_timestamp_breaks_its_cardinality():
    assert ("medcom-messaging-message", "timestamp", "cardinality") in _rules(
        _broken(STIN, lambda bundle: bundle.pop("timestamp"))
    )


def test_an_acknowledgement_with_an_issue_code_medcom_does_not_list_breaks_the_binding():
    def unknown(bundle):
        _resource(bundle, "OperationOutcome")["issue"][0]["details"]["coding"][0]["code"] = (
            "MSG_SOMETHING"
        )

    assert ("medcom-acknowledgement-operationoutcome", "issue.details.coding", "binding") in _rules(
        _broken(ACK_FATAL, unknown)
    )


@pytest.mark.parametrize(
    "body",
    [
        None,
        "text",
        {"resourceType": "Patient"},
        {"resourceType": "Bundle"},
        {"resourceType": "Bundle", "entry": [{}]},
    ],
)
def test_what_is_not_a_message_is_refused_without_an_error(body):
    violations = validate_message(body)
    assert violations and violations[0].rule == "message"


def test_malformed_elements_are_refused_without_an_error():
    def malformed(bundle):
        header = _resource(bundle, "MessageHeader")
        header["destination"][0]["extension"] = [{"valueString": "no url"}]
        _resource(bundle, "Encounter")["extension"] = [{"valuePeriod": "not a period"}]

    assert ("medcom-messaging-messageHeader", "destination[primary]", "cardinality") in _rules(
        _broken(STIN, malformed)
    )


def test_random_damage_to_the_examples_never_raises():
    """Whatever a sender puts where: the validator answers with violations,
    never with an exception (which would be a 500 instead of a fatal-error)."""
    import random

    rng = random.Random(7)
    junk: list[Any] = [None, 1, "x", [], {}, [1], {"a": 1}, True, -1.5, [{}], [None]]
    junk += [{"coding": 5}, {"url": 3}, {"coding": [{"code": {}}]}]

    def paths(node: Any, at: tuple = ()) -> list[tuple]:
        found = [at]
        children = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else []
        )
        for key, child in children:
            found += paths(child, (*at, key))
        return found

    examples = [_message(p) for p in HOSPITAL_NOTIFICATIONS + ACKNOWLEDGEMENTS]
    refused = 0
    for _ in range(400):
        bundle = copy.deepcopy(rng.choice(examples))
        for _ in range(rng.randint(1, 3)):
            at = rng.choice(paths(bundle)[1:])
            parent = bundle
            for key in at[:-1]:
                parent = parent[key]
            parent[at[-1]] = rng.choice(junk)
        refused += bool(validate_message(bundle))
    assert refused > 200


# --- references between the entries of a message ---------------------------------


def test_the_reader_keeps_the_references_medcoms_profiles_declare_bundled():
    bundled = {
        profile: set(validator().chain(profile)[0].bundled)
        for profile in (
            "medcom-messaging-messageHeader",
            "medcom-hospitalNotification-messageHeader",
            "medcom-messaging-provenance",
            "medcom-core-encounter",
        )
    }
    assert bundled == {
        "medcom-messaging-messageHeader": {
            "sender",
            "destination[primary].receiver",
            "destination[cc].receiver",
        },
        "medcom-hospitalNotification-messageHeader": {"focus"},
        "medcom-messaging-provenance": {"agent.who"},
        "medcom-core-encounter": {"subject", "serviceProvider"},
    }


def _our_fatal_error() -> dict[str, Any]:
    """An Acknowledgement as the platform builds and sends it: urn:uuid:
    fullUrls, references between its entries."""
    us = Organisation(name="Akutfunktionen", sor_code="1234567890123", ean=gln(1))
    them = Organisation(name="Hospitalet", sor_code="1234567890124", ean=gln(2))
    ack = acknowledgement(
        answering=str(uuid.uuid4()),
        code=AckCode.FATAL,
        sender=us,
        receiver=them,
        receiver_endpoint="https://hospital.example/fhir",
        sender_endpoint="https://akut.example/fhir",
        issues=[Issue("MSG_PARAM_INVALID", "Bundle: a rule", code="invariant")],
    )
    assert validate_message(ack) == []
    return ack


def test_a_message_we_send_whose_urn_uuid_reference_names_no_entry_breaks_the_bundle_rule():
    ack = _our_fatal_error()
    ack["entry"][0]["resource"]["response"]["details"] = {"reference": f"urn:uuid:{uuid.uuid4()}"}
    assert ("Bundle", "response.details", "reference") in _rules(validate_message(ack))


def test_a_message_we_send_whose_provenance_agent_is_not_bundled_breaks_the_aggregation():
    ack = _our_fatal_error()
    provenance = _resource(ack, "Provenance", 1)
    provenance["agent"][0]["who"] = {"reference": f"Organization/{uuid.uuid4()}"}
    assert ("medcom-messaging-provenance", "agent.who", "aggregation:bundled") in _rules(
        validate_message(ack)
    )


def test_a_focus_on_an_encounter_the_message_lacks_breaks_the_aggregation():
    def elsewhere(bundle):
        bundle["entry"][0]["resource"]["focus"] = [{"reference": f"Encounter/{uuid.uuid4()}"}]

    assert (
        "medcom-hospitalNotification-messageHeader",
        "focus",
        "aggregation:bundled",
    ) in _rules(_broken(STIN, elsewhere))


def test_a_provenance_naming_a_previous_message_not_in_the_bundle_keeps_every_rule():
    """MedCom's form for the message answered (``MessageHeader/<id>``) names
    a message outside this one: no rule is broken."""
    bundle = _message(STIN)
    _resource(bundle, "Provenance")["entity"] = [
        {"role": "revision", "what": {"reference": f"MessageHeader/{uuid.uuid4()}"}}
    ]
    assert validate_message(bundle) == []


@pytest.mark.parametrize(
    ("full_url", "rule"),
    [
        ("urn:uuid:not-a-uuid", "fullUrl:uuid"),
        ("urn:uuid:5F1C1C3E-8D2A-4C55-9A5E-0C2B7F1D9E11", "fullUrl:uuid"),
        ("https://medcomfhir.dk/ig/hospitalnotification/Patient/other", "fullUrl:id"),
        ("https://medcomfhir.dk/ig/hospitalnotification/Person/{id}", "fullUrl:type"),
        (
            "https://medcomfhir.dk/ig/hospitalnotification/Patient/{id}/_history/1",
            "invariant:bdl-8",
        ),
    ],
)
def test_a_full_url_breaking_fhirs_rules_is_named(full_url, rule):
    def change(bundle):
        entry = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
        entry["fullUrl"] = full_url.format(id=entry["resource"]["id"])

    assert ("Bundle", "entry.fullUrl", rule) in _rules(_broken(STIN, change))


def test_each_organisation_is_counted_by_its_own_elements_with_the_count_found():
    # The rules of a profile are made ready once; each resource is counted
    # anew: the sender with two EAN identifiers breaks identifier[EAN-ID]
    # 0..1 (2 found), the receiver with its one keeps it.
    def two_eans(bundle):
        sender = _resource(bundle, "Organization")
        ean = next(i for i in sender["identifier"] if "gs1" in i["system"])
        sender["identifier"].append(copy.deepcopy(ean))

    found = [
        (v.location, v.expected, v.found)
        for v in _broken(STIN, two_eans)
        if (v.profile, v.path, v.rule)
        == ("dk-core-organization", "identifier[EAN-ID]", "cardinality")
    ]
    bundle = _message(STIN)
    sender = _resource(bundle, "Organization")
    assert found == [(f"Organization/{sender['id']}", "0..1", "2")]
    assert validate_message(_message(STIN)) == []
