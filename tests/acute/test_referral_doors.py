"""A referral is refused alike on every door it comes through — the referral
API (a GP's physician, the coordinator), ``POST /fhir/ServiceRequest``, the
coordinator's phone form and the short form — with the same code, nothing
written, and the attempt on the audit log as denied (R9)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from acute.models import Referral
from consent.audit.models import AuditEntry
from core.models import Citizen, Organisation, Role
from tests import factories as f
from tests.acute.test_api import REFERRAL, service_request
from tests.acute.test_pages import PHONE_REFERRAL

pytestmark = pytest.mark.django_db

DOORS = ("api", "api_coordinator", "fhir", "phone_form", "short_form")


def _logged_in(membership) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def _fhir_body(fields: dict[str, object]) -> dict[str, object]:
    """The ServiceRequest carrying ``fields`` where FHIR carries them."""
    body = service_request(str(fields["cpr"]))
    if "urgency" in fields:
        body["category"] = [
            {
                "coding": [
                    {
                        "system": "https://tvaerakut.dk/fhir/CodeSystem/urgency",
                        "code": fields["urgency"],
                    }
                ]
            }
        ]
    if "referrer_phone" in fields:
        body["requester"]["extension"][0]["valueContactPoint"]["value"] = fields["referrer_phone"]
    if "required_skills" in fields:
        body["extension"][1]["valueCode"] = fields["required_skills"][0]  # type: ignore[index]
    if "reason" in fields:
        body["reasonCode"] = [{"text": fields["reason"]}]
    return body


def send(door: str, fields: dict[str, object]) -> tuple[int, str]:
    """Send the referral ``fields`` through ``door``: its status and code."""
    calls: dict[str, Callable[[], Any]] = {
        "api": lambda: f.client_for(f.staff(Role.PHYSICIAN, f.gp_practice())).post(
            "/api/acute/referrals", {**REFERRAL, **fields}, format="json"
        ),
        "api_coordinator": lambda: f.client_for(f.staff(Role.COORDINATOR, f.acute_function())).post(
            "/api/acute/referrals", {**REFERRAL, "source": "gp", **fields}, format="json"
        ),
        "fhir": lambda: f.client_for(
            f.staff(Role.PHYSICIAN, f.organisation(Organisation.Kind.HOSPITAL))
        ).post("/fhir/ServiceRequest", _fhir_body(fields), format="json"),
        "phone_form": lambda: _logged_in(f.staff(Role.COORDINATOR, f.acute_function())).post(
            "/coordinator/referrals/new/", {**PHONE_REFERRAL, **fields}
        ),
        "short_form": lambda: _logged_in(f.staff(Role.HOME_NURSE, f.home_nursing("157"))).post(
            "/referrals/new/",
            {
                **{k: v for k, v in PHONE_REFERRAL.items() if k not in ("source", "accept")},
                **fields,
            },
        ),
    }
    response = calls[door]()
    if response["Content-Type"].startswith("text/html"):
        found = re.search(r'data-code="([^"]+)"', response.content.decode())
        return response.status_code, found.group(1) if found else ""
    body = response.json()
    if body.get("resourceType") == "OperationOutcome":
        return response.status_code, body["issue"][0]["details"]["coding"][0]["code"]
    return response.status_code, (body.get("error") or {}).get("code", "")


def _denied(reason_code: str, citizen_id: int | None = None) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            action="create",
            resource_type="ServiceRequest",
            outcome="denied",
            reason_code=reason_code,
            citizen_id=citizen_id,
        )
    )


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(
    "cpr",
    [
        "3102991234",  # 31 February
        "0101901234" + "5",  # eleven digits
        "010190AB12",  # letters
        "0101901AB2",  # a replacement CPR, which these doors do not take
    ],
)
def test_a_cpr_number_that_is_no_cpr_number_is_refused_alike_and_audited(door, cpr):
    f.acute_function()
    status, code = send(door, {"cpr": cpr})
    assert (status, code) == (400, "referral.cpr_invalid")
    assert not Referral.objects.exists()
    assert len(_denied("referral.cpr_invalid")) == 1


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"urgency": "whenever"}, "referral.urgency_unknown"),
        ({"required_skills": ["flying"]}, "referral.skill_unknown"),
        ({"referrer_phone": "ring til mig"}, "referral.phone_invalid"),
        ({"referrer_phone": "1"}, "referral.phone_invalid"),
        ({"reason": "Faldet. " * 600}, "referral.text_too_long"),
    ],
)
def test_a_bad_field_is_refused_with_the_same_code_and_audited(door, fields, code):
    f.acute_function()
    person = f.citizen()
    status, refused = send(door, {"cpr": person.cpr, **fields})
    assert (status, refused) == (400, code)
    assert not Referral.objects.exists()
    assert len(_denied(code, person.pk)) == 1


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(
    "phone", ["1813", "+45 38 68 00 00", "38-68-00-00", "38 68 00 00 lok. 1234", "3868 0000 ext 12"]
)
def test_a_call_back_number_as_people_write_it_is_taken(door, phone):
    f.acute_function()
    person = f.citizen()
    status, code = send(door, {"cpr": person.cpr, "referrer_phone": phone})
    assert status in (201, 302), code
    assert Referral.objects.get(citizen=person).referrer_phone == phone


@pytest.mark.parametrize("door", DOORS)
def test_a_citizen_of_a_municipality_not_served_is_a_denied_attempt(door):
    f.acute_function()
    person = f.citizen(municipality_code="851")
    status, code = send(door, {"cpr": person.cpr})
    assert (status, code) == (412, "referral.municipality_not_served")
    assert not Referral.objects.exists()
    assert len(_denied("municipality_not_served", person.pk)) == 1


@pytest.mark.parametrize("door", DOORS)
def test_a_citizen_registered_dead_is_refused_once_on_her_record(door):
    f.acute_function()
    person = f.citizen()
    Citizen.objects.filter(pk=person.pk).update(deceased_at="2026-01-01T10:00:00Z")
    status, code = send(door, {"cpr": person.cpr})
    assert (status, code) == (412, "referral.citizen_deceased")
    assert not Referral.objects.exists()
    assert len(_denied("citizen_deceased", person.pk)) == 1


@pytest.mark.parametrize("door", DOORS)
def test_a_municipality_joined_by_configuration_is_referred_through_every_door(door):
    """Furesø (190) joins with no code: it takes part and the function serves it."""
    acute = f.acute_function()
    fureso = f.municipality("190")
    fureso.participates = True
    fureso.save(update_fields=["participates"])
    acute.serves.add(fureso)
    person = f.citizen(municipality_code="190")
    status, code = send(door, {"cpr": person.cpr})
    assert status in (201, 302), code
    assert Referral.objects.get(citizen=person).episode.municipality == fureso


@pytest.mark.parametrize("door", DOORS)
def test_a_municipality_that_has_left_sends_no_new_referral_and_it_is_audited(door):
    """Its participation ended (the function may still serve it while its
    open referrals are finished): a new referral is refused at every door."""
    f.acute_function()
    gladsaxe = f.municipality("159")
    gladsaxe.participates = False
    gladsaxe.save(update_fields=["participates"])
    person = f.citizen(municipality_code="159")
    status, code = send(door, {"cpr": person.cpr})
    assert (status, code) == (412, "referral.municipality_not_served")
    assert not Referral.objects.exists()
    assert len(_denied("municipality_not_served", person.pk)) == 1
