"""Staff of a municipality that has left the acute function (its *takes part*
unticked) are refused every citizen's data at the one gate, by every door —
FHIR, the API and the pages — with ``access.municipality_not_participating``
in Danish, whether or not the citizen exists, and each attempt is on the
audit log as denied (R9). The joint acute function's own staff serve every
participating municipality and are not affected (R1)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from acute.models import Referral
from consent.audit.models import AuditEntry
from core.models import Membership, Organisation, Role
from tests import factories as f
from tests.acute.test_api import REFERRAL
from tests.acute.test_pages import PHONE_REFERRAL
from tests.consent.conftest import World

pytestmark = pytest.mark.django_db

CODE = "access.municipality_not_participating"
DANISH = "deltager ikke længere i akutfunktionen"


def _leaves(code: str) -> Organisation:
    municipality = f.municipality(code)
    municipality.participates = False
    municipality.save(update_fields=["participates"])
    return municipality


def _denied(membership: Membership) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            actor_user_id=membership.user_id,
            outcome="denied",
            reason_code="municipality_not_participating",
        ).order_by("pk")
    )


def _issue(response: Any) -> tuple[str, str]:
    issue = response.json()["issue"][0]
    return issue["details"]["coding"][0]["code"], issue["details"]["text"]


def test_fhir_home_nurse_of_a_municipality_that_left_is_refused_and_audited(world: World):
    client = f.client_for(world.home_nurse)
    assert client.get(f"/fhir/Patient/{world.person.pk}").status_code == 200
    _leaves("157")

    read = client.get(f"/fhir/Patient/{world.person.pk}", HTTP_ACCEPT_LANGUAGE="da")
    assert read.status_code == 403
    code, text = _issue(read)
    assert code == CODE and DANISH in text
    # The same answer for a citizen who does not exist: it is about her, not the citizen.
    unknown = client.get("/fhir/Patient/987654321")
    assert unknown.status_code == 403 and _issue(unknown)[0] == CODE
    conditions = client.get(f"/fhir/Condition?patient={world.person.pk}")
    assert conditions.status_code == 403 and _issue(conditions)[0] == CODE

    entries = _denied(world.home_nurse)
    assert [e.citizen_id for e in entries][:2] == [world.person.pk, None]
    assert len(entries) == 3


def test_the_acute_functions_own_nurse_still_reads_a_citizen_of_a_municipality_that_left(
    world: World,
):
    _leaves("157")
    # Her open visit for the citizen stands until it is finished (R1).
    assert f.client_for(world.nurse).get(f"/fhir/Patient/{world.person.pk}").status_code == 200
    assert not _denied(world.nurse)


def test_api_home_nurse_of_a_municipality_that_left_refers_no_citizen(world: World):
    _leaves("157")
    person = f.citizen(municipality_code="159")  # a citizen of one that still takes part
    response = f.client_for(world.home_nurse).post(
        "/api/acute/referrals",
        {**REFERRAL, "cpr": person.cpr},
        format="json",
        HTTP_ACCEPT_LANGUAGE="da",
    )
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == CODE and DANISH in error["message"]
    assert not Referral.objects.exists()
    assert len(_denied(world.home_nurse)) == 1


def test_page_home_nurse_of_a_municipality_that_left_refers_no_citizen(world: World):
    """Signed in before her municipality left (afterwards she cannot sign in
    in its name at all): her session refers no citizen."""
    person = f.citizen(municipality_code="159")
    client = Client()
    assert f.log_in(client, world.home_nurse).status_code == 302
    _leaves("157")
    response = client.post(
        "/referrals/new/",
        {
            **{k: v for k, v in PHONE_REFERRAL.items() if k not in ("source", "accept")},
            "cpr": person.cpr,
        },
    )
    assert response.status_code == 403
    assert DANISH in response.content.decode()
    assert not Referral.objects.exists()
    assert len(_denied(world.home_nurse)) == 1


def test_a_unit_of_a_municipality_that_left_is_refused_below_its_home_nursing(world: World):
    """A municipal unit is *part of* the municipality, as its home nursing is."""
    unit = f.municipal_unit(Organisation.Kind.MUNICIPAL_ASSESSMENT, "157")
    member = f.staff(Role.HOME_NURSE, unit)
    _leaves("157")
    response = f.client_for(member).get(f"/fhir/Patient/{world.person.pk}")
    assert response.status_code == 403 and _issue(response)[0] == CODE
    assert len(_denied(member)) == 1
