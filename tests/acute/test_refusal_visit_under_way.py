"""R4 governs disclosure: a refusal the citizen registers while the nurse is
on her way or at the door does not strand her visit. What she does and
records on her own visit under way is her own record of care; she documents
it and completes it on every door, each access recorded with the basis
``visit_nurse`` and the refusal it passed (R9). The refusal still decides
every read of the shared record, every other nurse and any new visit, and
the hand-back (R11) obeys it as every hand-off does. The coordinator may end
the episode under it: a step on the episode, not a read of the record
(docs/decisions/0029)."""

from __future__ import annotations

import pytest
from django.test import Client

from acute import services
from acute.clinical.models import LabResult
from acute.models import Episode, NurseShift, Visit, VisitNote, VitalSign
from consent.audit.models import AuditEntry
from consent.models import ConsentDirective
from core.actors import Actor
from core.models import Citizen, Membership, Organisation, Role
from integrations.models import OutboundMessage, Partner
from tests import factories as f

pytestmark = pytest.mark.django_db

UNDER_WAY = {"en_route": ("accept", "set_off"), "on_site": ("accept", "set_off", "arrive")}


def _visit(coordinator: Membership, *, steps: tuple[str, ...], person: Citizen | None = None):
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(by=coordinator, person=person)
    visit = services.visit_assign(
        referral=referral, shift=shift, actor=Actor.for_membership(coordinator), also=True
    )
    step = {
        "accept": services.visit_accept,
        "set_off": services.visit_set_off,
        "arrive": services.visit_arrive,
    }
    for name in steps:
        visit = step[name](visit=visit, actor=Actor.for_membership(nurse))
    return nurse, shift, visit


def _refuses(
    citizen_id: int,
    recorder: Membership,
    *,
    organisation: Organisation | None = None,
    user=None,
) -> ConsentDirective:
    """The citizen refuses disclosure (Min Spærring): to an organisation, to
    a named professional, or, naming nobody, to everyone."""
    directive = ConsentDirective.objects.create(
        citizen_id=citizen_id,
        provision=ConsentDirective.Provision.DENY,
        given_how=ConsentDirective.GivenHow.ORAL,
        recorded_by=recorder.user,
        recorded_by_organisation=recorder.organisation,
    )
    if organisation is not None:
        directive.recipient_organisations.add(organisation)
    if user is not None:
        directive.recipient_users.add(user)
    return directive


def _entries(user, **filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(actor_user_id=user.user_id, **filters).order_by("pk"))


@pytest.fixture
def coordinator() -> Membership:
    return f.staff(Role.COORDINATOR, f.acute_function())


@pytest.mark.parametrize("under_way", list(UNDER_WAY))
def test_r4_her_own_visit_under_way_is_documented_and_completed_through_the_api(
    coordinator, under_way
):
    """The refusal of her acute function came while she drove or sat with
    the citizen: every write on her visit was 404 and the visit stayed
    under way, her shift 'on a visit', for good."""
    nurse, shift, visit = _visit(coordinator, steps=UNDER_WAY[under_way])
    _refuses(visit.citizen_id, coordinator, organisation=nurse.organisation)
    api = f.client_for(nurse)
    since = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first()

    if under_way == "en_route":
        arrived = api.post(f"/api/acute/visits/{visit.pk}/on-site")
        assert arrived.status_code == 200, arrived.content
    vitals = api.post(
        f"/api/acute/visits/{visit.pk}/vital-signs",
        {"measurements": [{"code": "8867-4", "value": "96"}]},
        format="json",
    )
    assert vitals.status_code == 201, vitals.content
    note = api.post(
        f"/api/acute/visits/{visit.pk}/notes", {"kind": "note", "text": "Feber"}, format="json"
    )
    assert note.status_code == 201, note.content
    result = api.post(
        f"/api/clinical/visits/{visit.pk}/results",
        {"results": [{"code": "NPU19748", "value": "45", "unit": "mg/L"}]},
        format="json",
    )
    assert result.status_code == 201, result.content
    # Her own result on it, mistyped, she corrects.
    corrected = api.post(
        f"/api/clinical/results/{result.json()['results'][0]['id']}/correct",
        {"value": "54", "unit": "mg/L", "reason": "Tastefejl"},
        format="json",
    )
    assert corrected.status_code == 201, corrected.content
    # What she has recorded on her own visit she reads back to finish it.
    assert api.get(f"/api/clinical/visits/{visit.pk}").status_code == 200
    done = api.post(
        f"/api/acute/visits/{visit.pk}/complete", {"outcome": "treated_at_home"}, format="json"
    )
    assert done.status_code == 200, done.content

    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED
    assert Episode.objects.get(pk=visit.episode_id).status == Episode.Status.COMPLETED
    shift.refresh_from_db()
    assert shift.status == NurseShift.Status.AVAILABLE
    assert VitalSign.objects.filter(visit=visit).count() == 1
    assert VisitNote.objects.filter(visit=visit).exists()
    assert LabResult.objects.filter(visit=visit).exists()

    # R9: each access through her own visit is recorded with its basis and
    # the refusal it passed; none was refused.
    entries = _entries(nurse, citizen_id=visit.citizen_id, pk__gt=since)
    # (A hand-off's disclosure is decided on its own, for its recipient.)
    assert not [e for e in entries if e.outcome == "denied" and e.action != "disclose"]
    own = [e for e in entries if e.reason_code == "visit_nurse"]
    assert own and all(
        e.detail.get("basis") == "visit_nurse" and e.detail.get("refusal_in_force") is True
        for e in own
    )
    assert {e.action for e in own} >= {"create", "update", "read"}


