"""What the server does for the tablet's offline queue (issue 21,
docs/decisions/0013): every write on the visit is received once per
``client_ref``; a queued form learns a redirect as JSON and a refusal as JSON
with its code; a dose given offline and refused is flagged for the medicine
officer, without the citizen; logout clears the tablet; the visit page's
header shows the citizen's age and masked CPR number."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from acute.clinical.models import MedicationOrder
from acute.models import Visit, VisitNote, VisitSubmission
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.context_processors import device_owner
from core.models import Role
from medicine_cabinet.models import Administration, Notification
from tests import factories
from tests.acute.test_pages import _assigned, _login, _walk_to_site
from tests.acute.test_pages_nurse import _on_site, _phone_order_on_page, _stocked

pytestmark = pytest.mark.django_db

REPLAY = {"HTTP_X_OFFLINE_SEND": "1", "HTTP_X_OFFLINE_REPLAY": "1"}


def _furosemide_order(nurse, visit, client):
    furosemide, _bag, _lot = _stocked(
        nurse,
        atc="C03CA01",
        name="Furosemid",
        strength="10 mg/mL, 4 mL",
        form="solution for injection",
        unit="ampoule",
    )
    order = _phone_order_on_page(
        client,
        visit,
        medicine_atc="C03CA01",
        medicine_name="Furosemid",
        dose="1",
        dose_unit="ampoule",
        frequency="to gange dagligt",
        duration="2 dage",
    )
    return furosemide, order


def _sent_an_hour_ago(visit):
    """The visit was assigned an hour ago: a dose given a while back lies within it."""
    Visit.objects.filter(pk=visit.pk).update(assigned_at=timezone.now() - dt.timedelta(hours=1))


def _ordered_an_hour_ago(order):
    """The physician's order came when the nurse was sent: a dose given since
    was given on it (R8 judges the order when the dose was given)."""
    MedicationOrder.objects.filter(pk=order.pk).update(
        ordered_at=timezone.now() - dt.timedelta(hours=1)
    )


def _dose(order, furosemide, ref, **extra):
    return {
        "order_id": order.pk,
        "medicine_id": furosemide.pk,
        "quantity": "1",
        "unit": "ampoule",
        "client_ref": ref,
        **extra,
    }


# --- received once ----------------------------------------------------------------


def test_a_status_step_sent_twice_with_its_reference_is_one_step():
    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    for _ in range(2):
        response = client.post(
            f"/nurse/visits/{visit.pk}/step/", {"step": "accept", "client_ref": "step-accept-1"}
        )
        assert response.status_code == 302, response.content.decode()[:2000]
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ACCEPTED
    assert VisitSubmission.objects.get(client_ref="step-accept-1").form == "step"
    # The next step, queued behind it, still goes through.
    client.post(f"/nurse/visits/{visit.pk}/step/", {"step": "set_off", "client_ref": "step-off-1"})
    visit.refresh_from_db()
    assert visit.status == Visit.Status.EN_ROUTE


def test_a_dose_sent_twice_with_its_reference_leaves_the_bag_once():
    nurse, _shift, visit, client = _on_site()
    furosemide, order = _furosemide_order(nurse, visit, client)
    for _ in range(2):
        response = client.post(
            f"/nurse/visits/{visit.pk}/give/", _dose(order, furosemide, "dose-ref-0001")
        )
        assert response.status_code == 302, response.content.decode()[:2000]
    assert Administration.objects.filter(order_id=order.pk).count() == 1


def test_completion_sent_twice_with_its_reference_completes_once():
    _nurse, _shift, visit, client = _on_site()
    form = {"outcome": "treated_at_home", "assessment": "Klar", "client_ref": "complete-0001"}
    first = client.post(f"/nurse/visits/{visit.pk}/complete/", form)
    again = client.post(f"/nurse/visits/{visit.pk}/complete/", form)
    assert first.status_code == again.status_code == 302
    assert again["Location"] == "/nurse/visits/"
    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED
    assert VisitSubmission.objects.filter(visit=visit, form="completion").count() == 1


def _reused_refusals(visit) -> int:
    return AuditEntry.objects.filter(
        citizen_id=visit.citizen_id, outcome="denied", reason_code="submission.client_ref_reused"
    ).count()


def test_r9_a_reference_sent_again_with_another_entry_is_refused_not_taken_as_received():
    """The tablet's reference names one entry. Sent again with other content
    (another note, another form), it is no re-send: answered "already
    received", the second entry would be lost without a word. It is refused
    with its code and Danish message, nothing is written, the first entry
    stays, and the attempt is on the citizen's record (R9)."""
    _nurse, _shift, visit, client = _on_site()
    note = {"kind": "note", "text": "Borgeren sover", "client_ref": "entry-ref-001"}
    assert client.post(f"/nurse/visits/{visit.pk}/note/", note, **REPLAY).status_code == 200
    other_note = {**note, "text": "Borgeren har feber"}
    vitals = {"vital_8310-5": "39,5", "client_ref": "entry-ref-001"}
    for path, form in (("note", other_note), ("vitals", vitals)):
        response = client.post(f"/nurse/visits/{visit.pk}/{path}/", form, **REPLAY)
        assert response.status_code == 409, response.content.decode()[:2000]
        error = response.json()["error"]
        assert error["code"] == "submission.client_ref_reused"
        assert "intet blev gemt" in error["message"]
    assert list(VisitNote.objects.filter(visit=visit).values_list("text", flat=True)) == [
        "Borgeren sover"
    ]
    assert not visit.vital_signs.exists()
    assert _reused_refusals(visit) == 2
    # The first entry sent again is still just "already received".
    again = client.post(f"/nurse/visits/{visit.pk}/note/", note, **REPLAY)
    assert again.status_code == 200
    assert VisitNote.objects.filter(visit=visit).count() == 1
    assert _reused_refusals(visit) == 2


