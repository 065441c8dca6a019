"""The same referral sent twice at once, with real concurrent transactions on
PostgreSQL: both answers are the first referral, as a resend sent later is
(and as a duplicate 1813 message gets the first acknowledgement). The same
id for another citizen is refused as reused, and no answer names a
database constraint."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils.translation import gettext

from acute.models import Episode, Referral
from consent.audit.models import AuditEntry
from core.errors import InvalidInput
from core.models import Organisation, Role
from core.validation import full_clean_or_raise
from tests import factories as f
from tests.acute.test_api import REFERRAL, service_request

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 4


@pytest.fixture(autouse=True)
def acute_function():
    """The joint acute function serving the citizens' municipality."""
    return f.acute_function()


def at_once(*posts):
    """Each post in its own thread and database connection, released together."""
    barrier = threading.Barrier(len(posts))
    answers: list[object] = [None] * len(posts)

    def run(index, post):
        try:
            barrier.wait(timeout=10)
            answers[index] = post()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, p)) for i, p in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def _no_constraint_named(response) -> None:
    assert b"acute_referral" not in response.content
    assert b"constraint" not in response.content.lower()


def test_the_same_gp_referral_posted_twice_at_once_answers_both_with_the_first():
    gp = f.gp_practice()
    physician = f.staff(Role.PHYSICIAN, gp)
    for attempt in range(ROUNDS):
        person = f.citizen(gp=gp)
        body = {**REFERRAL, "cpr": person.cpr, "external_id": f"EPJ-{attempt}"}
        clients = [f.client_for(physician), f.client_for(physician)]
        answers = at_once(
            *(lambda c=c, b=body: c.post("/api/acute/referrals", b, format="json") for c in clients)
        )
        for answer in answers:
            _no_constraint_named(answer)
        assert [a.status_code for a in answers] == [201, 201], [a.content for a in answers]
        first, second = (a.json() for a in answers)
        assert first == second
        referral = Referral.objects.get(source_organisation=gp, external_id=f"EPJ-{attempt}")
        assert first["id"] == referral.pk
        assert Referral.objects.filter(citizen=person).count() == 1
        assert Episode.objects.filter(citizen=person).count() == 1


def test_the_same_service_request_posted_twice_at_once_answers_both_with_the_first():
    hospital = f.organisation(Organisation.Kind.HOSPITAL, "Herlev og Gentofte Hospital")
    physician = f.staff(Role.PHYSICIAN, hospital)
    for attempt in range(ROUNDS):
        person = f.citizen()
        body = service_request(person.cpr, identifier=[{"value": f"ED-{attempt}"}])
        clients = [f.client_for(physician), f.client_for(physician)]
        answers = at_once(
            *(lambda c=c, b=body: c.post("/fhir/ServiceRequest", b, format="json") for c in clients)
        )
        for answer in answers:
            _no_constraint_named(answer)
        assert [a.status_code for a in answers] == [201, 201], [a.content for a in answers]
        first, second = (a.json() for a in answers)
        assert first["id"] == second["id"]
        assert answers[0]["Location"] == answers[1]["Location"]
        assert Referral.objects.filter(citizen=person).count() == 1
        assert Referral.objects.get(citizen=person).external_id == f"ED-{attempt}"


def test_one_id_for_two_citizens_at_once_is_one_referral_and_one_reused_id():
    gp = f.gp_practice()
    physician = f.staff(Role.PHYSICIAN, gp)
    for attempt in range(ROUNDS):
        people = [f.citizen(gp=gp), f.citizen(gp=gp)]
        bodies = [{**REFERRAL, "cpr": p.cpr, "external_id": f"EPJ-X{attempt}"} for p in people]
        clients = [f.client_for(physician), f.client_for(physician)]
        answers = at_once(
            *(
                lambda c=c, b=b: c.post("/api/acute/referrals", b, format="json")
                for c, b in zip(clients, bodies, strict=True)
            )
        )
        for answer in answers:
            _no_constraint_named(answer)
        assert sorted(a.status_code for a in answers) == [201, 409], [a.content for a in answers]
        refused = next(a for a in answers if a.status_code == 409)
        assert refused.json()["error"]["code"] == "referral.external_id_reused"
        assert Referral.objects.filter(external_id=f"EPJ-X{attempt}").count() == 1


def test_a_violated_constraint_is_told_in_words_never_by_its_name():
    gp = f.gp_practice()
    physician = f.staff(Role.PHYSICIAN, gp)
    person = f.citizen(gp=gp)
    created = f.client_for(physician).post(
        "/api/acute/referrals",
        {**REFERRAL, "cpr": person.cpr, "external_id": "EPJ-9"},
        format="json",
    )
    assert created.status_code == 201
    first = Referral.objects.get(pk=created.json()["id"])
    copy = Referral.objects.get(pk=first.pk)
    copy.pk = None
    copy.citizen = f.citizen(gp=gp)
    copy.received_at = first.received_at
    with pytest.raises(InvalidInput) as refused:
        full_clean_or_raise(copy, code="referral.invalid", exclude=["episode"])
    assert "acute_referral" not in refused.value.message
    assert refused.value.message == gettext("Another record already uses these identifiers.")


def test_a_referral_resent_under_its_id_with_other_content_is_refused_on_the_api():
    """The same external id from the same practice, the same citizen, but
    another reason: 409 naming the rule and the fields that differ, the first
    referral unchanged and no second one, the refused attempt audited (R9).
    The same body again is still answered with the first referral."""
    gp = f.gp_practice()
    physician = f.staff(Role.PHYSICIAN, gp)
    person = f.citizen(gp=gp)
    body = {**REFERRAL, "cpr": person.cpr, "external_id": "EPJ-changed"}
    client = f.client_for(physician)
    first = client.post("/api/acute/referrals", body, format="json")
    assert first.status_code == 201
    changed = client.post("/api/acute/referrals", {**body, "reason": "Brystsmerter"}, format="json")
    assert changed.status_code == 409, changed.content
    error = changed.json()["error"]
    assert (error["code"], error["changed"]) == ("referral.resent_changed", ["reason"])
    assert [r.reason for r in Referral.objects.filter(citizen=person)] == [REFERRAL["reason"]]
    assert AuditEntry.objects.filter(
        citizen_id=person.pk, outcome="denied", reason_code="referral.resent_changed"
    ).exists()
    again = client.post("/api/acute/referrals", body, format="json")
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]


def test_a_referral_id_already_used_for_another_citizen_is_a_duplicate_on_fhir():
    """The hospital's ServiceRequest under an id it used for another citizen:
    409, FHIR's issue type ``duplicate`` with the code partners know, and
    neither citizen's CPR number in the answer."""
    hospital = f.organisation(Organisation.Kind.HOSPITAL, "Herlev og Gentofte Hospital")
    client = f.client_for(f.staff(Role.PHYSICIAN, hospital))
    first, second = f.citizen(), f.citizen()
    assert (
        client.post("/fhir/ServiceRequest", service_request(first.cpr), format="json").status_code
        == 201
    )

    refused = client.post("/fhir/ServiceRequest", service_request(second.cpr), format="json")

    assert refused.status_code == 409
    [issue] = refused.json()["issue"]
    assert issue["code"] == "duplicate"
    assert issue["details"]["coding"][0]["code"] == "referral.external_id_reused"
    assert first.cpr.encode() not in refused.content and second.cpr.encode() not in refused.content
    assert not Referral.objects.filter(citizen=second).exists()
