"""The nurse's tablet pages: her shift, her visits by deadline, the visit —
through the same gate, services and audit as the API."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from acute.clinical.models import LabResult, MedicationOrder
from acute.models import NurseShift, Referral, Visit, VitalSign
from acute.services import visit_assign
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.models import Role
from tests import factories
from tests.consent.audit.conftest import flags_scan_placed

pytestmark = pytest.mark.django_db


def _login(membership) -> Client:
    client = Client()
    assert factories.log_in(client, membership).status_code == 302
    return client


def _assigned(nurse_shift=None, urgency="within_2_hours"):
    nurse, shift = nurse_shift or factories.acute_nurse_on_shift()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    referral = factories.acute_referral(urgency=urgency, by=coordinator)
    visit = visit_assign(referral=referral, shift=shift, actor=Actor.for_membership(coordinator))
    return nurse, shift, visit


def _walk_to_site(client: Client, visit: Visit) -> None:
    for step in ("accept", "set_off", "arrive"):
        response = client.post(f"/nurse/visits/{visit.pk}/step/", {"step": step})
        assert response.status_code == 302, response.content.decode()[:2000]
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ON_SITE


def test_status_in_one_tap():
    nurse, shift = factories.acute_nurse_on_shift()
    client = _login(nurse)
    assert "Min vagt" in client.get("/nurse/shift/").content.decode()
    assert client.post("/nurse/shift/status/", {"status": "on_break"}).status_code == 302
    shift.refresh_from_db()
    assert shift.status == NurseShift.Status.ON_BREAK
    bad = client.post("/nurse/shift/status/", {"status": "asleep"})
    assert bad.status_code == 400
    assert 'data-code="shift.status_unknown"' in bad.content.decode()


def test_visits_by_deadline_with_maps_link_and_one_audit_entry_per_citizen(
    django_assert_max_num_queries,
):
    nurse, shift = factories.acute_nurse_on_shift(max_load=5)
    later = _assigned((nurse, shift), urgency="within_shift")[2]
    sooner = _assigned((nurse, shift), urgency="within_2_hours")[2]
    client = _login(nurse)
    client.get("/nurse/visits/")  # warm the session
    before = AuditEntry.objects.count()
    # Session, actor, the list, the gate's decision per citizen (2 each), the audit chain.
    with django_assert_max_num_queries(16 + factories.audit_extra_queries()):
        html = client.get("/nurse/visits/").content.decode()
    first, second = sorted([sooner, later], key=lambda v: v.referral.deadline_at)
    assert html.index(f"/nurse/visits/{first.pk}/") < html.index(f"/nurse/visits/{second.pk}/")
    assert 'href="geo:55.750000,12.545000?q=' in html
    listed = AuditEntry.objects.order_by("pk")[before:]
    assert {e.citizen_id for e in listed} == {sooner.citizen_id, later.citizen_id}
    assert all(e.action == "search" for e in listed)


def test_nurse_documents_the_visit_through_the_services():
    """R7 test with instant interpretation, R8 phone order only after read-back."""
    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    page = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert "Feber og konfusion" in page
    _walk_to_site(client, visit)

    response = client.post(
        f"/nurse/visits/{visit.pk}/vitals/", {"vital_8867-4": "92", "vital_8310-5": "38,6"}
    )
    assert response.status_code == 302
    assert VitalSign.objects.filter(visit=visit).count() == 2
    too_hot = client.post(f"/nurse/visits/{visit.pk}/vitals/", {"vital_8310-5": "99"})
    assert too_hot.status_code == 400
    assert 'data-code="vital_signs.value_out_of_range"' in too_hot.content.decode()

    interpretation = client.get(
        f"/nurse/visits/{visit.pk}/interpret/", {"code": "NPU19748", "value": "180"}
    ).content.decode()
    assert 'data-interpretation="H' in interpretation
    assert (
        client.post(
            f"/nurse/visits/{visit.pk}/lab/", {"code": "NPU19748", "value": "180"}
        ).status_code
        == 302
    )
    assert LabResult.objects.get(visit=visit, test__code="NPU19748").interpretation in ("H", "HH")

    order = {
        "ordered_by_name": "Læge Hansen",
        "ordered_by_authorisation_id": "ABC12",
        "ordered_by_organisation_name": "Lægehuset",
        "medicine_atc": "J01CA08",
        "medicine_name": "Pivmecillinam",
        "dose": "400",
        "dose_unit": "mg",
        "route": "oral",
        "frequency": "3 gange dagligt",
        "duration": "5 dage",
        "indication": "Urinvejsinfektion",
    }
    refused = client.post(f"/nurse/visits/{visit.pk}/order/", order)
    assert refused.status_code in (400, 412)
    assert 'data-code="order.read_back_required"' in refused.content.decode()
    assert not MedicationOrder.objects.filter(visit=visit).exists()
    ok = client.post(
        f"/nurse/visits/{visit.pk}/order/",
        {**order, "read_back": "on", "read_back_confirmed": "on"},
    )
    assert ok.status_code == 302
    assert MedicationOrder.objects.get(visit=visit).status == "awaiting_confirmation"

    assert (
        client.post(f"/nurse/visits/{visit.pk}/note/", {"text": "Borger afebril"}).status_code
        == 302
    )
    done = client.post(
        f"/nurse/visits/{visit.pk}/complete/",
        {"outcome": "treated_at_home", "assessment": "Pivmecillinam startet"},
    )
    assert done.status_code == 302
    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED


def test_another_nurse_gets_not_available_and_the_attempt_is_audited():
    _nurse, _shift, visit = _assigned()
    other, _ = factories.acute_nurse_on_shift()
    client = _login(other)
    response = client.get(f"/nurse/visits/{visit.pk}/")
    assert response.status_code in (403, 404)
    assert "Ikke tilgængelig" in response.content.decode()
    assert AuditEntry.objects.filter(
        actor_user_id=other.user_id, citizen_id=visit.citizen_id, outcome="denied"
    ).exists()
    assert client.post(f"/nurse/visits/{visit.pk}/step/", {"step": "accept"}).status_code in (
        403,
        404,
    )
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ASSIGNED


@pytest.mark.parametrize(
    "role", [Role.COORDINATOR, Role.PHYSICIAN, Role.AUDITOR, Role.MEDICINE_OFFICER]
)
def test_other_roles_are_refused_the_nurse_pages(role):
    _nurse, _shift, visit = _assigned()
    client = _login(factories.staff(role, factories.acute_function()))
    for path in ("/nurse/shift/", "/nurse/visits/", f"/nurse/visits/{visit.pk}/"):
        assert client.get(path).status_code == 403


def test_expired_shift_has_no_status_buttons():
    nurse, shift = factories.acute_nurse_on_shift(hours_before=10, hours_after=-1)
    html = _login(nurse).get("/nurse/shift/").content.decode()
    assert "Du har ingen vagt lige nu" in html or "You have no shift" in html
    assert shift.ends_at < timezone.now() + dt.timedelta(seconds=1)


# --- the coordinator -------------------------------------------------------------


PHONE_REFERRAL = {
    "source": "gp",
    "referrer_name": "Læge Jensen",
    "referrer_phone": "+4539111111",
    "reason": "Dehydrering",
    "clinical_picture": "Tør, svimmel, lavt BT",
    "requested_actions": "Væsketal, væske sc",
    "urgency": "within_2_hours",
    "responsible_physician_name": "Læge Jensen",
    "responsible_physician_phone": "+4539111111",
    "accept": "on",
}


def test_coordinator_takes_a_phone_referral_and_assigns_the_first_suggestion():
    from acute.models import Referral

    person = factories.citizen()
    _nurse, shift = factories.acute_nurse_on_shift()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    client = _login(coordinator)
    bad = client.post("/coordinator/referrals/new/", {**PHONE_REFERRAL, "cpr": "12345"})
    assert bad.status_code == 400
    assert 'data-code="referral.cpr_invalid"' in bad.content.decode()
    assert "12345" not in bad.content.decode()
    response = client.post("/coordinator/referrals/new/", {**PHONE_REFERRAL, "cpr": person.cpr})
    assert response.status_code == 302
    referral = Referral.objects.get(citizen=person)
    assert referral.status == "accepted" and referral.channel == "phone"
    detail = client.get(response["Location"]).content.decode()
    assert f'name="shift_id" value="{shift.pk}"' in detail
    assert person.cpr not in detail
    assigned = client.post(
        f"/coordinator/referrals/{referral.pk}/assign/", {"shift_id": str(shift.pk)}
    )
    assert assigned.status_code == 302
    assert Visit.objects.get(referral=referral).shift_id == shift.pk


def test_board_lists_open_referrals_by_deadline_with_risk_and_the_map(
    django_assert_max_num_queries,
):
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    factories.acute_nurse_on_shift()
    later = factories.acute_referral(urgency="within_shift", by=coordinator)
    sooner = factories.acute_referral(urgency="within_2_hours", by=coordinator)
    client = _login(coordinator)
    client.get("/coordinator/live/")
    # A bound on the board's reads (SQLite's the higher); one of them finds
    # the referrals whose partner's message awaits an answer, one the
    # partners' messages about citizens without an open referral, one the
    # open clinical alerts.
    with django_assert_max_num_queries(23):
        live = client.get("/coordinator/live/").content.decode()
    first, second = sorted([sooner, later], key=lambda r: r.deadline_at)
    assert live.index(f"/coordinator/referrals/{first.pk}/") < live.index(
        f"/coordinator/referrals/{second.pk}/"
    )
    assert '<svg class="map"' in live and "Gentofte" in live
    assert 'class="nurse status-available"' in live
    page = client.get("/coordinator/").content.decode()
    assert 'hx-trigger="every 10s"' in page


def test_board_says_how_many_visits_each_nurse_has_in_hand() -> None:
    """Her own status says "available" until she sets off; the board says
    beside it that a visit is already hers."""
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    _nurse, shift = factories.acute_nurse_on_shift()
    _free, free_shift = factories.acute_nurse_on_shift()
    referral = factories.acute_referral(by=coordinator)
    visit_assign(referral=referral, shift=shift, actor=Actor.for_membership(coordinator))
    live = _login(coordinator).get("/coordinator/live/").content.decode()
    row = live[live.index(f'id="shift-{shift.pk}"') :]
    row = row[: row.index("</li>")]
    assert 'data-visits-in-hand="1"' in row and "1 besøg i gang" in row
    free_row = live[live.index(f'id="shift-{free_shift.pk}"') :]
    assert "data-visits-in-hand" not in free_row[: free_row.index("</li>")]


def test_board_shows_a_referral_held_for_an_admission_as_on_hold_not_late() -> None:
    """R12: while the citizen is in hospital nobody is to go, so the board says
    so instead of raising a late or at-risk alarm."""
    from acute.services import referrals_hold_for_admission

    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    held = factories.acute_referral(urgency="within_2_hours", by=coordinator)
    waiting = factories.acute_referral(urgency="within_2_hours", by=coordinator)
    referrals_hold_for_admission(
        citizen_id=held.citizen_id, admission="E-1", actor=Actor.system("tests.hospital")
    )
    client = _login(coordinator)
    live = client.get("/coordinator/live/").content.decode()

    def row(referral) -> str:
        at = live.index(f"/coordinator/referrals/{referral.pk}/")
        return live[live.rindex("<tr", 0, at) : live.index("</tr>", at)]

    assert "På pause \N{EN DASH} indlagt" in row(held) and "I fare" not in row(held)
    assert "På pause" not in row(waiting)


def test_board_adds_no_queries_per_referral_beyond_the_gate():
    """The page itself renders each row from prefetched data; only the access
    gate's per-citizen decision (two queries in ``acute.selectors.records.gated``) grows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    for _ in range(2):
        factories.acute_nurse_on_shift()
    client = _login(coordinator)

    def count() -> int:
        client.get("/coordinator/live/")
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/coordinator/live/").status_code == 200
        return len(ctx)

    for _ in range(3):
        factories.acute_referral(by=coordinator)
    three = count()
    for _ in range(3):
        factories.acute_referral(by=coordinator)
    assert count() - three <= 2 * 3


