"""R4: a Consent is recorded exactly as the citizen gave it, or refused.
FHIR can narrow a provision in ways the directive does not hold — nested
exceptions, resource classes, codes, named data, narrower actions — and a
Consent can be a draft or a rejected one. Stored as a plain directive, a
permit narrowed that way would lift a refusal for everything ("the hospital
may see my care plan" read as "the hospital may see all"), so each is refused
with its own code and nothing is recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from consent.audit.models import AuditEntry
from consent.models import ConsentDirective
from core.times import fhir_instant
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, post

ACTION = "http://terminology.hl7.org/CodeSystem/consentaction"


def _error(response: Any) -> tuple[int, str, list[str]]:
    issue = response.json()["issue"][0]
    return (
        response.status_code,
        issue["details"]["coding"][0]["code"],
        issue.get("expression", []),
    )


NARROWED = [
    # A refusal with an exception, and a consent with one: FHIR's nested provisions.
    ("provision", [{"type": "permit"}], "provision.provision"),
    ("class", [{"system": "http://hl7.org/fhir/resource-types", "code": "CarePlan"}], None),
    ("code", [{"coding": [{"system": bodies.ICD10, "code": "I10"}]}], None),
    ("data", [{"meaning": "instance", "reference": {"reference": "CarePlan/1"}}], None),
    (
        "securityLabel",
        [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}],
        None,
    ),
    ("action", [{"coding": [{"system": ACTION, "code": "collect"}]}], "provision.action[0]"),
]


@pytest.mark.parametrize("kind", ["permit", "deny"])
@pytest.mark.parametrize(("element", "value", "expression"), NARROWED)
def test_r4_a_provision_narrowed_beyond_what_a_directive_holds_is_refused(
    world: World, kind: str, element: str, value: Any, expression: str | None
) -> None:
    body = bodies.refusal(world.person.pk, organisations=[world.department.pk], kind=kind)
    body["provision"][element] = value
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert _error(response) == (
        400,
        "consent.provision_unsupported",
        [expression or f"provision.{element}"],
    )
    assert not ConsentDirective.objects.exists()
    # The refused attempt is on the citizen's log, as R2's refusals are (R9).
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk, outcome="denied").latest("id")
    assert (entry.action, entry.resource_type, entry.reason_code) == (
        "create",
        "Consent",
        "consent.provision_unsupported",
    )


@pytest.mark.parametrize("status", ["draft", "proposed", "rejected", "inactive"])
def test_r4_only_a_consent_in_force_is_recorded(world: World, status: str) -> None:
    body = {**bodies.refusal(world.person.pk), "status": status}
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert _error(response) == (400, "consent.status_not_active", ["status"])
    assert not ConsentDirective.objects.exists()


def test_r4_the_actions_a_directive_covers_are_still_taken(world: World) -> None:
    body = bodies.refusal(world.person.pk, organisations=[world.department.pk])
    body["provision"]["action"] = [
        {"coding": [{"system": ACTION, "code": "access"}, {"system": ACTION, "code": "disclose"}]}
    ]
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert response.status_code == 201, response.content
    assert ConsentDirective.objects.get().provision == "deny"


def test_r9_a_consent_naming_an_unknown_recipient_is_refused_and_recorded(world: World) -> None:
    body = bodies.refusal(world.person.pk, organisations=[987654])
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert _error(response)[:2] == (400, "consent.organisation_unknown")
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk).latest("id")
    assert (entry.outcome, entry.reason_code) == ("denied", "consent.organisation_unknown")
    unknown = post(f.client_for(world.nurse), "/fhir/Consent", {**body, "status": "draft"})
    assert _error(unknown)[:2] == (400, "consent.status_not_active")
    assert not ConsentDirective.objects.exists()


def test_r4_a_provision_of_no_known_type_names_the_element(world: World) -> None:
    body = bodies.refusal(world.person.pk, kind="maybe")
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    # FHIR's required binding (deny | permit), refused as every code outside
    # its value set is, on every FHIR write.
    assert _error(response) == (400, "fhir.code_outside_value_set", ["Consent.provision.type"])
    assert "deny, permit" in response.json()["issue"][0]["details"]["text"]


ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


@pytest.mark.parametrize(
    ("kind", "rule", "code"),
    [
        # A consent that says it opts out, and a refusal that says it opts in:
        # recorded by the type alone, either turns the citizen's word around.
        ("permit", {"system": ACT_CODE, "code": "OPTOUT"}, "consent.policy_rule_conflict"),
        ("deny", {"system": ACT_CODE, "code": "OPTIN"}, "consent.policy_rule_conflict"),
        ("deny", {"system": "urn:example:policy", "code": "OPTOUT"}, "consent.policy_rule_unknown"),
        ("deny", {"system": ACT_CODE, "code": "OPTOUTE"}, "consent.policy_rule_unknown"),
        ("deny", {"code": "OPTOUT"}, "consent.policy_rule_unknown"),
    ],
)
def test_r4_a_policy_rule_we_do_not_know_or_that_contradicts_the_provision_is_refused(
    world: World, kind: str, rule: dict[str, str], code: str
) -> None:
    body = bodies.refusal(world.person.pk, kind=kind)
    body["policyRule"] = {"coding": [rule]}
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert _error(response) == (400, code, ["policyRule.coding[0]"])
    assert not ConsentDirective.objects.exists()
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk, outcome="denied").latest("id")
    assert (entry.resource_type, entry.reason_code) == ("Consent", code)


def test_r4_a_policy_rule_without_a_provision_type_is_a_refusal_only_if_it_opts_out(
    world: World,
) -> None:
    body = bodies.refusal(world.person.pk)
    del body["provision"]  # FHIR has no empty element (ele-1): no provision, no type
    body["policyRule"] = {"coding": [{"system": ACT_CODE, "code": "OPTIN"}]}
    client = f.client_for(world.nurse)
    refused = post(client, "/fhir/Consent", body)
    assert _error(refused)[:2] == (400, "consent.policy_rule_conflict")
    assert not ConsentDirective.objects.exists()
    body["policyRule"] = {"coding": [{"system": ACT_CODE, "code": "OPTOUT"}]}
    assert post(client, "/fhir/Consent", body).status_code == 201
    assert ConsentDirective.objects.get().provision == "deny"


def test_r4_a_consent_read_is_recorded_again_as_it_reads(world: World) -> None:
    client = f.client_for(world.nurse)
    for kind in ("deny", "permit"):
        created = post(client, "/fhir/Consent", bodies.refusal(world.person.pk, kind=kind))
        again = created.json()
        del again["id"]
        resent = post(client, "/fhir/Consent", again)
        assert resent.status_code == 201, resent.content
        assert resent.json()["policyRule"] == created.json()["policyRule"]


@pytest.mark.parametrize(
    "coding",
    [
        {"system": "urn:example:purposes", "code": "TREAT"},
        {"code": "TREAT"},
        {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "treat"},
    ],
)
def test_r4_a_purpose_is_a_purpose_of_use_only_in_hl7s_system(
    world: World, coding: dict[str, str]
) -> None:
    body = bodies.refusal(world.person.pk, purposes=["HOPERAT"])
    body["provision"]["purpose"].append(coding)
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert _error(response) == (400, "consent.purpose_unknown", ["provision.purpose[1]"])
    assert not ConsentDirective.objects.exists()


def _withdraw(client: Any, directive_id: str, how: str | None) -> Any:
    body: dict[str, Any] = {"resourceType": "Parameters"}
    if how:  # FHIR JSON leaves out a list with no item
        body["parameter"] = [{"name": "how", "valueCode": how}]
    return post(client, f"/fhir/Consent/{directive_id}/$withdraw", body)


def test_r9_a_refused_withdrawal_is_recorded_on_the_citizens_log(world: World) -> None:
    client = f.client_for(world.nurse)
    directive_id = post(client, "/fhir/Consent", bodies.refusal(world.person.pk)).json()["id"]

    def refused_entries() -> list[tuple[str, str, str, str]]:
        return list(
            AuditEntry.objects.filter(citizen_id=world.person.pk, outcome="denied")
            .order_by("id")
            .values_list("action", "resource_type", "resource_id", "reason_code")
        )

    assert _error(_withdraw(client, directive_id, None))[:2] == (
        400,
        "consent.given_how_required",
    )
    assert _error(_withdraw(client, directive_id, "nodded"))[:2] == (
        400,
        "consent.given_how_required",
    )
    assert _withdraw(client, directive_id, "oral").status_code == 200
    assert _error(_withdraw(client, directive_id, "written"))[:2] == (
        409,
        "consent.already_withdrawn",
    )
    assert refused_entries() == [
        ("update", "Consent", directive_id, "consent.given_how_required"),
        ("update", "Consent", directive_id, "consent.given_how_required"),
        ("update", "Consent", directive_id, "consent.already_withdrawn"),
    ]


@pytest.mark.parametrize(
    "period",
    [
        {"start": "2020-01-01", "end": "2021-01-01"},
        {"start": "2024-01-01T08:00:00+01:00", "end": "2024-01-01T10:00:00+01:00"},
    ],
)
@pytest.mark.parametrize("kind", ["deny", "permit"])
def test_r4_r5_a_directive_for_a_period_already_over_is_refused_not_shown_as_in_force(
    world: World, period: dict[str, str], kind: str
) -> None:
    """A refusal rules from when it is recorded: one for a period already
    over could never be in force, yet the insight report would show the
    citizen a refusal "from 2020 to 2021" over the very accesses it never
    stopped. Refused naming the end, as one without a start is; nothing
    recorded, the attempt audited."""
    body = bodies.refusal(world.person.pk, period=period, kind=kind)
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert _error(response) == (400, "consent.period_invalid", ["provision.period.end"])
    assert "allerede slut" in response.json()["issue"][0]["details"]["text"]
    assert not ConsentDirective.objects.exists()
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk, outcome="denied").latest("id")
    assert (entry.action, entry.reason_code) == ("create", "consent.period_invalid")
    # The nurse with her visit still reads, as before.
    assert f.client_for(world.nurse).get(f"/fhir/Patient/{world.person.pk}").status_code == 200


@pytest.mark.parametrize("end", ["2024-01-01", "2024-01-01T10:00:00+01:00"])
def test_r4_a_directive_without_a_start_whose_end_has_passed_is_refused_naming_the_end(
    world: World, end: str
) -> None:
    body = bodies.refusal(world.person.pk, period={"end": end})
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert _error(response) == (400, "consent.period_invalid", ["provision.period.end"])
    assert "registreres" in response.json()["issue"][0]["details"]["text"]
    assert not ConsentDirective.objects.exists()
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk, outcome="denied").latest("id")
    assert (entry.action, entry.resource_type, entry.reason_code) == (
        "create",
        "Consent",
        "consent.period_invalid",
    )


@pytest.mark.parametrize("kind", ["deny", "permit"])
def test_r4_r5_a_directive_whose_start_has_passed_is_in_force_from_when_it_is_recorded(
    world: World, kind: str
) -> None:
    """A start already past (last year, or today as a bare date) cannot reach
    back over what was disclosed before it was recorded: the directive is in
    force from the moment it is recorded, and the insight report shows it so,
    not as a refusal "from 2020" over accesses it never stopped."""
    end = (timezone.now() + dt.timedelta(days=30)).isoformat()
    body = bodies.refusal(world.person.pk, period={"start": "2020-01-01", "end": end}, kind=kind)
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert response.status_code == 201, response.content
    directive = ConsentDirective.objects.get()
    assert directive.period_start == directive.recorded_at
    assert response.json()["provision"]["period"]["start"] == fhir_instant(directive.recorded_at)
    insight = f.client_for(world.auditor).get(f"/fhir/Patient/{world.person.pk}/$insight")
    (shown,) = [
        e["resource"] for e in insight.json()["entry"] if e["resource"]["resourceType"] == "Consent"
    ]
    assert not shown["provision"]["period"]["start"].startswith("2020")
    client = Client()
    assert f.log_in(client, world.auditor).status_code == 302
    page = client.get(f"/consent/insight/{world.person.pk}/").content.decode()
    consents = page[page.index('id="consents"') : page.index('id="glass"')]
    assert "2020" not in consents
    # A refusal is in force at once; the nurse with her visit is refused.
    refused = f.client_for(world.nurse).get(f"/fhir/Patient/{world.person.pk}").status_code
    assert refused == (404 if kind == "deny" else 200)


def test_r4_a_directive_starting_later_keeps_its_start(world: World) -> None:
    start = timezone.now() + dt.timedelta(days=3)
    body = bodies.refusal(world.person.pk, period={"start": start.isoformat()})
    assert post(f.client_for(world.nurse), "/fhir/Consent", body).status_code == 201
    assert ConsentDirective.objects.get().period_start == start
    assert f.client_for(world.nurse).get(f"/fhir/Patient/{world.person.pk}").status_code == 200


CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"


@pytest.mark.parametrize(
    ("element", "value", "code", "expression"),
    [
        # A consent to treatment or research, or an advance directive, is not
        # the citizen's say over her shared record: recorded as one, its
        # permit would lift her refusals.
        (
            "scope",
            {"coding": [{"system": CONSENT_SCOPE, "code": "research"}]},
            "consent.scope_unsupported",
            "scope",
        ),
        (
            "scope",
            {"coding": [{"system": CONSENT_SCOPE, "code": "treatment"}]},
            "consent.scope_unsupported",
            "scope",
        ),
        ("scope", {"text": "privacy"}, "consent.scope_unsupported", "scope"),
        (
            "scope",
            {"coding": [{"system": "urn:example:scope", "code": "patient-privacy"}]},
            "consent.scope_unsupported",
            "scope",
        ),
        (
            "category",
            [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/consentcategorycodes",
                            "code": "dnr",
                        }
                    ]
                }
            ],
            "consent.category_unsupported",
            "category[0]",
        ),
        (
            "category",
            [
                {"coding": [{"system": "http://loinc.org", "code": "59284-0"}]},
                {"coding": [{"system": "urn:example:category", "code": "x"}]},
            ],
            "consent.category_unsupported",
            "category[1]",
        ),
        ("category", [{"text": "samtykke"}], "consent.category_unsupported", "category[0]"),
    ],
)
@pytest.mark.parametrize("kind", ["permit", "deny"])
def test_r4_a_consent_of_another_kind_than_privacy_is_refused(
    world: World, kind: str, element: str, value: Any, code: str, expression: str
) -> None:
    body = bodies.refusal(world.person.pk, organisations=[world.department.pk], kind=kind)
    body[element] = value
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert _error(response) == (400, code, [expression])
    assert not ConsentDirective.objects.exists()
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk, outcome="denied").latest("id")
    assert (entry.action, entry.resource_type, entry.reason_code) == ("create", "Consent", code)


def test_r4_a_privacy_consent_in_its_own_system_or_by_release_of_information_is_taken(
    world: World,
) -> None:
    body = bodies.refusal(world.person.pk)
    body["scope"] = {"coding": [{"system": CONSENT_SCOPE, "code": "patient-privacy"}]}
    body["category"] = [{"coding": [{"system": "http://loinc.org", "code": "64292-6"}]}]
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert response.status_code == 201, response.content


SUB_UNITS = "urn:tvaerakut:fhir:consent-include-sub-units"
GIVEN_HOW = "urn:tvaerakut:fhir:consent-given-how"


@pytest.mark.parametrize(
    ("extensions", "code"),
    [
        # "no" as text is not false: read as the default, the consent would
        # reach the department's sub-units the citizen left out.
        ([{"url": SUB_UNITS, "valueString": "no"}], "consent.sub_units_invalid"),
        (
            [{"url": SUB_UNITS, "valueBoolean": False}, {"url": SUB_UNITS, "valueBoolean": True}],
            "consent.sub_units_invalid",
        ),
        ([{"url": GIVEN_HOW, "valueCode": "written"}], "consent.given_how_required"),
    ],
)
def test_r4_an_extension_given_twice_or_as_the_wrong_kind_is_refused_not_guessed(
    world: World, extensions: list[dict[str, Any]], code: str
) -> None:
    body = bodies.refusal(world.person.pk, organisations=[world.department.pk], kind="permit")
    body["extension"] = [*body["extension"], *extensions]
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert _error(response) == (400, code, ["extension"])
    assert not ConsentDirective.objects.exists()


def test_r4_a_withdrawal_saying_how_twice_is_refused_and_recorded(world: World) -> None:
    client = f.client_for(world.nurse)
    directive_id = post(client, "/fhir/Consent", bodies.refusal(world.person.pk)).json()["id"]
    response = post(
        client,
        f"/fhir/Consent/{directive_id}/$withdraw",
        {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "how", "valueCode": "written"},
                {"name": "how", "valueCode": "oral"},
            ],
        },
    )
    assert _error(response)[:2] == (400, "consent.given_how_required")
    assert not ConsentDirective.objects.filter(withdrawal__isnull=False).exists()
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk, outcome="denied").latest("id")
    assert (entry.action, entry.reason_code) == ("update", "consent.given_how_required")


@pytest.mark.parametrize("code", ["ETREAT", "HSYSADMIN"])
@pytest.mark.parametrize("kind", ["permit", "deny"])
def test_r4_a_directive_of_a_purpose_the_gate_never_asks_it_about_is_refused(
    world: World, kind: str, code: str
) -> None:
    """Break-the-glass overrides every refusal (R4) and the auditor makes the
    insight report whatever was said (R5): a refusal of emergency access or
    of the audit would stand in the citizen's report and refuse nothing."""
    body = bodies.refusal(world.person.pk, purposes=["TREAT", code], kind=kind)
    response = post(f.client_for(world.nurse), "/fhir/Consent", body)
    assert _error(response) == (400, "consent.purpose_not_directed", ["provision.purpose[1]"])
    assert not ConsentDirective.objects.exists()


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"name": "reason", "valueString": "Borgeren har ombestemt sig"}, "reason"),
        ({"name": "date", "valueDateTime": "2026-01-01T10:00:00+01:00"}, "date"),
        # A name shaped like a CPR number is never echoed.
        ({"name": "0101801234", "valueString": "x"}, "…"),
    ],
)
def test_r4_a_withdrawal_with_a_parameter_it_does_not_take_is_refused_and_recorded(
    world: World, extra: dict[str, Any], named: str
) -> None:
    """``$withdraw`` takes ``how`` alone: a reason or a date sent beside it
    would have been dropped unread while the caller took it as kept."""
    client = f.client_for(world.nurse)
    directive_id = post(client, "/fhir/Consent", bodies.refusal(world.person.pk)).json()["id"]
    response = post(
        client,
        f"/fhir/Consent/{directive_id}/$withdraw",
        {"resourceType": "Parameters", "parameter": [{"name": "how", "valueCode": "oral"}, extra]},
        HTTP_ACCEPT_LANGUAGE="da",
    )
    assert _error(response) == (400, "operation.parameter_unknown", [named])
    text = response.json()["issue"][0]["details"]["text"]
    assert text == f"$withdraw tager ikke parameteren {named}; den tager kun how."
    assert "0101801234" not in response.content.decode()
    assert not ConsentDirective.objects.filter(withdrawal__isnull=False).exists()
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk, outcome="denied").latest("id")
    assert (entry.action, entry.resource_id, entry.reason_code) == (
        "update",
        directive_id,
        "operation.parameter_unknown",
    )
