"""Break-the-glass (værdispring): reason, short time, one citizen, flagged, shown (R4, R5)."""

from __future__ import annotations

import datetime as dt

from django.test import override_settings
from django.utils import timezone

from consent.audit.models import AuditEntry
from consent.models import BreakGlass
from core.models import Role
from tests import factories as f
from tests.consent import bodies
from tests.consent.conftest import World, post


def _glass(membership, citizen_id: int, reason: str = "Bevidstløs, kan ikke spørges; akut behov"):
    return f.client_for(membership).post(
        "/api/consent/break-glass",
        {"citizen_id": citizen_id, "reason": reason, "basis": "cannot_be_asked"},
        format="json",
    )


@override_settings(CONSENT_BREAK_GLASS_MINUTES=15)
def test_r4_break_the_glass_overrides_a_refusal_for_one_citizen_briefly(world: World) -> None:
    post(f.client_for(world.nurse), "/fhir/Consent", bodies.refusal(world.person.pk))
    client = f.client_for(world.nurse)
    url = f"/fhir/Condition/{world.diagnosis.pk}"
    assert client.get(url).status_code == 404
    opened = _glass(world.nurse, world.person.pk)
    assert opened.status_code == 201, opened.content
    glass = BreakGlass.objects.get()
    assert glass.expires_at - glass.started_at == dt.timedelta(minutes=15)
    assert client.get(url).status_code == 200
    entry = AuditEntry.objects.filter(citizen_id=world.person.pk, action="read").latest("id")
    assert (entry.reason_code, entry.purpose) == ("break_glass", "emergency")
    assert entry.detail["break_glass_id"] == glass.pk
    flagged = AuditEntry.objects.get(action="break_glass")
    assert flagged.detail["reason"].startswith("Bevidstløs")
    # this citizen only
    other = f.citizen()
    assert client.get(f"/fhir/Patient/{other.pk}").status_code == 404
    # and only for a short time
    BreakGlass.objects.update(
        started_at=timezone.now() - dt.timedelta(minutes=16),
        expires_at=timezone.now() - dt.timedelta(minutes=1),
    )
    assert client.get(url).status_code == 404


def test_r1_break_the_glass_also_opens_a_citizen_without_a_care_relationship(world: World) -> None:
    client = f.client_for(world.other_nurse)
    assert client.get(f"/fhir/Patient/{world.person.pk}/$everything").status_code == 404
    assert _glass(world.other_nurse, world.person.pk).status_code == 201
    assert client.get(f"/fhir/Patient/{world.person.pk}/$everything").status_code == 200


def test_break_the_glass_needs_a_reason_a_clinician_and_a_known_citizen(world: World) -> None:
    short = _glass(world.nurse, world.person.pk, reason="akut")
    assert short.status_code == 400
    assert short.json()["error"]["code"] == "break_glass.reason_required"
    for role in (Role.AUDITOR, Role.ANALYST, Role.ADMINISTRATOR, Role.MEDICINE_OFFICER):
        assert (
            _glass(
                getattr(world, role if role != Role.MEDICINE_OFFICER else "medicine_officer"),
                world.person.pk,
            ).status_code
            == 403
        )
    unknown = _glass(world.nurse, 99999999)
    assert unknown.status_code == 404
    assert not BreakGlass.objects.exists()


def test_r5_break_the_glass_shows_for_the_auditor_and_in_the_citizens_insight(world: World) -> None:
    _glass(world.other_nurse, world.person.pk)
    f.client_for(world.other_nurse).get(f"/fhir/Condition/{world.diagnosis.pk}")
    bundle = f.client_for(world.auditor).get(f"/fhir/Patient/{world.person.pk}/$insight").json()
    events = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "AuditEvent"
    ]
    flagged = [
        e for e in events if any(s["code"] == "break-the-glass" for s in e.get("subtype", []))
    ]
    assert len(flagged) == 2  # the override itself and the read under it
    page = f.client_for(None)
    page.force_login(world.auditor.user)
    session = page.session
    session["membership_id"] = world.auditor.pk
    session.save()
    html = page.get(f"/consent/insight/{world.person.pk}/").content.decode()
    assert "Bevidstløs" in html and html.count('class="flag"') >= 3  # override + read