def test_figures_page_draws_charts_and_says_when_there_is_nothing_to_draw():
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    client = _login(coordinator)
    # A referral whose deadline is still ahead is neither met nor missed: no
    # bar at 0 %, but a sentence saying there is nothing decided yet.
    referral = factories.acute_referral(by=coordinator)
    empty = client.get("/coordinator/figures/").content.decode()
    assert '<svg class="chart"' not in empty
    assert "Ingen henvisninger i perioden med en afgjort tidsfrist" in empty
    assert "Ingen forløb er afsluttet i perioden." in empty
    Referral.objects.filter(pk=referral.pk).update(reached_at=timezone.now())
    drawn = client.get("/coordinator/figures/").content.decode()
    assert drawn.count('<svg class="chart"') == 1 and "afgjort tidsfrist" not in drawn
    bad = client.get("/coordinator/figures/", {"start": "not-a-date"})
    assert bad.status_code == 400


def test_figures_form_marks_every_refused_date_and_keeps_what_was_typed():
    client = _login(factories.staff(Role.COORDINATOR, factories.acute_function()))
    both = client.get("/coordinator/figures/", {"start": "1.2.2026", "end": "31-02-2026"})
    html = both.content.decode()
    assert both.status_code == 400
    assert 'value="1.2.2026" aria-invalid="true" aria-describedby="err-start"' in html
    assert 'value="31-02-2026" aria-invalid="true" aria-describedby="err-end"' in html
    assert 'id="err-start"' in html and 'id="err-end"' in html
    backwards = client.get("/coordinator/figures/", {"start": "2026-03-01", "end": "2026-02-01"})
    html = backwards.content.decode()
    assert backwards.status_code == 400
    assert 'class="field-error" id="err-end"' in html and 'value="2026-03-01"' in html


