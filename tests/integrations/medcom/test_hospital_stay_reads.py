"""What a hospital's message reads and writes about her stay, folded into
fewer statements, still does what R12 asks: she is found with her row
locked, an admission withdraws her visits not yet at her door before her
referrals are held, a hold raises the board's warning again (unacknowledged),
and a discharge adds why the hold was lifted to what the warning said."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from acute.models import DeadlineWarning, Referral, Visit
from core.cpr import CPR_SYSTEM
from core.models import Citizen
from integrations.models import InboundMessage
from integrations.patients import citizen_find_locked
from tests import factories as f
from tests.integrations.medcom.test_hospital_notification import (
    EPISODE,
    SLHJ,
    STIN,
    _ack,
    _example,
    _post,
)

pytestmark = pytest.mark.django_db


def _assigned_visit(citizen: Citizen) -> tuple[Referral, Visit]:
    """An accepted referral with a nurse assigned, not yet on her way."""
    referral = f.acute_referral(person=citizen)
    nurse, shift = f.acute_nurse_on_shift()
    now = timezone.now()
    visit = Visit.objects.create(
        episode=referral.episode,
        referral=referral,
        citizen=citizen,
        kind=Visit.Kind.FIRST,
        nurse=nurse.user,
        shift=shift,
        status=Visit.Status.ASSIGNED,
        assigned_at=now,
        respond_by=now + dt.timedelta(minutes=10),
    )
    return referral, visit


def test_r12_an_admission_withdraws_the_visit_then_holds_and_raises_the_warning_again(
    hospital, citizen
):
    with_visit, visit = _assigned_visit(citizen)
    untriaged = f.acute_referral(person=citizen, accepted=False)
    # A warning from an earlier stay, acknowledged by the coordinator.
    coordinator, _shift = f.acute_nurse_on_shift()
    DeadlineWarning.objects.create(
        referral=untriaged,
        kind=DeadlineWarning.Kind.ADMITTED,
        raised_at=timezone.now() - dt.timedelta(days=30),
        detail={"admission": "an earlier stay", "discharged_at": "2026-01-01T00:00:00+00:00"},
        acknowledged_at=timezone.now() - dt.timedelta(days=29),
        acknowledged_by=coordinator.user,
    )

    status, body = _post(hospital, _example(STIN))
    assert (status, _ack(body)[0]) == (200, "ok")

    result = InboundMessage.objects.get(partner=hospital).result
    assert result["visits_withdrawn"] == [visit.pk]
    # The visit is withdrawn first: its referral is held with the other.
    assert result["referrals_on_hold"] == sorted([with_visit.pk, untriaged.pk])
    visit.refresh_from_db()
    assert (visit.status, visit.cancel_reason) == (
        Visit.Status.CANCELLED,
        Visit.CancelReason.ADMITTED,
    )
    for referral in (with_visit, untriaged):
        referral.refresh_from_db()
        assert referral.on_hold_reason == "hospital_admission"
        warning = DeadlineWarning.objects.get(referral=referral, kind=DeadlineWarning.Kind.ADMITTED)
        # The held referral whose visit was withdrawn names it and its nurse (R12).
        named = (
            {"visit_withdrawn": visit.pk, "nurse": visit.nurse_id} if referral == with_visit else {}
        )
        assert warning.detail == {"admission": result["admission"], **named}
        assert warning.acknowledged_at is None and warning.acknowledged_by is None
        assert warning.raised_at == referral.on_hold_since


def test_r12_a_discharge_adds_why_the_hold_was_lifted_to_the_warning(hospital, citizen):
    referral = f.acute_referral(person=citizen, accepted=False)
    _post(hospital, _example(STIN))
    coordinator, _shift = f.acute_nurse_on_shift()
    DeadlineWarning.objects.filter(referral=referral).update(
        acknowledged_at=timezone.now(), acknowledged_by=coordinator.user
    )
    held_since = Referral.objects.get(pk=referral.pk).on_hold_since
    deadline_before = Referral.objects.get(pk=referral.pk).deadline_at

    status, body = _post(hospital, _example(SLHJ))
    assert (status, _ack(body)[0]) == (200, "ok")

    referral.refresh_from_db()
    assert (referral.on_hold_since, referral.on_hold_reason) == (None, "")
    assert referral.deadline_at > deadline_before
    warning = DeadlineWarning.objects.get(referral=referral, kind=DeadlineWarning.Kind.ADMITTED)
    assert warning.acknowledged_at is None and warning.acknowledged_by is None
    assert warning.raised_at > held_since
    admission = InboundMessage.objects.get(result__has_key="admission").result["admission"]
    assert warning.detail == {
        "admission": admission,
        "resumed": "discharged",
        "resumed_at": warning.raised_at.isoformat(),
        "discharged_at": warning.raised_at.isoformat(),
    }
    assert admission.endswith(EPISODE)


def test_the_citizen_of_a_hospitals_message_is_found_whole_and_locked_in_one_read(citizen):
    patient = {"identifier": [{"system": CPR_SYSTEM, "value": citizen.cpr}]}
    expected = Citizen.objects.get(pk=citizen.pk)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        found = citizen_find_locked(patient)
    assert found is not None
    assert {f.attname: getattr(found, f.attname) for f in Citizen._meta.concrete_fields} == {
        f.attname: getattr(expected, f.attname) for f in Citizen._meta.concrete_fields
    }
    reads = [q["sql"] for q in queries.captured_queries if "core_citizen" in q["sql"]]
    assert len(reads) == 1
    if connection.vendor == "postgresql":
        assert "FOR UPDATE" in reads[0]
    unknown = {"identifier": [{"system": CPR_SYSTEM, "value": f.cpr_number(female=False)}]}
    with transaction.atomic():
        assert citizen_find_locked(unknown) is None
