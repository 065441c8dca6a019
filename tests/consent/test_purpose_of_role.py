"""R3 and R9 on ``/fhir/``: every access states its purpose, and the log says
the true one. Without ``X-Purpose-Of-Use`` the purpose is the one the
caller's role exists for (an auditor's is audit, an analyst's analysis),
never treatment for everyone; a purpose the role may not state is refused
(403 ``purpose.not_permitted``) on every door, and the refused attempt is
recorded on the log of the citizen it names."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from consent.audit.models import AuditEntry
from consent.models import ConsentDirective
from core.models import Membership
from core.purposes import PERMITTED_PURPOSES, ROLE_PURPOSE
from tests import factories as f
from tests.consent.conftest import World, issue_code
from tests.consent.test_purpose_unknown_audited import DOORS, Ask, _directive

pytestmark = pytest.mark.django_db

AUDIT = {"HTTP_X_PURPOSE_OF_USE": "audit"}


def _after(before: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(id__gt=before).order_by("id"))


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_every_role_has_a_purpose_it_may_state() -> None:
    from core.models import Role

    assert set(ROLE_PURPOSE) == set(Role.values) == set(PERMITTED_PURPOSES)
    assert all(ROLE_PURPOSE[role] in PERMITTED_PURPOSES[role] for role in Role.values)


@pytest.mark.parametrize(
    ("who", "url", "purpose"),
    [
        ("auditor", "/fhir/Patient/{pid}", "audit"),
        ("analyst", "/fhir/Patient/{pid}", "analysis"),
        ("analyst", "/fhir/Condition?patient=Patient/{pid}", "analysis"),
        ("administrator", "/fhir/Condition/{dx}", "operations"),
        ("nurse", "/fhir/Condition/{dx}", "treatment"),
    ],
)
def test_r3_without_the_header_an_access_is_for_what_the_role_exists_for(
    world: World, who: str, url: str, purpose: str
) -> None:
    membership: Membership = getattr(world, who)
    before = _last_id()
    f.client_for(membership).get(url.format(pid=world.person.pk, dx=world.diagnosis.pk))
    [entry] = _after(before)
    assert (entry.actor_user_id, entry.citizen_id, entry.purpose) == (
        membership.user_id,
        world.person.pk,
        purpose,
    )


def test_r3_an_auditor_reads_the_log_for_audit_and_may_state_nothing_else(world: World) -> None:
    client = f.client_for(world.auditor)
    agent = f"agent={world.nurse.user_id}"
    before = _last_id()
    assert client.get(f"/fhir/AuditEvent?{agent}").status_code == 200
    assert {e.purpose for e in _after(before)} == {"audit"}
    for stated in ("treatment", "TREAT", "ETREAT", "HRESCH"):
        refused = client.get(
            f"/fhir/AuditEvent?patient=Patient/{world.person.pk}", HTTP_X_PURPOSE_OF_USE=stated
        )
        assert refused.status_code == 403, stated
        assert issue_code(refused) == "purpose.not_permitted"
        assert refused.json()["resourceType"] == "OperationOutcome"
    entry = AuditEntry.objects.latest("id")
    assert (entry.actor_user_id, entry.outcome, entry.reason_code, entry.purpose) == (
        world.auditor.user_id,
        "denied",
        "purpose_not_permitted",
        "analysis",
    )


@pytest.mark.parametrize(
    ("door", "ask", "action", "resource_type", "resource_id", "on_citizens_log"),
    DOORS,
    ids=[door[0] for door in DOORS],
)
def test_r9_a_purpose_the_role_may_not_state_is_refused_and_recorded_on_every_door(
    world: World,
    door: str,
    ask: Ask,
    action: str,
    resource_type: str,
    resource_id: Callable[[World, ConsentDirective], str],
    on_citizens_log: bool,
) -> None:
    directive = _directive(world)
    versions = world.diagnosis.versions.count()
    before = _last_id()
    response = ask(f.client_for(world.nurse), world, directive, AUDIT)
    assert response.status_code == 403, response.content
    assert issue_code(response) == "purpose.not_permitted"
    assert [
        (
            e.actor_user_id,
            e.action,
            e.outcome,
            e.reason_code,
            e.purpose,
            e.resource_type,
            e.resource_id,
            e.citizen_id,
        )
        for e in _after(before)
    ] == [
        (
            world.nurse.user_id,
            action,
            "denied",
            "purpose_not_permitted",
            "audit",  # what she stated, refused
            resource_type,
            resource_id(world, directive),
            world.person.pk if on_citizens_log else None,
        )
    ]
    assert world.diagnosis.versions.count() == versions  # nothing written
    assert not ConsentDirective.objects.exclude(pk=directive.pk).exists()


@pytest.mark.parametrize("who", ["nurse", "coordinator", "auditor", "medicine_officer"])
def test_r6_only_a_named_analyst_states_analysis(world: World, who: str) -> None:
    membership: Membership = getattr(world, who)
    before = _last_id()
    refused = f.client_for(membership).get(
        f"/fhir/Patient/{world.person.pk}", HTTP_X_PURPOSE_OF_USE="HRESCH"
    )
    assert refused.status_code == 403 and issue_code(refused) == "purpose.not_permitted"
    [entry] = _after(before)
    assert (entry.reason_code, entry.purpose, entry.citizen_id) == (
        "purpose_not_permitted",
        "analysis",
        world.person.pk,
    )
    # The analyst may state it; her role then never reads a citizen (R6: no
    # single citizen's record): refused as such, and so in the log.
    before = _last_id()
    analyst = f.client_for(world.analyst).get(
        f"/fhir/Patient/{world.person.pk}", HTTP_X_PURPOSE_OF_USE="HRESCH"
    )
    assert analyst.status_code == 403
    [entry] = _after(before)
    assert (entry.reason_code, entry.purpose) == ("role_not_permitted", "analysis")


def test_r4_the_emergency_purpose_is_the_clinicians_only(world: World) -> None:
    """ETREAT is break-the-glass: a clinician may state it (the gate then asks
    for her open override); the auditor may not."""
    nurse = f.client_for(world.nurse).get(
        f"/fhir/Condition/{world.diagnosis.pk}", HTTP_X_PURPOSE_OF_USE="ETREAT"
    )
    assert nurse.status_code == 404  # no open override: the gate refuses, as before
    entry = AuditEntry.objects.latest("id")
    assert (entry.reason_code, entry.purpose) == ("no_break_glass", "emergency")
    auditor = f.client_for(world.auditor).get(
        f"/fhir/Condition/{world.diagnosis.pk}", HTTP_X_PURPOSE_OF_USE="ETREAT"
    )
    assert auditor.status_code == 403 and issue_code(auditor) == "purpose.not_permitted"