@pytest.mark.parametrize("role", [Role.ACUTE_NURSE, Role.PHYSICIAN, Role.AUDITOR])
def test_other_roles_are_refused_the_coordinator_pages(role):
    client = _login(factories.staff(role, factories.acute_function()))
    for path in ("/coordinator/", "/coordinator/live/", "/coordinator/referrals/new/"):
        assert client.get(path).status_code == 403


def test_home_nurse_refers_with_the_short_form():
    from acute.models import Referral

    factories.acute_function()
    person = factories.citizen()
    home_nurse = factories.staff(Role.HOME_NURSE, factories.home_nursing("157"))
    client = _login(home_nurse)
    form = {k: v for k, v in PHONE_REFERRAL.items() if k not in ("source", "accept")}
    response = client.post("/referrals/new/", {**form, "cpr": person.cpr})
    assert response.status_code == 302, response.content.decode()[:3000]
    referral = Referral.objects.get(citizen=person)
    assert referral.channel == "form" and referral.source == "home_nursing"
    unknown = client.post("/referrals/new/", {**form, "cpr": "0101010000"})
    assert unknown.status_code == 400
    assert 'data-code="referral.citizen_unknown"' in unknown.content.decode()
    assert Referral.objects.count() == 1


def test_break_the_glass_needs_a_reason_and_is_recorded():
    """R4: a stated reason, a basis, and the event in the audit log."""
    from consent.models import BreakGlass

    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    short = client.post(
        f"/nurse/visits/{visit.pk}/break-glass/", {"reason": "kort", "basis": "cannot_be_asked"}
    )
    assert short.status_code == 400
    assert 'data-code="break_glass.reason_required"' in short.content.decode()
    assert not BreakGlass.objects.exists()
    ok = client.post(
        f"/nurse/visits/{visit.pk}/break-glass/",
        {"reason": "Bevidstløs, livstruende tilstand", "basis": "cannot_be_asked"},
    )
    assert ok.status_code == 302
    assert BreakGlass.objects.filter(citizen_id=visit.citizen_id, user=nurse.user).exists()
    assert AuditEntry.objects.filter(citizen_id=visit.citizen_id, action="break_glass").exists()
    other, _ = factories.acute_nurse_on_shift()
    refused = _login(other).post(
        f"/nurse/visits/{visit.pk}/break-glass/",
        {"reason": "Bevidstløs, livstruende tilstand", "basis": "cannot_be_asked"},
    )
    assert refused.status_code in (403, 404)


