"""The look-ups every received message makes, run as prepared statements
(core/sql.py), give what the ORM gives."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.cpr import CPR_SYSTEM
from core.models import Citizen, Organisation
from integrations.auth import partner_in_service
from integrations.inbound import Earlier, _us_and_earlier
from integrations.models import InboundMessage, Partner
from integrations.outbound import acute_function
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


@pytest.mark.postgres  # the one round trip is PostgreSQL's; SQLite reads each the ORM's way
def test_our_organisation_and_an_earlier_message_are_read_as_the_orm_reads_them(hospital):
    """A received message reads our organisation and the partner's earlier
    message with either of its ids together: the same as each read alone."""
    us = acute_function()
    assert us is not None
    ack = {"resourceType": "Bundle", "id": "ack-1", "entry": [{"n": 1}]}
    InboundMessage.objects.create(
        partner=hospital,
        bundle_id="bundle-1",
        header_id="header-1",
        event="hospital-notification",
        outcome=InboundMessage.Outcome.OK,
        http_status=200,
        acknowledgement=ack,
        result={},
    )
    for bundle_id, header_id in (
        ("bundle-1", "header-1"),
        ("bundle-1", "header-2"),
        ("bundle-2", "header-1"),
    ):
        with CaptureQueriesContext(connection) as queries:
            found_us, earlier = _us_and_earlier(hospital, bundle_id, header_id)
        assert len(queries.captured_queries) == 1
        assert found_us is not None
        assert {
            f.attname: getattr(found_us, f.attname) for f in Organisation._meta.concrete_fields
        } == {f.attname: getattr(us, f.attname) for f in Organisation._meta.concrete_fields}
        assert earlier == Earlier("header-1", 200, ack, None)
    assert _us_and_earlier(hospital, "bundle-2", "header-2") == (us, None)
    other = f.integration_partner(Partner.Kind.HOSPITAL, hospital.organisation, code="other")
    assert _us_and_earlier(other, "bundle-1", "header-1") == (us, None)
    Organisation.objects.filter(pk=us.pk).update(is_active=False)
    assert _us_and_earlier(hospital, "bundle-1", "header-1") == (None, None)