def test_a_completion_sent_again_with_another_outcome_is_not_taken_as_received():
    """The visit is completed "treated at home"; the same reference then
    saying "admitted" is not answered as received (the nurse would believe
    the admission was sent). The visit is closed to her, so it is refused."""
    _nurse, _shift, visit, client = _on_site()
    form = {"outcome": "treated_at_home", "assessment": "Klar", "client_ref": "complete-0002"}
    assert client.post(f"/nurse/visits/{visit.pk}/complete/", form, **REPLAY).status_code == 200
    again = client.post(
        f"/nurse/visits/{visit.pk}/complete/", {**form, "outcome": "admitted"}, **REPLAY
    )
    assert again.status_code == 403
    assert again.json()["error"]["code"] == "not_available"
    visit.refresh_from_db()
    assert visit.outcome == "treated_at_home"


def test_a_dose_is_another_entry_by_its_quantity_not_by_the_witness_password_or_queued_time():
    """What may differ between two sends of one entry — the witness's
    password, kept only in memory, and the time the tablet queued a dose —
    does not make it another entry: the dose leaves the bag once. Another
    quantity under the same reference is another dose, refused."""
    nurse, _shift, visit, client = _on_site()
    furosemide, order = _furosemide_order(nurse, visit, client)
    dose = _dose(order, furosemide, "dose-ref-0002")
    first = client.post(f"/nurse/visits/{visit.pk}/give/", dose)
    assert first.status_code == 302, first.content.decode()[:2000]
    queued = {**dose, "given_offline_at": timezone.now().isoformat(), "witness_password": ""}
    again = client.post(f"/nurse/visits/{visit.pk}/give/", queued, **REPLAY)
    assert again.status_code == 200, again.content.decode()[:2000]
    assert Administration.objects.filter(order_id=order.pk).count() == 1
    assert _reused_refusals(visit) == 0
    other = client.post(f"/nurse/visits/{visit.pk}/give/", {**dose, "quantity": "2"}, **REPLAY)
    assert other.status_code == 409, other.content.decode()[:2000]
    assert other.json()["error"]["code"] == "submission.client_ref_reused"
    assert Administration.objects.filter(order_id=order.pk).count() == 1
    assert _reused_refusals(visit) == 1


# --- answers to the queue -----------------------------------------------------------


def test_a_queued_form_learns_the_redirect_as_json():
    _nurse, _shift, visit, client = _on_site()
    response = client.post(
        f"/nurse/visits/{visit.pk}/note/",
        {"kind": "note", "text": "Sendt fra køen", "client_ref": "note-queue-01"},
        **REPLAY,
    )
    assert response.status_code == 200
    assert response.json() == {"location": f"/nurse/visits/{visit.pk}/"}
    assert VisitNote.objects.get(visit=visit).text == "Sendt fra køen"


def test_a_queued_form_after_the_session_ended_learns_it_must_log_in_again():
    _nurse, _shift, visit, _client = _on_site()
    response = Client().post(
        f"/nurse/visits/{visit.pk}/note/",
        {"kind": "note", "text": "Efter udløbet session", "client_ref": "note-queue-02"},
        **REPLAY,
    )
    assert response.status_code == 200
    assert response.json()["location"].startswith("/login/")
    assert not VisitNote.objects.filter(visit=visit).exists()