# --- break-the-glass on the pages and lists (R4, R9) -------------------------------

OVERRIDE_REASON = "Bevidstløs, livstruende tilstand"


def _refused_by(membership, citizen_id: int) -> None:
    """The citizen refuses the acute function as a whole (R4)."""
    from consent.services import consent_create
    from tests.consent import bodies

    consent_create(
        actor=Actor.for_membership(membership),
        data=bodies.refusal(citizen_id),
        purpose="treatment",
    )


def _entries_since(membership, before: int) -> dict[int, list[AuditEntry]]:
    by_citizen: dict[int, list[AuditEntry]] = {}
    for entry in AuditEntry.objects.filter(id__gt=before, actor_user_id=membership.user_id):
        by_citizen.setdefault(entry.citizen_id, []).append(entry)
    return by_citizen


def _last_entry() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _emergency(entry: AuditEntry, glass_id: int) -> bool:
    return (
        (entry.outcome, entry.purpose, entry.reason_code)
        == ("permitted", "emergency", "break_glass")
        and entry.detail.get("break_glass_id") == glass_id
        and entry.detail.get("break_glass_reason") == OVERRIDE_REASON
    )


def _ordinary(entry: AuditEntry) -> bool:
    return (entry.outcome, entry.purpose) == ("permitted", "treatment") and (
        "break_glass_id" not in entry.detail
    )