def test_r4_the_refusal_still_decides_her_reads_of_the_shared_record(coordinator):
    nurse, _shift, visit = _visit(coordinator, steps=UNDER_WAY["on_site"])
    _refuses(visit.citizen_id, coordinator, user=nurse.user)
    api = f.client_for(nurse)
    note = api.post(f"/api/acute/visits/{visit.pk}/notes", {"text": "Her"}, format="json")
    assert note.status_code == 201, note.content
    everything = api.get(f"/fhir/Patient/{visit.citizen_id}/$everything")
    assert everything.status_code == 404
    patient = api.get(f"/fhir/Patient/{visit.citizen_id}")
    assert patient.status_code == 404
    refused = _entries(nurse, citizen_id=visit.citizen_id, outcome="denied")
    assert refused and {e.reason_code for e in refused} == {"refused"}


def test_r4_another_nurse_and_a_new_visit_are_still_refused(coordinator):
    """Only her own visit under way passes: a colleague whose visit to the
    citizen has not set off is refused, as is anyone else."""
    person = f.citizen()
    nurse, _shift, visit = _visit(coordinator, steps=UNDER_WAY["on_site"], person=person)
    colleague, _other_shift, waiting = _visit(coordinator, steps=("accept",), person=person)
    _refuses(person.pk, coordinator, organisation=nurse.organisation)

    api = f.client_for(colleague)
    assert api.post(f"/api/acute/visits/{waiting.pk}/en-route").status_code == 404
    note = api.post(f"/api/acute/visits/{visit.pk}/notes", {"text": "x"}, format="json")
    assert note.status_code == 404
    assert api.get(f"/api/acute/visits/{waiting.pk}").status_code == 404
    denied = _entries(colleague, citizen_id=person.pk, outcome="denied")
    assert "refused" in {e.reason_code for e in denied}
    waiting.refresh_from_db()
    assert waiting.status == Visit.Status.ACCEPTED
    # Nor does the coordinator plan a new visit under it.
    follow_up = f.client_for(coordinator).post(
        f"/api/acute/episodes/{visit.episode_id}/follow-ups",
        {"shift": _other_shift.pk, "planned_for": "2099-01-01T10:00:00Z"},
        format="json",
    )
    assert follow_up.status_code == 404


def test_r4_on_her_tablet_she_finishes_the_visit_and_sees_none_of_the_shared_record(
    coordinator,
):
    nurse, shift, visit = _visit(coordinator, steps=UNDER_WAY["on_site"])
    _refuses(visit.citizen_id, coordinator, organisation=nurse.organisation)
    client = Client()
    assert f.log_in(client, nurse).status_code == 302

    listed = client.get("/nurse/visits/")
    assert listed.status_code == 200
    assert f"/nurse/visits/{visit.pk}/" in listed.content.decode()
    page = client.get(f"/nurse/visits/{visit.pk}/")
    assert page.status_code == 200, page.content.decode()[:500]
    assert page.context["summary_refused"] is True
    assert page.context["summary"] == []

    saved = client.post(f"/nurse/visits/{visit.pk}/vitals/", {"vital_8867-4": "88"})
    assert saved.status_code == 302, saved.content.decode()[:500]
    # A form the tablet queued and sends again is received once.
    queued = {"kind": "note", "text": "Hos borgeren", "client_ref": "tablet-1"}
    assert client.post(f"/nurse/visits/{visit.pk}/note/", queued).status_code == 302
    assert client.post(f"/nurse/visits/{visit.pk}/note/", queued).status_code == 302
    assert VisitNote.objects.filter(visit=visit, text="Hos borgeren").count() == 1
    done = client.post(f"/nurse/visits/{visit.pk}/complete/", {"outcome": "treated_at_home"})
    assert done.status_code == 302, done.content.decode()[:500]

    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED
    assert VitalSign.objects.filter(visit=visit).count() == 1
    shift.refresh_from_db()
    assert shift.status == NurseShift.Status.AVAILABLE
    # Completed, the visit is no longer hers to open: the refusal decides again.
    assert client.get(f"/nurse/visits/{visit.pk}/").status_code in (403, 404)


