"""R12: while the hospital reports the citizen admitted, her referral is on hold
and nobody is sent — not by the coordinator's API or board, not by a
reassignment or a follow-up, not by automatic dispatch. The coordinator may
send a nurse anyway only with a stated reason, which is audited (R9) and shown
on the board. The discharge lifts the hold."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from acute import services
from acute.models import Referral, Visit
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.models import Role
from tests import factories as f

pytestmark = pytest.mark.django_db

HOSPITAL = Actor.system("tests.hospital_notification")
# The board's badge for a referral held for an admission.
ON_HOLD = "På pause \N{EN DASH} indlagt"
REASON = "Udskrives i aften; afdelingen beder om tilsyn i hjemmet ved hjemkomst"


@pytest.fixture
def coordinator():
    return f.staff(Role.COORDINATOR, f.acute_function())


def admit(citizen_id: int) -> None:
    """What the hospital's admission notification does in the acute function:
    the visits not yet at the door are withdrawn, then the referrals are held."""
    for visit in Visit.objects.filter(
        citizen_id=citizen_id,
        status__in=[Visit.Status.ASSIGNED, Visit.Status.ACCEPTED, Visit.Status.EN_ROUTE],
    ):
        services.visit_withdraw(visit=visit, note="Indlagt", actor=HOSPITAL)
    services.referrals_hold_for_admission(citizen_id=citizen_id, admission="E-1", actor=HOSPITAL)


def discharge(citizen_id: int) -> None:
    services.referrals_resume_after_discharge(citizen_id=citizen_id, actor=HOSPITAL)


def held_referral(coordinator, *, assigned_to=None) -> Referral:
    """An accepted referral, optionally with a nurse who was then withdrawn by the admission."""
    referral = f.acute_referral(by=coordinator)
    if assigned_to is not None:
        services.visit_assign(
            referral=referral, shift=assigned_to, actor=Actor.for_membership(coordinator)
        )
    admit(referral.citizen_id)
    referral.refresh_from_db()
    assert referral.on_hold_since is not None
    return referral


def denied(citizen_id: int, code: str) -> int:
    return AuditEntry.objects.filter(
        citizen_id=citizen_id, outcome="denied", resource_type="Task", reason_code=code
    ).count()


def active_visits(referral: Referral) -> int:
    return Visit.objects.filter(referral=referral, status__in=Visit.ACTIVE_STATUSES).count()


def login(membership) -> Client:
    client = Client()
    response = f.log_in(client, membership)
    assert response.status_code == 302
    return client


def board_row(html: str, referral: Referral) -> str:
    at = html.index(f"/coordinator/referrals/{referral.pk}/")
    return html[html.rindex("<tr", 0, at) : html.index("</tr>", at)]


# --- the API ---------------------------------------------------------------------


def test_r12_api_refuses_a_nurse_for_a_referral_on_hold_until_the_discharge(coordinator):
    _nurse, shift = f.acute_nurse_on_shift()
    referral = held_referral(coordinator, assigned_to=shift)
    client = f.client_for(coordinator)

    refused = client.post(
        f"/api/acute/referrals/{referral.pk}/assign", {"shift": shift.pk}, format="json"
    )
    assert refused.status_code == 409, refused.content
    error = refused.json()["error"]
    assert error["code"] == "referral.on_hold" and error["rule"] == "R12"
    assert referral.citizen.cpr not in refused.content.decode()
    assert active_visits(referral) == 0
    # R9: the refused attempt is in the audit log as denied.
    assert denied(referral.citizen_id, "referral.on_hold") == 1

    # The suggestions say so too, so a client knows a reason is needed.
    suggestions = client.get(f"/api/acute/referrals/{referral.pk}/suggestions").json()
    assert suggestions["on_hold"]["reason"] == "hospital_admission"

    discharge(referral.citizen_id)
    assigned = client.post(
        f"/api/acute/referrals/{referral.pk}/assign", {"shift": shift.pk}, format="json"
    )
    assert assigned.status_code == 201, assigned.content
    assert assigned.json()["hold_override_reason"] == ""
    assert active_visits(referral) == 1


@pytest.mark.parametrize(
    ("reason", "status", "code"),
    [
        ("", 400, "referral.hold_override_reason_required"),
        ("   \n\t", 400, "referral.hold_override_reason_required"),
        (None, 409, "referral.on_hold"),
        ("x" * 501, 400, "referral.hold_override_reason_too_long"),
        ("Datter ringede, CPR 010141-1234", 400, "referral.hold_override_reason_cpr"),
    ],
    ids=["empty", "blank", "null", "too-long", "cpr-number"],
)
def test_r12_an_override_without_a_usable_reason_is_refused(coordinator, reason, status, code):
    _nurse, shift = f.acute_nurse_on_shift()
    referral = held_referral(coordinator)
    response = f.client_for(coordinator).post(
        f"/api/acute/referrals/{referral.pk}/assign",
        {"shift": shift.pk, "hold_override_reason": reason},
        format="json",
    )
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["rule"] == "R12"
    assert "010141" not in response.content.decode()
    assert active_visits(referral) == 0
    assert denied(referral.citizen_id, code) == 1
    assert not AuditEntry.objects.filter(
        citizen_id=referral.citizen_id, detail__has_key="hold_override_reason"
    ).exists()


def test_r12_an_override_with_a_reason_assigns_is_audited_and_read_back(coordinator):
    nurse, shift = f.acute_nurse_on_shift()
    referral = held_referral(coordinator, assigned_to=shift)
    client = f.client_for(coordinator)

    response = client.post(
        f"/api/acute/referrals/{referral.pk}/assign",
        {"shift": shift.pk, "hold_override_reason": f"  {REASON} "},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["hold_override_reason"] == REASON
    visit = Visit.objects.get(pk=body["id"])
    assert visit.hold_override_reason == REASON and visit.is_active

    # R9: one entry for the assignment, naming the override and its reason.
    entry = AuditEntry.objects.get(
        citizen_id=referral.citizen_id,
        action="create",
        resource_type="Task",
        resource_id=f"visit-{visit.pk}",
    )
    assert entry.outcome == "permitted" and entry.actor_user_id == coordinator.user_id
    assert entry.reason_code == "hold_override"
    assert entry.detail["hold_override_reason"] == REASON
    assert entry.detail["on_hold_reason"] == "hospital_admission"

    # The referral stays on hold: the hospital still has the citizen.
    row = {r["id"]: r for r in client.get("/api/acute/referrals").json()["results"]}[referral.pk]
    assert row["on_hold"]["reason"] == "hospital_admission"
    assert row["active_visit"]["hold_override_reason"] == REASON
    task = f.client_for(nurse).get(f"/fhir/Task/visit-{visit.pk}").json()
    assert {
        "url": "https://tvaerakut.dk/fhir/StructureDefinition/hold-override-reason",
        "valueString": REASON,
    } in task["extension"]

    # A reassignment is another assignment: without a reason it is refused too.
    _other_nurse, other_shift = f.acute_nurse_on_shift()
    refused = client.post(
        f"/api/acute/referrals/{referral.pk}/assign",
        {"shift": other_shift.pk, "replacing_visit": visit.pk},
        format="json",
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "referral.on_hold"
    visit.refresh_from_db()
    assert visit.is_active and visit.nurse_id == nurse.user_id


def test_r12_the_referral_reads_as_on_hold_in_the_api_and_in_fhir(coordinator):
    referral = held_referral(coordinator)
    client = f.client_for(coordinator)
    api = client.get(f"/api/acute/referrals/{referral.pk}").json()
    assert api["on_hold"]["reason"] == "hospital_admission"

    fhir = client.get(f"/fhir/ServiceRequest/referral-{referral.pk}").json()
    assert fhir["status"] == "on-hold"
    [hold] = [
        e
        for e in fhir["extension"]
        if e["url"] == "https://tvaerakut.dk/fhir/StructureDefinition/on-hold"
    ]
    parts = {p["url"]: p for p in hold["extension"]}
    assert parts["reason"]["valueCoding"]["code"] == "hospital_admission"
    assert parts["since"]["valueDateTime"]

    discharge(referral.citizen_id)
    fhir = client.get(f"/fhir/ServiceRequest/referral-{referral.pk}").json()
    assert fhir["status"] == "active"
    assert client.get(f"/api/acute/referrals/{referral.pk}").json()["on_hold"] is None


def test_r12_a_follow_up_while_a_referral_of_the_episode_is_on_hold_needs_a_reason(coordinator):
    """The follow-up is the other door that sends a nurse to the citizen."""
    nurse, shift = f.acute_nurse_on_shift(max_load=5)
    first = f.acute_referral(by=coordinator)
    visit = services.visit_assign(
        referral=first, shift=shift, actor=Actor.for_membership(coordinator)
    )
    by_nurse = Actor.for_membership(nurse)
    for step in (services.visit_accept, services.visit_set_off, services.visit_arrive):
        step(visit=visit, actor=by_nurse)
    services.visit_complete(
        visit=visit, outcome="treated_at_home", close_episode=False, actor=by_nurse
    )
    second = f.acute_referral(person=first.citizen, by=coordinator)
    assert second.episode_id == first.episode_id
    admit(first.citizen_id)
    assert Referral.objects.get(pk=second.pk).on_hold_since is not None

    client = f.client_for(coordinator)
    url = f"/api/acute/episodes/{first.episode_id}/follow-ups"
    planned = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    refused = client.post(url, {"shift": shift.pk, "planned_for": planned}, format="json")
    assert refused.status_code == 409, refused.content
    assert refused.json()["error"]["code"] == "referral.on_hold"
    blank = client.post(
        url, {"shift": shift.pk, "planned_for": planned, "hold_override_reason": " "}, format="json"
    )
    assert blank.status_code == 400
    assert blank.json()["error"]["code"] == "referral.hold_override_reason_required"
    assert not Visit.objects.filter(episode_id=first.episode_id, kind="follow_up").exists()
    assert denied(first.citizen_id, "referral.on_hold") == 1

    planned_ok = client.post(
        url,
        {"shift": shift.pk, "planned_for": planned, "hold_override_reason": REASON},
        format="json",
    )
    assert planned_ok.status_code == 201, planned_ok.content
    assert planned_ok.json()["hold_override_reason"] == REASON


# --- automatic dispatch ------------------------------------------------------------


def test_r12_automatic_dispatch_never_picks_a_referral_on_hold(coordinator, settings):
    settings.ACUTE_AUTO_ASSIGN = True
    nurse, shift = f.acute_nurse_on_shift()
    f.acute_nurse_on_shift()
    client = f.client_for(coordinator)

    # Triage of a referral held before it was accepted assigns nobody.
    untriaged = f.acute_referral(accepted=False, by=coordinator)
    admit(untriaged.citizen_id)
    assert client.post(f"/api/acute/referrals/{untriaged.pk}/accept").status_code == 200
    assert active_visits(untriaged) == 0

    # A copy of the referral read before the admission does not fool it either
    # (its nurse, sent at triage, is withdrawn by the admission).
    stale = f.acute_referral(by=coordinator)
    assert active_visits(stale) == 1
    stale = Referral.objects.get(pk=stale.pk)
    admit(stale.citizen_id)
    assert stale.on_hold_since is None and active_visits(stale) == 0
    assert services.dispatch_auto_assign(referral=stale, actor=Actor.system("tests")) is None
    assert active_visits(stale) == 0

    # The nurse sent with a reason declines: the next nurse is not sent automatically.
    held = f.acute_referral(by=coordinator)
    admit(held.citizen_id)
    overridden = client.post(
        f"/api/acute/referrals/{held.pk}/assign",
        {"shift": shift.pk, "hold_override_reason": REASON},
        format="json",
    )
    assert overridden.status_code == 201
    declined = f.client_for(nurse).post(f"/api/acute/visits/{overridden.json()['id']}/decline")
    assert declined.status_code == 200, declined.content
    assert active_visits(held) == 0
    # Nor when an assignment goes unanswered.
    again = client.post(
        f"/api/acute/referrals/{held.pk}/assign",
        {"shift": shift.pk, "hold_override_reason": REASON},
        format="json",
    )
    assert again.status_code == 201
    assert services.visits_expire_unanswered(now=timezone.now() + dt.timedelta(hours=2)) == 1
    assert active_visits(held) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r9_automatic_dispatch_refused_by_an_admission_meanwhile_stays_audited(coordinator):
    """The hospital's admission arrives while automatic dispatch is choosing a
    nurse: the referral it read as waiting is on hold once it holds the lock,
    so nobody is sent, and the refused attempt stays in the audit log as
    denied (R9) although the dispatch's transaction rolled back."""
    f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator)
    backend: list[int] = []
    results: list[object] = []

    def dispatch() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend.append(cursor.fetchone()[0])
            results.append(
                services.dispatch_auto_assign(referral=referral, actor=Actor.system("tests"))
            )
        finally:
            connection.close()

    dispatcher = threading.Thread(target=dispatch)
    with transaction.atomic():
        admit(referral.citizen_id)  # not committed yet: dispatch reads her as waiting
        dispatcher.start()
        waiting_for_a_row_lock(dispatcher, backend)
    dispatcher.join(timeout=30)
    assert results == [None]
    assert active_visits(referral) == 0
    assert denied(referral.citizen_id, "referral.on_hold") == 1


