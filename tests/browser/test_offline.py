"""The nurse's tablet without a network (issue 21, docs/decisions/0013), in
headless Chromium with Playwright's offline mode: her day is readable offline,
every write of a visit waits in one queue and is sent once, in order; a
conflict is shown with her text kept; a dose given offline is "to be recorded"
until the server decides, and the medicine officer is told if it refuses;
logout leaves nothing readable on the tablet."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from acute import services as acute_services
from acute.clinical.models import LabResult, ProcedureRecord
from acute.models import Visit, VisitNote, VitalSign
from acute.services import visit_assign
from core.actors import Actor
from core.models import Role
from medicine_cabinet import services as cabinet
from medicine_cabinet.models import Administration, Notification
from tests import factories
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import TABLET_PORTRAIT, log_in, screenshot
from tests.browser.test_journeys import _stock_bag

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# What the tablet keeps, read from the page: the service worker's caches,
# IndexedDB databases with their queue and drafts, localStorage.
TABLET_STORAGE = """async () => {
    const names = await caches.keys();
    const cached = [];
    for (const name of names) {
        for (const request of await (await caches.open(name)).keys()) cached.push(request.url);
    }
    const databases = (await indexedDB.databases()).map(d => d.name);
    let queued = 0, drafts = 0;
    if (databases.includes("tvaerakut")) {
        const db = await new Promise(r => {
            const q = indexedDB.open("tvaerakut");
            q.onsuccess = () => r(q.result);
        });
        const count = store => new Promise(r => {
            const q = db.transaction(store).objectStore(store).count();
            q.onsuccess = () => r(q.result);
        });
        queued = await count("queue"); drafts = await count("drafts");
        db.close();
    }
    const workers = (await navigator.serviceWorker.getRegistrations()).length;
    return {caches: names, cached, databases, queued, drafts, local: localStorage.length, workers};
}"""

CACHED = """async (path) => {
    for (const name of await caches.keys()) {
        if (name.startsWith("pages-") && await (await caches.open(name)).match(path)) return true;
    }
    return false;
}"""


def _visit_for_nurse():
    nurse, shift = factories.acute_nurse_on_shift()
    coordinator = factories.staff(Role.COORDINATOR, factories.acute_function())
    referral = factories.acute_referral(by=coordinator)
    visit = visit_assign(referral=referral, shift=shift, actor=Actor.for_membership(coordinator))
    return nurse, coordinator, referral, visit, shift


def _her_day_cached(page, visit) -> None:
    """Her visit list, once online: the service worker takes the page over
    and keeps her open visits."""
    page.goto("/nurse/visits/")
    page.wait_for_function(CACHED, arg=f"/nurse/visits/{visit.pk}/")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    # The reloaded list tells the worker her visits again: kept, not fetched anew.
    page.wait_for_function(CACHED, arg=f"/nurse/visits/{visit.pk}/")


def _queued(page) -> list[dict]:
    return page.evaluate("window.tvaerakutOutbox.items()")


def test_a_whole_visit_without_a_network_loses_nothing_and_records_nothing_twice(
    new_page, celery_worker
):
    nurse, _coordinator, referral, visit, _shift = _visit_for_nurse()
    _stock_bag(nurse)
    citizen = visit.citizen
    address = citizen.address_line

    page = new_page(TABLET_PORTRAIT)
    log_in(page, nurse.user.username, factories.PASSWORD)
    _her_day_cached(page, visit)

    # Cut off before she even opened the visit: it is readable from the tablet.
    # (The address changes on the server meanwhile: the page shown is the kept copy.)
    type(citizen).objects.filter(pk=citizen.pk).update(address_line="Ændret Vej 1")
    page.context.set_offline(True)
    page.goto(f"/nurse/visits/{visit.pk}/")
    assert address in page.locator(".citizen-facts").inner_text()
    expect(page.locator("#tab-referral")).to_contain_text(referral.reason)
    # A reload without a network shows the visit again. Which copy of the
    # address it shows is not asked: Chromium's offline emulation does not
    # always reach a service worker that restarts, and a busy machine lets
    # the worker refresh its copy before the emulation reaches it.
    type(citizen).objects.filter(pk=citizen.pk).update(address_line=address)
    page.reload()
    assert "2820 Gentofte" in page.locator(".citizen-facts").inner_text()
    expect(page.locator("#tab-referral")).to_contain_text(referral.reason)
    assert "-XXXX" in page.locator("[data-cpr]").inner_text()
    assert_accessible(page)

    # Every status step, offline: queued in order, the next step offered.
    for step in ("Acceptér", "Kør", "Ankommet"):
        page.get_by_role("button", name=step).click()
        expect(page.locator(f'#outbox-items li:has-text("{step}")')).to_have_count(1)
    assert Visit.objects.get(pk=visit.pk).status == Visit.Status.ASSIGNED

    # Documentation offline: vital signs, a result, a procedure, a note; a reload
    # loses nothing.
    page.get_by_role("tab", name="Dokumentér").click()
    page.get_by_label("Puls (/min)").fill("88")
    page.get_by_role("button", name="Gem vitale værdier").click()
    page.get_by_label("Prøve", exact=True).select_option("NPU19748")
    page.get_by_label("Værdi", exact=True).fill("42")
    page.get_by_role("button", name="Gem resultat").click()
    page.get_by_label("Procedure", exact=True).select_option("urinary-catheter")
    page.get_by_label("Notat om proceduren").fill("KAD CH14, klar urin")
    page.get_by_role("button", name="Registrér procedure").click()
    page.get_by_label("Notat", exact=True).fill("Halvt skrevet notat om borgeren")
    page.evaluate("window.tvaerakutOutbox.drafted()")
    page.reload()
    page.get_by_role("tab", name="Dokumentér").click()
    expect(page.get_by_label("Notat", exact=True)).to_have_value("Halvt skrevet notat om borgeren")
    page.get_by_role("button", name="Gem notat").click()
    assert page.url.endswith(f"/nurse/visits/{visit.pk}/#tab-document")
    expect(page.locator("#outbox-items li")).to_have_count(7)
    items = _queued(page)
    assert [i["state"] for i in items] == ["waiting"] * 7
    assert len({i["ref"] for i in items}) == 7
    screenshot(page, "nurse-offline-queue")
    assert not VitalSign.objects.filter(visit=visit).exists()
    assert not LabResult.objects.filter(visit=visit).exists()
    assert not ProcedureRecord.objects.filter(visit=visit).exists()
    assert not VisitNote.objects.filter(visit=visit).exists()

    # The connection returns: sent in order, each once.
    page.context.set_offline(False)
    page.evaluate("window.tvaerakutOutbox.flush()")
    expect(page.locator("#outbox")).to_be_hidden()
    assert Visit.objects.get(pk=visit.pk).status == Visit.Status.ON_SITE
    assert VitalSign.objects.filter(visit=visit).count() == 1
    assert LabResult.objects.filter(visit=visit).count() == 1
    assert ProcedureRecord.objects.get(visit=visit).note == "KAD CH14, klar urin"
    assert VisitNote.objects.get(visit=visit).text == "Halvt skrevet notat om borgeren"

    # Every entry arrives again (the answers were lost on the way back): nothing twice.
    page.evaluate(
        """items => Promise.all(
            items.map(i => window.tvaerakutOutbox.put({...i, state: "waiting"}))
        ).then(() => window.tvaerakutOutbox.flush())""",
        items,
    )
    assert _queued(page) == []
    assert VitalSign.objects.filter(visit=visit).count() == 1
    assert LabResult.objects.filter(visit=visit).count() == 1
    assert ProcedureRecord.objects.filter(visit=visit).count() == 1
    assert VisitNote.objects.filter(visit=visit).count() == 1

    # A dose given offline waits as "to be recorded", never as recorded.
    order = factories.phone_order(nurse, Visit.objects.get(pk=visit.pk))
    page.reload()
    page.context.set_offline(True)
    give = page.locator('form[action$="/give/"]')
    give.get_by_label("Mængde", exact=False).fill("1")
    give.get_by_role("button", name="Giv dosis").click()
    waiting = page.locator("#outbox-items li").first
    expect(waiting).to_have_attribute("data-state", "to_record")
    expect(waiting).to_contain_text("skal registreres")
    assert not Administration.objects.filter(order_id=order.pk).exists()

    # Completion offline: she stays on the page; it is sent after the dose.
    page.get_by_role("tab", name="Afslut").click()
    page.get_by_label("Udfald", exact=True).select_option("treated_at_home")
    page.get_by_label("Vurdering", exact=False).last.fill("UVI, pivmecillinam startet")
    page.get_by_role("button", name="Afslut besøg").click()
    expect(page.locator("#outbox-items li")).to_have_count(2)
    assert page.url.endswith(f"/nurse/visits/{visit.pk}/#tab-complete")
    assert Visit.objects.get(pk=visit.pk).status == Visit.Status.ON_SITE

    page.context.set_offline(False)
    page.evaluate("window.tvaerakutOutbox.flush()")
    expect(page.locator("#outbox")).to_be_hidden()
    administration = Administration.objects.get(order_id=order.pk)
    assert "uden forbindelse" in administration.note
    done = Visit.objects.get(pk=visit.pk)
    assert done.status == Visit.Status.COMPLETED
    assert done.outcome == "treated_at_home"

    # Logout leaves nothing readable: no cached page, no queue, no draft, no worker.
    page.goto("/nurse/visits/")
    page.get_by_role("button", name="Log ud").click()
    page.wait_for_url("**/login/**")
    left = page.evaluate(TABLET_STORAGE)
    assert left["caches"] == [] and left["cached"] == []
    assert "tvaerakut" not in left["databases"] or (left["queued"], left["drafts"]) == (0, 0)
    assert left["local"] == 0
    assert left["workers"] == 0


def test_a_conflict_is_shown_plainly_with_her_text_and_a_refused_offline_dose_is_flagged(
    new_page, celery_worker
):
    nurse, coordinator, referral, visit, shift = _visit_for_nurse()
    as_nurse = Actor.for_membership(nurse)
    visit = acute_services.visit_accept(visit=visit, actor=as_nurse)

    page = new_page(TABLET_PORTRAIT)
    log_in(page, nurse.user.username, factories.PASSWORD)
    _her_day_cached(page, visit)
    page.goto(f"/nurse/visits/{visit.pk}/#tab-document")

    # Offline she sets off and writes a note; meanwhile the visit is given to a colleague.
    page.context.set_offline(True)
    page.get_by_label("Notat", exact=True).fill("Borgeren har ringet: døren er åben")
    page.get_by_role("button", name="Gem notat").click()
    expect(page.locator("#outbox-items li")).to_have_count(1)
    _colleague, colleague_shift = factories.acute_nurse_on_shift()
    visit_assign(
        referral=referral,
        shift=colleague_shift,
        actor=Actor.for_membership(coordinator),
        replacing=visit,
    )

    page.context.set_offline(False)
    page.evaluate("window.tvaerakutOutbox.flush()")
    refused = page.locator('#outbox-items li[data-state="refused"]')
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("ikke længere dit")
    expect(refused.locator("textarea")).to_have_value("Notat: Borgeren har ringet: døren er åben")
    assert page.url.endswith(f"/nurse/visits/{visit.pk}/#tab-document")
    assert not VisitNote.objects.filter(visit=visit).exists()
    screenshot(page, "nurse-offline-conflict")

    # Her list no longer holds the visit, and neither does the tablet.
    page.goto("/nurse/visits/")
    page.wait_for_function(f"async () => !(await ({CACHED})('/nurse/visits/{visit.pk}/'))")

    # A dose on another visit, given offline after the lot was recalled (her page,
    # loaded before, cannot know): refused when it arrives. One given before the
    # recall is booked (tests/medicine_cabinet/test_dose_given_before_recall.py).
    second = visit_assign(
        referral=factories.acute_referral(by=coordinator),
        shift=shift,
        actor=Actor.for_membership(coordinator),
    )
    for step in (
        acute_services.visit_accept,
        acute_services.visit_set_off,
        acute_services.visit_arrive,
    ):
        second = step(visit=second, actor=as_nurse)
    suggested, later = _stock_bag(nurse)
    order = factories.phone_order(nurse, second)
    page.goto(f"/nurse/visits/{second.pk}/")
    page.context.set_offline(True)
    officer = factories.staff(Role.MEDICINE_OFFICER, nurse.organisation)
    for lot in (suggested, later):
        cabinet.lot_recall(
            actor=Actor.for_membership(officer), lot=lot, reason="Tilbagekaldt af leverandøren"
        )
    give = page.locator('form[action$="/give/"]')
    give.get_by_label("Mængde", exact=False).fill("1")
    give.get_by_role("button", name="Giv dosis").click()
    expect(page.locator('#outbox-items li[data-state="to_record"]')).to_have_count(1)

    page.context.set_offline(False)
    page.evaluate("window.tvaerakutOutbox.flush()")
    flagged = page.locator('#outbox-items li[data-state="flagged"]')
    expect(flagged).to_have_count(1)
    expect(flagged).to_contain_text("lægemiddelansvarlige har fået besked")
    assert not Administration.objects.filter(order_id=order.pk).exists()
    flag = Notification.objects.get(kind=Notification.Kind.OFFLINE_DOSE_REFUSED)
    assert "Pivmecillinam" in flag.message and flag.acknowledged_at is None
    assert second.citizen.cpr not in flag.message
    assert second.citizen.family_name not in flag.message
    assert abs(flag.created_at - timezone.now()) < dt.timedelta(minutes=5)


def test_another_nurse_signing_in_on_the_tablet_finds_nothing_of_the_first(new_page, celery_worker):
    nurse, _coordinator, _referral, visit, _shift = _visit_for_nurse()
    page = new_page(TABLET_PORTRAIT)
    log_in(page, nurse.user.username, factories.PASSWORD)
    _her_day_cached(page, visit)
    page.goto(f"/nurse/visits/{visit.pk}/#tab-document")
    page.context.set_offline(True)
    page.get_by_label("Notat", exact=True).fill("Kladde, som ingen anden må læse")
    page.get_by_role("button", name="Gem notat").click()
    expect(page.locator("#outbox-items li")).to_have_count(1)

    # Her session ends without a logout: the entry is sent named as hers, and
    # kept for her when it is not received.
    owner = page.locator("body").get_attribute("data-device-owner")
    assert _queued(page)[0]["owner"] == owner
    page.context.clear_cookies()
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/note/")) as sent:
        page.context.set_offline(False)
    assert sent.value.headers["x-offline-owner"] == owner
    expect(page.locator('#outbox-items li[data-state="login"]')).to_have_count(1)

    # The login page says that entries wait, never what they hold, and none of
    # her pages stays readable offline for whoever holds the tablet next.
    page.goto("/login/")
    expect(page.locator("#queue-left")).to_contain_text("endnu ikke er sendt")
    assert "Kladde" not in page.content()
    page.wait_for_function("async () => !(await caches.keys()).some(n => n.startsWith('pages-'))")
    page.context.set_offline(True)
    # Asked offline through the tablet's service worker, as a page would be.
    kept = page.evaluate(
        "path => fetch(path).then(r => r.text(), () => '')", f"/nurse/visits/{visit.pk}/"
    )
    assert visit.citizen.address_line not in kept
    page.context.set_offline(False)

    # A colleague signs in on the same tablet.
    colleague, _colleague_shift = factories.acute_nurse_on_shift()
    log_in(page, colleague.user.username, factories.PASSWORD)
    page.goto("/nurse/visits/")
    page.wait_for_function("async () => (await window.tvaerakutOutbox.items()).length === 0")
    left = page.evaluate(TABLET_STORAGE)
    assert not any(f"/nurse/visits/{visit.pk}/" in url for url in left["cached"])
    assert (left["queued"], left["drafts"]) == (0, 0)
    assert "Kladde" not in page.content()
    assert not VisitNote.objects.filter(visit=visit).exists()


def test_a_draft_read_back_late_leaves_the_field_she_is_filling_as_she_types_it(
    new_page, celery_worker
):
    """The draft is read from the tablet's storage a moment after the page
    shows. A field she has already begun to fill is hers: the draft neither
    overwrites it nor mixes with what she types."""
    nurse, _coordinator, _referral, visit, _shift = _visit_for_nurse()
    page = new_page(TABLET_PORTRAIT)
    log_in(page, nurse.user.username, factories.PASSWORD)
    page.goto(f"/nurse/visits/{visit.pk}/#tab-document")
    note = page.get_by_label("Notat", exact=True)
    note.fill("Halvt skrevet notat")
    page.evaluate("window.tvaerakutOutbox.drafted()")
    page.reload()
    page.get_by_role("tab", name="Dokumentér").click()
    expect(note).to_have_value("Halvt skrevet notat")

    # As on a page just shown, before the draft is read: the note is empty
    # (emptied without a keystroke, so the draft still holds the old text).
    # She begins a new note; the draft arrives while she types.
    note.evaluate("field => { field.value = ''; }")
    note.focus()
    page.evaluate("window.tvaerakutOutbox.restore()")
    page.keyboard.type("Nyt notat")
    expect(note).to_have_value("Nyt notat")


def test_a_logout_without_a_connection_ends_her_session_once_the_tablet_is_online(
    new_page, celery_worker
):
    """The logout posted offline never reached the server: her session stayed
    alive for whoever used the tablet next, and the audit log named her. The
    tablet remembers it, shows nothing of hers meanwhile, and its next request
    ends the session before anything is answered under it."""
    from django.contrib.sessions.models import Session

    from consent.audit.models import AuditEntry

    nurse, _coordinator, _referral, visit, _shift = _visit_for_nurse()
    page = new_page(TABLET_PORTRAIT)
    log_in(page, nurse.user.username, factories.PASSWORD)
    page.goto(f"/nurse/visits/{visit.pk}/")
    expect(page.locator("body")).to_contain_text(visit.citizen.address_line)
    session_key = next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")
    signouts = AuditEntry.objects.filter(reason_code="signout", actor_user_id=nurse.user_id)

    page.context.set_offline(True)
    page.get_by_role("button", name="Log ud").click()
    expect(page.locator("#signout-pending")).to_contain_text("logget ud")
    assert visit.citizen.address_line not in page.content()
    assert Session.objects.filter(session_key=session_key).exists()
    assert not signouts.exists()

    # Online again: the tablet's first request ends her session, then the login page.
    page.context.set_offline(False)
    page.wait_for_url("**/login/**")
    expect(page.get_by_label("Brugernavn")).to_be_visible()
    assert not Session.objects.filter(session_key=session_key).exists()
    # Her session cookie, as the next user would send it, opens nothing.
    page.context.add_cookies(
        [{"name": "sessionid", "value": session_key, "url": page.url.split("/login/")[0]}]
    )
    page.goto(f"/nurse/visits/{visit.pk}/")
    assert "/login/" in page.url
    assert visit.citizen.address_line not in page.content()
    assert signouts.count() == 1


def test_an_entry_whose_tablet_time_is_over_a_day_old_is_kept_refused_with_the_reason(
    new_page, celery_worker
):
    """A measurement the tablet sends 26 hours after it was taken is not
    recorded as taken now: the tablet keeps it as refused, says why, and
    keeps what she typed; the status steps queued before it are recorded
    when she tapped them."""
    nurse, _coordinator, referral, visit, _shift = _visit_for_nurse()
    page = new_page(TABLET_PORTRAIT)
    log_in(page, nurse.user.username, factories.PASSWORD)
    _her_day_cached(page, visit)
    page.goto(f"/nurse/visits/{visit.pk}/")

    page.context.set_offline(True)
    for step in ("Acceptér", "Kør", "Ankommet"):
        page.get_by_role("button", name=step).click()
        expect(page.locator(f'#outbox-items li:has-text("{step}")')).to_have_count(1)
    page.get_by_role("tab", name="Dokumentér").click()
    page.get_by_label("Puls (/min)").fill("88")
    page.get_by_role("button", name="Gem vitale værdier").click()
    expect(page.locator("#outbox-items li")).to_have_count(4)
    arrived = next(i for i in _queued(page) if "Ankommet" in i["label"])
    # The measurement's time on the tablet: 26 hours back (a tablet left in a drawer).
    late = (timezone.now() - dt.timedelta(hours=26)).isoformat()
    page.evaluate(
        """late => window.tvaerakutOutbox.items().then(items => Promise.all(
            items.filter(i => i.url.endsWith("/vitals/")).map(i => window.tvaerakutOutbox.put({
                ...i,
                fields: i.fields.filter(p => p[0] !== "given_offline_at")
                    .concat([["given_offline_at", late]]),
            }))
        ))""",
        late,
    )

    page.context.set_offline(False)
    page.evaluate("window.tvaerakutOutbox.flush()")
    refused = page.locator('#outbox-items li[data-state="refused"]')
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("mere end et døgn")
    expect(refused.locator("textarea")).to_contain_text("88")
    assert not VitalSign.objects.filter(visit=visit).exists()
    reached = Visit.objects.get(pk=visit.pk)
    assert reached.status == Visit.Status.ON_SITE
    assert reached.on_site_at == dt.datetime.fromisoformat(
        dict(arrived["fields"])["given_offline_at"]
    )
    referral.refresh_from_db()
    assert referral.reached_at == reached.on_site_at