def test_r11_the_hand_back_obeys_the_refusal(coordinator):
    """She completes her visit; the hand-back to home nursing, whom the
    citizen's refusal of everyone covers too, is withheld."""
    home_nursing = f.integration_partner(Partner.Kind.HOME_NURSING, f.home_nursing("157"))
    person = f.citizen(municipality_code="157")
    nurse, _shift, visit = _visit(coordinator, steps=UNDER_WAY["on_site"], person=person)
    _refuses(person.pk, coordinator)
    done = f.client_for(nurse).post(
        f"/api/acute/visits/{visit.pk}/complete", {"outcome": "treated_at_home"}, format="json"
    )
    assert done.status_code == 200, done.content
    handback = OutboundMessage.objects.get(partner=home_nursing)
    assert handback.status == OutboundMessage.Status.WITHHELD


def test_r4_the_coordinator_ends_the_episode_under_the_refusal(coordinator):
    """A visit accepted but not under way when the citizen refused the acute
    function: the nurse may not set off, and the coordinator ends the episode
    (a step, not a read), which cancels the visit; she still reads nothing."""
    nurse, _shift, visit = _visit(coordinator, steps=("accept",))
    _refuses(visit.citizen_id, coordinator, organisation=coordinator.organisation)
    assert f.client_for(nurse).post(f"/api/acute/visits/{visit.pk}/en-route").status_code == 404

    api = f.client_for(coordinator)
    assert api.get(f"/api/acute/visits/{visit.pk}").status_code == 404
    ended = api.post(
        f"/api/acute/episodes/{visit.episode_id}/complete",
        {"outcome": "declined_by_citizen"},
        format="json",
    )
    assert ended.status_code == 200, ended.content
    assert ended.json()["status"] == "completed"
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED
    [entry] = _entries(coordinator, citizen_id=visit.citizen_id, reason_code="episode_end")
    assert (entry.action, entry.outcome) == ("update", "permitted")
    assert entry.detail["refusal_in_force"] is True


def test_r4_the_coordinator_ends_the_episode_from_the_referral_page(coordinator):
    _nurse, _shift, visit = _visit(coordinator, steps=("accept",))
    _refuses(visit.citizen_id, coordinator, organisation=coordinator.organisation)
    client = Client()
    assert f.log_in(client, coordinator).status_code == 302
    assert client.get(f"/coordinator/referrals/{visit.referral_id}/").status_code in (403, 404)
    ended = client.post(
        f"/coordinator/referrals/{visit.referral_id}/episode/",
        {"outcome": "declined_by_citizen"},
    )
    assert ended.status_code == 302, ended.content.decode()[:500]
    assert Episode.objects.get(pk=visit.episode_id).status == Episode.Status.COMPLETED


def test_r8_a_dose_from_her_bag_on_her_own_visit_is_given_under_the_refusal():
    from medicine_cabinet.models import Administration
    from tests.acute.test_pages_nurse import _give_on_page
    from tests.medicine_cabinet.conftest import (
        FUROSEMIDE,
        on_the_nurses_page,
        phone_order_on_page,
    )

    visit, client, furosemide, _bag, _lot = on_the_nurses_page(**FUROSEMIDE)
    order = phone_order_on_page(
        client,
        visit,
        furosemide,
        dose="40",
        dose_unit="mg",
        frequency="én gang",
        duration="engangsdosis",
    )
    nurse = Membership.objects.get(user=visit.nurse, role=Role.ACUTE_NURSE)
    _refuses(visit.citizen_id, nurse, user=visit.nurse)
    given = _give_on_page(client, visit, order, furosemide, "1")
    assert given.status_code == 302, given.content.decode()[:2000]
    assert Administration.objects.filter(visit=visit).count() == 1
    entries = _entries(nurse, citizen_id=visit.citizen_id, resource_type="MedicationAdministration")
    assert ("visit_nurse", "permitted") in {(e.reason_code, e.outcome) for e in entries}
    assert "denied" not in {e.outcome for e in entries}