def waiting_for_a_row_lock(thread: threading.Thread, backend: list[int]) -> None:
    """Until the thread's connection waits for a lock this one holds."""
    deadline = time.monotonic() + 30
    while thread.is_alive() and time.monotonic() < deadline:
        if backend:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted)",
                    backend,
                )
                if cursor.fetchone()[0]:
                    return
        time.sleep(0.02)
    raise AssertionError("the dispatch never waited for the referral's row lock")


# --- the coordinator's pages -------------------------------------------------------


def test_r12_the_board_shows_the_hold_and_offers_assignment_only_with_a_reason(coordinator):
    _nurse, shift = f.acute_nurse_on_shift()
    referral = held_referral(coordinator)
    waiting = f.acute_referral(by=coordinator)
    client = login(coordinator)

    live = client.get("/coordinator/live/").content.decode()
    row = board_row(live, referral)
    assert ON_HOLD in row
    assert "Tildel trods indlæggelse" in row and "btn-primary" not in row
    assert "På pause" not in board_row(live, waiting)

    detail = client.get(f"/coordinator/referrals/{referral.pk}/").content.decode()
    assert "indlagt siden" in detail
    forms = detail.split('action="/coordinator/referrals/')[1:]
    assign_forms = [form for form in forms if form.startswith(f"{referral.pk}/assign/")]
    assert assign_forms and f'value="{shift.pk}"' in assign_forms[0]
    assert all('name="hold_override_reason"' in form for form in assign_forms)


