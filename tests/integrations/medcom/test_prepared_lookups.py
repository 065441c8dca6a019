"""The look-ups every received message makes, run as prepared statements
(core/sql.py), give what the ORM gives."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.cpr import CPR_SYSTEM
from core.models import Citizen, Organisation
from integrations.auth import partner_in_service
from integrations.patients import citizen_find
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_the_citizen_a_message_names_is_read_whole_with_her_municipality_and_practice(citizen):
    """The prepared look-up of a message's citizen gives what the ORM gives:
    every field, her municipality, and her GP practice or none."""
    patient = {"identifier": [{"system": CPR_SYSTEM, "value": citizen.cpr}]}
    for practice in (None, f.organisation(Organisation.Kind.GP_PRACTICE, name="Lægehuset")):
        Citizen.objects.filter(pk=citizen.pk).update(gp_practice=practice)
        expected = Citizen.objects.select_related("municipality", "gp_practice").get(pk=citizen.pk)
        found = citizen_find(patient)
        assert found is not None
        assert {f.attname: getattr(found, f.attname) for f in Citizen._meta.concrete_fields} == {
            f.attname: getattr(expected, f.attname) for f in Citizen._meta.concrete_fields
        }
        with CaptureQueriesContext(connection) as queries:
            assert found.municipality.name == expected.municipality.name
            assert found.gp_practice == practice
        assert not queries.captured_queries


def test_the_signing_partner_is_found_in_service_only(hospital):
    found = partner_in_service(hospital.code)
    assert found is not None and found.pk == hospital.pk
    with CaptureQueriesContext(connection) as queries:
        assert found.organisation.pk == hospital.organisation.pk
    assert not queries.captured_queries
    Organisation.objects.filter(pk=hospital.organisation_id).update(is_active=False)
    assert partner_in_service(hospital.code) is None
    assert partner_in_service("no-such-partner") is None
