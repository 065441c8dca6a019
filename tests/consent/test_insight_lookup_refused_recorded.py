"""The look-up of a citizen for her insight report (R5) is the auditors'.
Anyone else who posts her CPR number to it is refused — and the attempt is
on her log (R9), by her internal id, never the number, as the auditor's own
look-up is recorded."""

from __future__ import annotations

from consent.audit.models import AuditEntry
from core.models import Role
from tests.consent.conftest import World
from tests.consent.test_insight import _page_client


def _after(entry_id: int) -> list[dict]:
    return list(
        AuditEntry.objects.filter(id__gt=entry_id)
        .order_by("id")
        .values("action", "outcome", "citizen_id", "reason_code", "purpose", "detail")
    )


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_r5_another_role_posting_a_cpr_to_the_insight_look_up_is_refused_and_recorded(
    world: World,
) -> None:
    assert world.person.cpr
    for role, membership in world.by_role().items():
        if role == Role.AUDITOR:
            continue
        before = _last_id()
        response = _page_client(membership).post("/consent/insight/", {"cpr": world.person.cpr})
        assert response.status_code == 403, role
        entries = _after(before)
        assert [
            (e["action"], e["outcome"], e["citizen_id"], e["reason_code"], e["purpose"])
            for e in entries
        ] == [("search", "denied", world.person.pk, "role_not_permitted", "audit")], role
        assert world.person.cpr not in str(entries)


def test_r5_the_auditors_look_up_is_recorded_alike_when_permitted(world: World) -> None:
    before = _last_id()
    response = _page_client(world.auditor).post("/consent/insight/", {"cpr": world.person.cpr})
    assert response.status_code == 302
    assert [(e["action"], e["outcome"], e["citizen_id"], e["purpose"]) for e in _after(before)] == [
        ("search", "permitted", world.person.pk, "audit")
    ]
