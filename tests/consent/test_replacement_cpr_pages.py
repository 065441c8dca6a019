"""The pages that find a citizen by what is typed in a CPR field take a
replacement CPR too (typed without its issuer: found only when exactly one
citizen holds it): the auditor's search (R9) and the insight report's
look-up (R5). The coordinator's phone referral does not: it registers an
unknown caller's citizen by CPR number, and a replacement CPR needs its
issuer, which a caller does not say; such citizens come in electronically
(1813, FHIR) with it. Neither number reaches a URL or a log."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from acute.models import Referral
from consent.audit.models import AuditEntry
from consent.audit.services import Purpose
from core.cpr import X_ECPR_SYSTEM
from core.models import Citizen, Role
from tests import factories
from tests.acute.test_pages import PHONE_REFERRAL

pytestmark = pytest.mark.django_db

ECPR = "0703921VJ4"
D_ECPR = "urn:oid:1.2.208.176.1.6.1.3.177"


def _logged_in(membership) -> Client:
    client = Client()
    assert factories.log_in(client, membership).status_code == 302
    return client


def _known_by_replacement(value: str = ECPR, system: str = X_ECPR_SYSTEM) -> Citizen:
    person = factories.citizen()
    Citizen.objects.filter(pk=person.pk).update(
        cpr=None,
        replacement_cpr=value,
        replacement_cpr_system=system,
        given_name="Birgit",
        family_name="Berggren",
    )
    person.refresh_from_db()
    return person


def test_r9_the_auditor_finds_a_citizen_by_replacement_cpr(caplog: pytest.LogCaptureFixture):
    team = factories.acute_function()
    person = _known_by_replacement()
    client = _logged_in(factories.staff(Role.AUDITOR, team))
    caplog.set_level(logging.DEBUG)

    response = client.post("/audit/", {"cpr": "070392-1vj4"})

    html = response.content.decode()
    assert response.status_code == 200 and "Birgit Berggren" in html
    assert f"/consent/insight/{person.pk}/" in html
    assert ECPR not in caplog.text
    lookups = AuditEntry.objects.filter(purpose=Purpose.AUDIT, citizen_id=person.pk)
    assert lookups.exists()
    assert not [e for e in lookups if ECPR in str(e.detail) or ECPR in e.resource_id]
    assert client.get(f"/audit/?cpr={ECPR}").status_code == 400


def test_a_replacement_cpr_two_issuers_gave_finds_nobody():
    _known_by_replacement("0703920VJ4", D_ECPR)
    _known_by_replacement("0703920VJ4", "urn:oid:1.2.208.176.1.6.1.3.178")
    client = _logged_in(factories.staff(Role.AUDITOR, factories.acute_function()))

    html = client.post("/audit/", {"cpr": "0703920VJ4"}).content.decode()

    assert "Birgit Berggren" not in html
    assert "No citizen matches" in html or "Ingen borger" in html


def test_r5_the_insight_report_is_found_by_replacement_cpr():
    person = _known_by_replacement()
    client = _logged_in(factories.staff(Role.AUDITOR, factories.acute_function()))

    response = client.post("/consent/insight/", {"cpr": ECPR})

    assert response.status_code == 302
    assert response["Location"].endswith(f"/consent/insight/{person.pk}/")
    page = client.get(response["Location"]).content.decode()
    assert "070392-XXXX" in page and ECPR not in page


def test_the_phone_referral_takes_a_cpr_number_only():
    _known_by_replacement()
    client = _logged_in(factories.staff(Role.COORDINATOR, factories.acute_function()))

    response = client.post("/coordinator/referrals/new/", {**PHONE_REFERRAL, "cpr": ECPR})

    assert response.status_code == 400
    assert 'data-code="referral.cpr_invalid"' in response.content.decode()
    assert not Referral.objects.exists()
