"""A lot is judged recalled by the moment the dose was given (R8): a dose
given from the bag before the recall and sent after it is booked — the unit
left the bag while the lot was good — and its citizen is on the recall's
follow-up list, with the medicine officer told; a dose given after the recall
is refused. On the API (``given_at``) and the tablet's offline queue
(``given_offline_at``) alike."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from acute.clinical.models import MedicationOrder
from acute.models import Visit
from core.models import Role
from medicine_cabinet.models import Administration, Balance, Movement, Notification
from tests import factories as f
from tests.medicine_cabinet.conftest import (
    FUROSEMIDE,
    denied_audited,
    give_offline,
    in_bag,
    on_the_nurses_page,
    order_for,
    phone_order_on_page,
    visit_for,
)

pytestmark = pytest.mark.django_db

MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def setting(officer, nurse, cabinet, bag, paracetamol):
    """Two tablets of lot P1 in the nurse's bag; the visit was assigned and
    the order made two hours ago."""
    lot = in_bag(officer, nurse, cabinet, bag, paracetamol, "2", batch="P1")
    citizen = f.citizen()
    visit = visit_for(nurse, citizen)
    earlier = timezone.now() - dt.timedelta(hours=2)
    Visit.objects.filter(pk=visit.pk).update(assigned_at=earlier)
    order = order_for(nurse, citizen, paracetamol, visit=visit, ordered_at=earlier)
    MedicationOrder.objects.filter(pk=order.pk).update(dose=1, dose_unit="tablet")
    body = {
        "visit": visit.pk,
        "order": order.pk,
        "medicine": paracetamol.pk,
        "quantity": "1",
        "unit": "tablet",
    }
    return {"lot": lot, "bag": bag, "citizen": citizen, "body": body}


def _recall(officer, lot):
    answer = f.client_for(officer).post(
        f"/api/cabinet/lots/{lot.pk}/recall", {"reason": "Fejl i pakningen"}, format="json"
    )
    assert answer.status_code == 200, answer.content
    lot.refresh_from_db()
    return answer


def _give(nurse, body, **extra):
    return f.client_for(nurse).post(
        "/api/cabinet/administrations", {**body, **extra}, format="json"
    )


def _on_the_follow_up(officer, lot, citizen) -> bool:
    client = f.client_for(officer)
    f.log_in(client, officer)
    page = client.get(f"/cabinet/recall/{lot.pk}/", HTTP_ACCEPT_LANGUAGE="da")
    assert page.status_code == 200
    return citizen.full_name in page.content.decode()


@pytest.mark.parametrize("name_the_lot", [True, False])
def test_a_dose_given_before_the_recall_and_sent_after_it_is_booked_and_followed_up(
    officer, nurse, setting, name_the_lot
):
    given = timezone.now() - 30 * MINUTE
    lot = setting["lot"]
    _recall(officer, lot)
    extra = {"lot": lot.pk} if name_the_lot else {}
    answer = _give(nurse, setting["body"], given_at=given.isoformat(), **extra)
    assert answer.status_code == 201, answer.content
    administration = Administration.objects.get()
    assert administration.lot == lot
    assert administration.administered_at == given
    assert Balance.objects.get(location=setting["bag"], lot=lot).quantity == 1
    # The recall's follow-up list names her now; the officer is told, no name given.
    assert _on_the_follow_up(officer, lot, setting["citizen"])
    (told,) = Notification.objects.filter(
        kind=Notification.Kind.RECALL, key=f"recall_dose:{administration.pk}"
    )
    assert told.lot_id == lot.pk and told.organisation_id == setting["bag"].organisation_id
    assert told.message.startswith("En dosis fra den tilbagekaldte batch P1")
    assert setting["citizen"].family_name not in told.message


def test_a_dose_given_after_the_recall_is_refused(officer, nurse, setting):
    lot = setting["lot"]
    _recall(officer, lot)
    for extra in ({"given_at": timezone.now().isoformat()}, {}):
        answer = _give(nurse, setting["body"], lot=lot.pk, **extra)
        assert answer.status_code == 412, answer.content
        assert answer.json()["error"]["code"] == "lot.recalled"
    # Given a minute after the recall, stated: still after it.
    late = lot.recalled_at + MINUTE
    if late < timezone.now():
        answer = _give(nurse, setting["body"], lot=lot.pk, given_at=late.isoformat())
        assert answer.json()["error"]["code"] == "lot.recalled"
    # Without a lot named, the recalled lot is not suggested: nothing usable.
    answer = _give(nurse, setting["body"], given_at=timezone.now().isoformat())
    assert answer.status_code == 409, answer.content
    assert answer.json()["error"]["code"] == "stock.none_usable"
    assert not Administration.objects.exists()
    assert not Movement.objects.filter(kind=Movement.Kind.ADMINISTERED).exists()
    assert Balance.objects.get(location=setting["bag"], lot=lot).quantity == 2
    assert denied_audited(setting["citizen"], "lot.recalled")
    assert not _on_the_follow_up(officer, lot, setting["citizen"])


def test_a_time_in_the_future_does_not_dodge_the_recall(officer, nurse, setting):
    lot = setting["lot"]
    _recall(officer, lot)
    answer = _give(
        nurse,
        setting["body"],
        lot=lot.pk,
        given_at=(timezone.now() + dt.timedelta(hours=1)).isoformat(),
    )
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["code"] == "offline.time_in_future"
    assert not Administration.objects.exists()


def test_the_tablets_queued_dose_is_judged_by_when_it_was_given():
    """The visit page's offline queue: the dose given before the recall is
    booked and listed on the recall; the one given after it is refused and
    flagged for the officer."""
    visit, client, furosemide, bag, lot = on_the_nurses_page(**FUROSEMIDE)
    start = timezone.now() - dt.timedelta(hours=2)
    Visit.objects.filter(pk=visit.pk).update(assigned_at=start)
    order = phone_order_on_page(
        client,
        visit,
        furosemide,
        dose="1",
        dose_unit="ampoule",
        frequency="to gange dagligt",
        duration="2 dage",
    )
    MedicationOrder.objects.filter(pk=order.pk).update(ordered_at=start)
    held = Balance.objects.get(location=bag, lot=lot).quantity
    officer = f.staff(Role.MEDICINE_OFFICER, bag.organisation)
    _recall(officer, lot)

    before = give_offline(
        client, visit, order, furosemide, "1", ref="dose-before-recall", at=lot.recalled_at - MINUTE
    )
    assert before.status_code == 200, before.content.decode()[:2000]
    (dose,) = Administration.objects.filter(order_id=order.pk)
    assert dose.lot_id == lot.pk
    assert Balance.objects.get(location=bag, lot=lot).quantity == held - 1
    assert _on_the_follow_up(officer, lot, visit.citizen)
    assert Notification.objects.filter(key=f"recall_dose:{dose.pk}", lot=lot).exists()

    after = give_offline(
        client, visit, order, furosemide, "1", ref="dose-after-recall", at=timezone.now()
    )
    assert after.status_code in (409, 412), after.content.decode()[:2000]
    assert after.json()["error"]["code"] in ("lot.recalled", "stock.none_usable")
    assert Administration.objects.filter(order_id=order.pk).count() == 1
    assert Balance.objects.get(location=bag, lot=lot).quantity == held - 1
    assert Notification.objects.filter(kind=Notification.Kind.OFFLINE_DOSE_REFUSED).exists()