def test_r12_the_board_form_refuses_without_a_reason_and_shows_the_override(coordinator):
    _nurse, shift = f.acute_nurse_on_shift()
    referral = held_referral(coordinator)
    client = login(coordinator)
    url = f"/coordinator/referrals/{referral.pk}/assign/"

    plain = client.post(url, {"shift_id": str(shift.pk)})
    assert plain.status_code == 409
    assert 'data-code="referral.on_hold"' in plain.content.decode()
    empty = client.post(url, {"shift_id": str(shift.pk), "hold_override_reason": "  "})
    assert empty.status_code == 400
    page = empty.content.decode()
    assert 'data-code="referral.hold_override_reason_required"' in page
    assert "Skriv begrundelsen" in page
    # Marked under the reason of the nurse it was typed for, once.
    field = f'id="hold-reason-{shift.pk}" name="hold_override_reason" value="  "'
    assert f'{field} maxlength="500" required aria-invalid="true"' in page
    assert page.count('class="field-error" id="err-hold-override-reason"') == 1
    assert active_visits(referral) == 0
    assert denied(referral.citizen_id, "referral.on_hold") == 1
    assert denied(referral.citizen_id, "referral.hold_override_reason_required") == 1

    done = client.post(url, {"shift_id": str(shift.pk), "hold_override_reason": REASON})
    assert done.status_code == 302
    assert Visit.objects.get(referral=referral).hold_override_reason == REASON

    row = board_row(client.get("/coordinator/live/").content.decode(), referral)
    assert f"Tildelt trods indlæggelse: {REASON}" in row
    assert ON_HOLD in row