def _flagged() -> set[int]:
    from consent.audit.models import AuditFlag

    flags_scan_placed()
    return set(AuditFlag.objects.filter(kind="break_glass").values_list("entry_id", flat=True))


def test_r4_her_visit_list_and_visit_page_under_the_override_are_emergency_accesses():
    """R4/R9: the citizen of one of her visits refused the acute function; only
    her break-the-glass puts the visit back on her list and opens its page, and
    each of those accesses is recorded as an emergency with the reason and
    flagged. Her other visit, on the same list, stays an ordinary access."""
    from consent.models import BreakGlass

    nurse, shift = factories.acute_nurse_on_shift(max_load=5)
    refused = _assigned((nurse, shift))[2]
    plain = _assigned((nurse, shift))[2]
    _refused_by(nurse, refused.citizen_id)
    client = _login(nurse)
    html = client.get("/nurse/visits/").content.decode()
    assert f"/nurse/visits/{refused.pk}/" not in html and f"/nurse/visits/{plain.pk}/" in html
    opened = client.post(
        f"/nurse/visits/{refused.pk}/break-glass/",
        {"reason": OVERRIDE_REASON, "basis": "cannot_be_asked"},
    )
    assert opened.status_code == 302
    glass = BreakGlass.objects.get(user=nurse.user)

    before = _last_entry()
    html = client.get("/nurse/visits/").content.decode()
    assert f"/nurse/visits/{refused.pk}/" in html and f"/nurse/visits/{plain.pk}/" in html
    listed = _entries_since(nurse, before)
    [theirs] = listed[refused.citizen_id]
    [mine] = listed[plain.citizen_id]
    assert theirs.action == "search" and _emergency(theirs, glass.pk)
    assert _ordinary(mine)

    before = _last_entry()
    page = client.get(f"/nurse/visits/{refused.pk}/")
    assert page.status_code == 200 and refused.citizen.family_name in page.content.decode()
    read = _entries_since(nurse, before)[refused.citizen_id]
    assert {e.resource_type for e in read} >= {"Encounter", "Patient"}  # the visit, $everything
    assert all(_emergency(e, glass.pk) for e in read)

    before = _last_entry()
    assert client.get(f"/nurse/visits/{plain.pk}/").status_code == 200
    other = _entries_since(nurse, before)[plain.citizen_id]
    assert other and all(_ordinary(e) for e in other)

    flagged = _flagged()
    assert {theirs.id, *(e.id for e in read)} <= flagged
    assert not {mine.id, *(e.id for e in other)} & flagged