def test_a_refused_queued_form_gets_its_code_and_danish_message_as_json():
    _nurse, _shift, visit, client = _on_site()
    response = client.post(
        f"/nurse/visits/{visit.pk}/vitals/",
        {"vital_8867-4": "900", "client_ref": "vitals-queue-1"},
        **REPLAY,
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"]
    assert "vital_8867-4" in error["fields"]
    assert "The value" not in error["message"]  # Danish, as the page says it
    assert not VisitSubmission.objects.filter(client_ref="vitals-queue-1").exists()


def test_a_queued_form_for_a_visit_given_to_a_colleague_is_refused_as_not_available():
    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    _colleague, colleague_shift = factories.acute_nurse_on_shift()
    from acute.services import visit_assign

    visit_assign(
        referral=visit.referral,
        shift=colleague_shift,
        actor=Actor.for_membership(coordinator),
        replacing=visit,
    )
    response = client.post(
        f"/nurse/visits/{visit.pk}/note/",
        {"kind": "note", "text": "Min tekst", "client_ref": "note-queue-03"},
        **REPLAY,
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "not_available"
    assert "ikke længere dit" in error["message"]
    assert not VisitNote.objects.filter(visit=visit).exists()


def test_a_queued_form_made_by_another_user_is_refused_recorded_and_never_written():
    """An entry queued on the tablet by one nurse is never received under the
    session of another who signs in there: refused with its code and Danish
    message, nothing written, and the attempt recorded on the citizen (R9).
    Her own entry, named as hers, is received."""
    nurse, _shift, visit, client = _on_site()
    colleague, _colleague_shift = factories.acute_nurse_on_shift()
    refused = client.post(
        f"/nurse/visits/{visit.pk}/note/",
        {"kind": "note", "text": "Skrevet af en kollega", "client_ref": "note-other-01"},
        HTTP_X_OFFLINE_OWNER=device_owner(colleague.user.pk),
        **REPLAY,
    )
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "offline.other_user"
    assert "en anden bruger" in error["message"]
    assert not VisitNote.objects.filter(visit=visit).exists()
    assert not VisitSubmission.objects.filter(client_ref="note-other-01").exists()
    denied = AuditEntry.objects.get(citizen_id=visit.citizen_id, reason_code="offline.other_user")
    assert denied.outcome == "denied"
    assert denied.actor_user_id == nurse.user.pk

    received = client.post(
        f"/nurse/visits/{visit.pk}/note/",
        {"kind": "note", "text": "Mit eget notat", "client_ref": "note-own-01"},
        HTTP_X_OFFLINE_OWNER=device_owner(nurse.user.pk),
        **REPLAY,
    )
    assert received.status_code == 200
    assert VisitNote.objects.get(visit=visit).text == "Mit eget notat"


# --- a dose given offline (R8) -------------------------------------------------------


def test_a_dose_given_offline_is_booked_with_the_time_she_gave_it():
    nurse, _shift, visit, client = _on_site()
    _sent_an_hour_ago(visit)
    furosemide, order = _furosemide_order(nurse, visit, client)
    _ordered_an_hour_ago(order)
    given = timezone.now() - dt.timedelta(minutes=20)
    response = client.post(
        f"/nurse/visits/{visit.pk}/give/",
        _dose(order, furosemide, "dose-offline-1", given_offline_at=given.isoformat()),
        **REPLAY,
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    administration = Administration.objects.get(order_id=order.pk)
    assert "uden forbindelse" in administration.note
    assert administration.administered_at == given
    assert not Notification.objects.filter(kind=Notification.Kind.OFFLINE_DOSE_REFUSED).exists()


def test_a_dose_given_offline_and_refused_is_flagged_for_the_officer_without_the_citizen():
    nurse, _shift, visit, client = _on_site()
    furosemide, order = _furosemide_order(nurse, visit, client)
    given = (timezone.now() - dt.timedelta(minutes=5)).isoformat()
    # Five ampoules: more than the order allows now (R8).
    form = _dose(order, furosemide, "dose-offline-2", quantity="5", given_offline_at=given)
    for _ in range(2):
        response = client.post(f"/nurse/visits/{visit.pk}/give/", form, **REPLAY)
        assert 400 <= response.status_code < 500
    assert not Administration.objects.filter(order_id=order.pk).exists()
    flag = Notification.objects.get(kind=Notification.Kind.OFFLINE_DOSE_REFUSED)
    assert flag.organisation_id == nurse.organisation_id
    assert flag.medicine_id == furosemide.pk and flag.location is not None
    # Why it was refused, in words the officer reads: never the refusal's code.
    assert "Furosemid" in flag.message
    assert response.json()["error"]["code"] not in flag.message
    assert response.json()["error"]["message"].rstrip(".") in flag.message
    citizen = visit.citizen
    assert citizen.cpr not in flag.message and citizen.family_name not in flag.message


def test_a_dose_given_offline_before_the_death_is_booked_and_one_after_it_flagged():
    nurse, _shift, visit, client = _on_site()
    _sent_an_hour_ago(visit)
    furosemide, order = _furosemide_order(nurse, visit, client)
    _ordered_an_hour_ago(order)
    citizen = visit.citizen
    citizen.deceased_at = timezone.now() - dt.timedelta(minutes=10)
    citizen.save(update_fields=["deceased_at"])
    before = (timezone.now() - dt.timedelta(minutes=20)).isoformat()
    response = client.post(
        f"/nurse/visits/{visit.pk}/give/",
        _dose(order, furosemide, "dose-death-01", given_offline_at=before),
        **REPLAY,
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    assert Administration.objects.filter(order_id=order.pk).count() == 1
    after = (timezone.now() - dt.timedelta(minutes=5)).isoformat()
    response = client.post(
        f"/nurse/visits/{visit.pk}/give/",
        _dose(order, furosemide, "dose-death-02", given_offline_at=after),
        **REPLAY,
    )
    assert response.status_code == 412
    assert response.json()["error"]["code"] == "administration.citizen_deceased"
    assert Administration.objects.filter(order_id=order.pk).count() == 1
    assert Notification.objects.filter(kind=Notification.Kind.OFFLINE_DOSE_REFUSED).exists()


def test_a_refused_dose_sent_online_is_not_flagged():
    nurse, _shift, visit, client = _on_site()
    furosemide, order = _furosemide_order(nurse, visit, client)
    response = client.post(
        f"/nurse/visits/{visit.pk}/give/", _dose(order, furosemide, "dose-online-1", quantity="5")
    )
    assert response.status_code >= 400
    assert not Notification.objects.filter(kind=Notification.Kind.OFFLINE_DOSE_REFUSED).exists()


def test_a_dose_sent_at_once_carries_no_offline_time_and_is_booked_now():
    """Only a queued entry carries ``given_offline_at``; one sent at once is
    booked when it arrives. A queued time the server cannot take is refused,
    never moved (tests/portal/test_offline_times_kept.py)."""
    nurse, _shift, visit, client = _on_site()
    furosemide, order = _furosemide_order(nurse, visit, client)
    response = client.post(
        f"/nurse/visits/{visit.pk}/give/",
        _dose(order, furosemide, "dose-time-01", given_offline_at=""),
    )
    assert response.status_code == 302
    assert Administration.objects.get(order_id=order.pk).note == ""


# --- the tablet --------------------------------------------------------------------


def test_logout_tells_the_browser_to_clear_the_tablets_caches_and_storage():
    nurse, _shift, _visit = _assigned()
    client = _login(nurse)
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'


def test_the_service_worker_is_served_from_the_root_and_the_nurse_page_names_it():
    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    html = client.get("/nurse/visits/").content.decode()
    assert 'data-service-worker="/sw.js"' in html
    assert f'data-own-visits="/nurse/visits/{visit.pk}/ "' in html
    owner = html.split('data-device-owner="')[1].split('"')[0]
    assert len(owner) == 32 and str(nurse.user.pk) != owner
    worker = client.get("/sw.js")
    assert worker.status_code == 200
    assert "javascript" in worker["Content-Type"]


def test_other_users_have_another_owner_and_no_service_worker():
    nurse, _shift, _visit = _assigned()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    nurse_html = _login(nurse).get("/").content.decode()
    coordinator_html = _login(coordinator).get("/").content.decode()

    def owner(html: str) -> str:
        return html.split('data-device-owner="')[1].split('"')[0]

    assert owner(nurse_html) != owner(coordinator_html)
    assert "data-service-worker" not in coordinator_html


def test_the_visit_page_header_shows_age_and_masked_cpr_never_the_whole_number():
    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    _walk_to_site(client, visit)
    html = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    citizen = visit.citizen
    today = timezone.localdate()
    born = citizen.birth_date
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    assert f"{age} år" in html
    assert f"{citizen.cpr[:6]}-XXXX" in html
    assert citizen.cpr not in html
    for tab in ("Henvisning", "Journal", "Dokumentér", "Afslut"):
        assert f">{tab}</a>" in html
    assert 'data-tabs="tab-document"' in html  # on site: she documents
