"""Idempotency-Key on the API's and FHIR's writes: a staff system that lost
the answer sends the same request again and nothing is recorded twice."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from django.db import connection
from django.utils import timezone

from acute.models import Referral
from consent.models import RecordResource
from core.models import IdempotencyKey, Role
from core.services import idempotency_keys_prune
from tests import factories as f
from tests.acute.test_api import REFERRAL
from tests.consent import bodies

pytestmark = pytest.mark.django_db


def _refer(client, body: dict, key: str | None):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post("/api/acute/referrals", body, format="json", **headers)


def test_a_referral_sent_again_with_its_key_is_received_once() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    client = f.client_for(coordinator)
    body = {**REFERRAL, "citizen_id": f.citizen().pk, "source": "gp"}

    first = _refer(client, body, "gp-system-7f3a")
    assert first.status_code == 201, first.content
    again = _refer(client, body, "gp-system-7f3a")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "request.already_received"
    assert "besvaret med 201" in again.json()["error"]["message"]
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert Referral.objects.count() == 1

    changed = _refer(client, {**body, "reason": "Faldet"}, "gp-system-7f3a")
    assert changed.status_code == 422
    assert changed.json()["error"]["code"] == "request.idempotency_key_reused"
    assert Referral.objects.count() == 1

    # A key is its user's: another coordinator's request with it is their own.
    colleague = f.staff(Role.COORDINATOR, coordinator.organisation)
    assert _refer(f.client_for(colleague), body, "gp-system-7f3a").status_code == 201
    # Without a key, two requests are two referrals, as before.
    assert _refer(client, body, None).status_code == 201
    assert Referral.objects.count() == 3


def test_a_refused_request_keeps_no_claim_on_its_key() -> None:
    client = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    body = {**REFERRAL, "citizen_id": f.citizen().pk, "source": "gp"}
    refused = _refer(client, {**body, "urgency": "whenever"}, "retry-after-fixing")
    assert refused.status_code == 400
    assert _refer(client, body, "retry-after-fixing").status_code == 201
    assert Referral.objects.count() == 1


def test_a_client_reading_danish_is_told_in_danish() -> None:
    client = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    body = {**REFERRAL, "citizen_id": f.citizen().pk, "source": "gp"}
    danish = {"HTTP_IDEMPOTENCY_KEY": "gp-system-da", "HTTP_ACCEPT_LANGUAGE": "da"}
    assert client.post("/api/acute/referrals", body, format="json", **danish).status_code == 201

    again = client.post("/api/acute/referrals", body, format="json", **danish).json()["error"]
    assert again["code"] == "request.already_received"
    assert "besvaret med 201; intet blev gjort igen" in again["message"]
    changed = client.post(
        "/api/acute/referrals", {**body, "reason": "Faldet"}, format="json", **danish
    ).json()["error"]
    assert changed["code"] == "request.idempotency_key_reused"
    assert changed["message"].startswith("Denne Idempotency-Key fulgte med en anden")
    bad = client.post(
        "/api/acute/referrals",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY="nøgle",
        HTTP_ACCEPT_LANGUAGE="da",
    ).json()["error"]
    assert bad["message"].startswith("Idempotency-Key er 1 til 255 synlige ASCII-tegn")
    # Danish without the header too (docs/api.md); English when asked for.
    unsaid = client.post(
        "/api/acute/referrals", body, format="json", HTTP_IDEMPOTENCY_KEY="gp-system-da"
    ).json()["error"]
    assert "intet blev gjort igen" in unsaid["message"]
    english = client.post(
        "/api/acute/referrals",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY="gp-system-da",
        HTTP_ACCEPT_LANGUAGE="en",
    ).json()["error"]
    assert "nothing was done again" in english["message"]


@pytest.mark.parametrize("key", ["", "x" * 256, "nøgle", "ref-0101401234"])
def test_a_key_that_is_no_key_is_refused_and_nothing_is_done(key: str) -> None:
    client = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    body = {**REFERRAL, "citizen_id": f.citizen().pk, "source": "gp"}
    refused = _refer(client, body, key)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "request.idempotency_key_invalid"
    assert "0101401234" not in refused.content.decode()
    assert not Referral.objects.exists()


def test_a_fhir_create_sent_again_is_received_once_and_answered_in_fhir() -> None:
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function())
    person = f.citizen()
    f.open_visit(nurse, person)
    client = f.client_for(nurse)

    def create():
        return client.post(
            "/fhir/Condition",
            json.dumps(bodies.diagnosis(person.pk)),
            content_type="application/fhir+json",
            HTTP_IDEMPOTENCY_KEY="condition-1",
        )

    first = create()
    assert first.status_code == 201, first.content
    again = create()
    assert again.status_code == 409
    assert again.json()["resourceType"] == "OperationOutcome"
    coding = again.json()["issue"][0]["details"]["coding"][0]
    assert coding["code"] == "request.already_received"
    assert again["Location"] == first["Location"]
    assert RecordResource.objects.filter(citizen=person).count() == 1


def test_keys_are_forgotten_after_a_day() -> None:
    user = f.staff(Role.COORDINATOR, f.acute_function()).user
    old = IdempotencyKey.objects.create(
        user=user,
        key="old",
        fingerprint="x",
        claim="a",
        status=201,
        created_at=timezone.now() - dt.timedelta(days=1, minutes=1),
    )
    fresh = IdempotencyKey.objects.create(
        user=user, key="fresh", fingerprint="x", claim="b", status=201
    )
    assert idempotency_keys_prune() == 1
    assert list(IdempotencyKey.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not IdempotencyKey.objects.filter(pk=old.pk).exists()


@pytest.mark.postgres  # two connections at once
@pytest.mark.django_db(transaction=True)
def test_two_copies_sent_at_once_make_one_referral() -> None:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    body = {**REFERRAL, "citizen_id": f.citizen().pk, "source": "gp"}
    clients = [f.client_for(coordinator) for _ in range(2)]
    start = threading.Barrier(2)
    statuses: list[int] = []

    def send(client) -> None:
        start.wait()
        try:
            statuses.append(_refer(client, body, "sent-twice-at-once").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [201, 409]
    assert Referral.objects.count() == 1