def test_r4_the_coordinators_board_under_the_override_is_an_emergency_access():
    """R4/R9: a referral whose citizen refused the acute function is on the
    coordinator's board only under her break-the-glass, recorded as an
    emergency; the other referrals on the board stay ordinary."""
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    refused = factories.acute_referral(by=coordinator)
    plain = factories.acute_referral(by=coordinator)
    _refused_by(coordinator, refused.citizen_id)
    client = factories.client_for(coordinator)
    shown = {r["id"] for r in client.get("/api/acute/referrals").json()["results"]}
    assert refused.pk not in shown and plain.pk in shown
    opened = client.post(
        "/api/consent/break-glass",
        {"citizen_id": refused.citizen_id, "reason": OVERRIDE_REASON, "basis": "cannot_be_asked"},
        format="json",
    )
    assert opened.status_code == 201
    before = _last_entry()
    shown = {r["id"] for r in client.get("/api/acute/referrals").json()["results"]}
    assert {refused.pk, plain.pk} <= shown
    listed = _entries_since(coordinator, before)
    [theirs] = listed[refused.citizen_id]
    [mine] = listed[plain.citizen_id]
    assert _emergency(theirs, opened.json()["id"]) and _ordinary(mine)
    flagged = _flagged()
    assert theirs.id in flagged and mine.id not in flagged


def test_declining_without_a_reason_marks_the_reason_field():
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    referral = factories.acute_referral(accepted=False, by=coordinator)
    client = _login(coordinator)
    refused = client.post(
        f"/coordinator/referrals/{referral.pk}/triage/", {"decision": "decline", "reason": " "}
    )
    html = refused.content.decode()
    assert refused.status_code == 400
    assert 'id="decline-reason"' in html and 'aria-describedby="err-reason"' in html
    assert 'class="field-error" id="err-reason"' in html
    referral.refresh_from_db()
    assert referral.status == "received"


def test_nurse_declines_an_assignment_on_the_visit_page_and_dispatch_moves_on():
    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    page = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert 'data-open-dialog="decline"' in page and "Afvis besøget" in page
    response = client.post(
        f"/nurse/visits/{visit.pk}/decline/",
        {"reason": "Står i trafikkø på motorvejen"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/nurse/visits/"
    assert "Besøget er afvist" in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED
    assert visit.cancel_reason == Visit.CancelReason.DECLINED
    assert visit.cancel_note == "Står i trafikkø på motorvejen"
    # No longer hers: the visit page is closed to her.
    assert client.get(f"/nurse/visits/{visit.pk}/").status_code in (403, 404)


def test_only_the_assigned_nurse_declines_and_only_before_accepting():
    _nurse, _shift, visit = _assigned()
    other, _ = factories.acute_nurse_on_shift()
    before = AuditEntry.objects.filter(actor_user_id=other.user_id, outcome="denied").count()
    refused = _login(other).post(f"/nurse/visits/{visit.pk}/decline/", {"reason": ""})
    assert refused.status_code in (403, 404)
    assert AuditEntry.objects.filter(actor_user_id=other.user_id, outcome="denied").count() > before
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ASSIGNED

    client = _login(_nurse)
    assert client.post(f"/nurse/visits/{visit.pk}/step/", {"step": "accept"}).status_code == 302
    accepted = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert 'data-open-dialog="decline"' not in accepted
    late = client.post(f"/nurse/visits/{visit.pk}/decline/", {"reason": ""})
    assert late.status_code == 409
    assert 'data-code="visit.transition_not_allowed"' in late.content.decode()
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ACCEPTED


def test_the_phone_form_offers_to_register_citizens_of_the_municipalities_her_function_takes():
    """Registering a citizen at a phone referral: the municipalities offered
    are those taking part that her own function serves — one joined by
    configuration (Furesø) among them, none she could take no referral for."""
    acute = factories.acute_function()
    fureso = factories.municipality("190")
    fureso.participates = True
    fureso.save(update_fields=["participates"])
    acute.serves.add(fureso)
    elsewhere = factories.municipality("851")  # takes part, served by another function
    elsewhere.participates = True
    elsewhere.save(update_fields=["participates"])
    gladsaxe = factories.municipality("159")  # has left: served until its referrals close
    gladsaxe.participates = False
    gladsaxe.save(update_fields=["participates"])
    client = Client()
    factories.log_in(client, factories.staff(Role.COORDINATOR, acute))
    cpr = factories.cpr_number()
    html = client.post("/coordinator/referrals/new/citizen/", {"cpr": cpr}).content.decode()
    offered = set(re.findall(r'<option value="(\d{3})"', html))
    assert offered == {"157", "173", "190", "230"}
