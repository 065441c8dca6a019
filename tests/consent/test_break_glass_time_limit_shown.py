"""R4/R5: an override is shown with its time limit, to the auditors and in the
citizen's insight report — on the page, in Danish, and in the FHIR AuditEvent
of the override itself, beside its reason (with its basis)."""

from __future__ import annotations

from django.utils import translation

from consent.models import BreakGlass
from core.permissions import session_membership_set
from core.times import shown
from tests import factories as f
from tests.consent.conftest import World

REASON = "Bevidstløs borger, akut behov for medicinliste"


def _opened(world: World) -> BreakGlass:
    response = f.client_for(world.other_nurse).post(
        "/api/consent/break-glass",
        {"citizen_id": world.person.pk, "reason": REASON, "basis": "cannot_be_asked"},
        format="json",
    )
    assert response.status_code == 201, response.content
    return BreakGlass.objects.get(pk=response.json()["id"])


def test_r4_the_overrides_auditevent_states_its_time_limit_and_basis(world: World) -> None:
    glass = _opened(world)
    found = (
        f.client_for(world.auditor)
        .get(f"/fhir/AuditEvent?patient={world.person.pk}&_count=50")
        .json()
    )
    [event] = [
        e["resource"]
        for e in found["entry"]
        if any(s.get("code") == "break_glass" for s in e["resource"]["subtype"])
    ]
    details = {d["type"]: d["valueString"] for d in event["entity"][0]["detail"]}
    assert details == {
        "break-glass-id": str(glass.pk),
        "break-glass-reason": REASON,
        "break-glass-basis": "cannot_be_asked",
        "break-glass-expires": glass.expires_at.isoformat(),
    }


def test_r5_the_insight_report_shows_the_overrides_time_limit(world: World) -> None:
    glass = _opened(world)
    page = f.client_for(None)
    page.force_login(world.auditor.user)
    session = page.session
    session_membership_set(session, world.auditor)
    session.save()
    html = page.get(f"/consent/insight/{world.person.pk}/").content.decode()
    with translation.override("da"):
        until = shown(glass.expires_at, "j. F Y H:i")
    assert f"åben til {until}" in html
    assert REASON in html
