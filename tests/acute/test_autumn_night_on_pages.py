"""The night summer time ends (the last Sunday of October), 02:00-02:59 comes
twice in Copenhagen. A page's time field takes no offset, so a coordinator
who types 02:30 there is shown the same form again, with what she typed,
and a required choice between the two instants ("02:30 første gang
(sommertid)", "02:30 anden gang (vintertid)"), read by the one reader of a
page's times (core.times) for every page form. Without a choice it is still
refused, never guessed; the hour the clocks skip in March stays refused."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client, RequestFactory
from django.utils import translation

from acute.clinical.models import MedicationOrder
from acute.models import Referral
from acute.pages.referral_forms import _requested_typed
from core.errors import InvalidInput
from core.times import TwiceShown, local_wall_time, twice_choice_name
from tests import factories as f
from tests.acute.clinical.conftest import visit_scene
from tests.acute.clinical.test_order_received_by_another_route import (
    UNKNOWN_PHYSICIAN,
    _phone_order,
)
from tests.acute.test_api import REFERRAL
from tests.acute.test_pages import PHONE_REFERRAL

pytestmark = pytest.mark.django_db

# 2026-10-25 02:30 in Copenhagen: first at +02:00 (00:30 UTC), then at
# +01:00 (01:30 UTC).
FIRST = dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)
SECOND = dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)
FIRST_SENT = "2026-10-25T00:30:00Z"
SECOND_SENT = "2026-10-25T01:30:00Z"


def _signed_in(membership) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def _choice_block(html: str, name: str) -> str:
    start = html.index(f'data-choice="{name}"')
    return html[start : html.index("</fieldset>", start)]


# --- the one reader --------------------------------------------------------------


def test_the_reader_takes_either_instant_chosen_and_refuses_without_one() -> None:
    typed = dt.datetime(2026, 10, 25, 2, 30)
    name = twice_choice_name("at")
    assert local_wall_time(typed, field="at", form={name: FIRST_SENT}) == FIRST
    assert local_wall_time(typed, field="at", form={name: SECOND_SENT}) == SECOND
    # No choice, a choice for another time, or one that is no instant: refused.
    for form in ({}, {name: "2026-10-25T00:45:00Z"}, {name: "first"}, {"other": FIRST_SENT}):
        with pytest.raises(TwiceShown) as refused:
            local_wall_time(typed, field="at", form=form)
        assert refused.value.code == "time.local_ambiguous"
        assert refused.value.instants == (FIRST, SECOND)
    # The hour the clocks skip in March has no instant to choose.
    with pytest.raises(InvalidInput) as skipped:
        local_wall_time(
            dt.datetime(2027, 3, 28, 2, 30), field="at", form={name: "2027-03-28T01:30:00Z"}
        )
    assert skipped.value.code == "time.local_nonexistent"


def test_the_choice_speaks_danish() -> None:
    with pytest.raises(TwiceShown) as refused:
        local_wall_time(dt.datetime(2026, 10, 25, 2, 30), field="at", form={})
    with translation.override("da"):
        assert refused.value.choices() == [
            (FIRST_SENT, "02:30 første gang (sommertid)"),
            (SECOND_SENT, "02:30 anden gang (vintertid)"),
        ]


# --- the board: the physician phoned to withdraw her order ---------------------


def _withdrawal_scene():
    scene = visit_scene()
    order = _phone_order(scene, **UNKNOWN_PHYSICIAN)
    # Ordered the evening before the clocks went back.
    MedicationOrder.objects.filter(pk=order.pk).update(
        ordered_at=dt.datetime(2026, 10, 24, 20, 0, tzinfo=dt.UTC)
    )
    return scene, order


def _withdraw(client: Client, order: MedicationOrder, **sent: str):
    return client.post(
        f"/coordinator/orders/{order.pk}/withdrawal-phoned/",
        {"phoned_by": "Peter Vagtlæge", "reason": "Forkert patient", **sent},
    )


def test_the_board_asks_which_0230_the_physician_phoned_and_keeps_what_was_typed() -> None:
    scene, order = _withdrawal_scene()
    client = _signed_in(scene.coordinator)

    page = _withdraw(client, order, phoned_at="2026-10-25T02:30")

    assert page.status_code == 400
    html = page.content.decode()
    assert 'data-code="time.local_ambiguous"' in html
    assert "vælg, hvilket af de to du mener" in html
    assert "forskydning" not in html  # no offset asked of a field that takes none
    # The same form again, as she filled it in.
    assert 'value="2026-10-25T02:30"' in html
    assert 'value="Forkert patient"' in html
    choice = _choice_block(html, "phoned_at.instant")
    assert f'value="{FIRST_SENT}" required> 02:30 første gang (sommertid)' in choice
    assert f'value="{SECOND_SENT}" required> 02:30 anden gang (vintertid)' in choice
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION


@pytest.mark.parametrize(("chosen", "stored"), [(FIRST_SENT, FIRST), (SECOND_SENT, SECOND)])
def test_the_board_records_the_0230_the_coordinator_chose(chosen: str, stored) -> None:
    scene, order = _withdrawal_scene()
    client = _signed_in(scene.coordinator)

    sent = _withdraw(client, order, phoned_at="2026-10-25T02:30", **{"phoned_at.instant": chosen})

    assert sent.status_code == 302
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.CANCELLED
    assert order.cancel_phoned_at == stored


def test_the_board_still_refuses_the_skipped_hour() -> None:
    scene, order = _withdrawal_scene()
    client = _signed_in(scene.coordinator)

    sent = _withdraw(client, order, phoned_at="2027-03-28T02:30")

    # Refused, the form shown again as typed, the refusal under the time.
    assert sent.status_code == 400
    assert 'value="2027-03-28T02:30"' in sent.content.decode()
    assert "Tidspunktet findes ikke i dansk tid" in sent.content.decode()
    order.refresh_from_db()
    assert order.status == MedicationOrder.Status.AWAITING_CONFIRMATION


# --- the referral forms: the requested time --------------------------------------


@pytest.mark.parametrize(
    ("path", "who", "fields"),
    [
        ("/coordinator/referrals/new/", "coordinator", PHONE_REFERRAL),
        ("/referrals/new/", "physician", REFERRAL),
    ],
)
def test_a_referral_form_asks_which_0230_and_keeps_what_was_typed(path, who, fields) -> None:
    if who == "coordinator":
        membership = f.staff("coordinator", f.acute_function())
        person = f.citizen()
    else:
        f.acute_function()
        gp = f.gp_practice()
        membership = f.staff("physician", gp)
        person = f.citizen(gp=gp)
    typed = {"requested_date": "2026-10-25", "requested_from": "02:30", "requested_to": "02:45"}

    page = _signed_in(membership).post(path, {**fields, "cpr": person.cpr, **typed})

    assert page.status_code == 400
    html = page.content.decode()
    for name, time in (("requested_from", "02:30"), ("requested_to", "02:45")):
        choice = _choice_block(html, f"{name}.instant")
        assert f"{time} første gang (sommertid)" in choice
        assert f"{time} anden gang (vintertid)" in choice
    assert 'value="2026-10-25T00:30:00Z"' in html
    assert 'value="2026-10-25T00:45:00Z"' in html
    for value in typed.values():
        assert f'value="{value}"' in html
    assert fields["clinical_picture"] in html
    assert not Referral.objects.exists()


@pytest.mark.parametrize(("chosen", "stored"), [(FIRST_SENT, FIRST), (SECOND_SENT, SECOND)])
def test_a_referral_form_reads_the_0230_chosen(chosen: str, stored) -> None:
    """What the form hands the referral service (the ServiceRequest's
    occurrencePeriod, as every door gives it) is the instant chosen."""
    request = RequestFactory().post(
        "/coordinator/referrals/new/",
        {
            "requested_date": "2026-10-25",
            "requested_from": "02:30",
            "requested_from.instant": chosen,
        },
    )
    occurrence = _requested_typed(request)
    assert occurrence is not None
    start = occurrence.elements["occurrencePeriod"]["start"]
    assert dt.datetime.fromisoformat(start) == stored


def test_a_referral_form_refuses_a_choice_for_another_time() -> None:
    request = RequestFactory().post(
        "/coordinator/referrals/new/",
        {
            "requested_date": "2026-10-25",
            "requested_from": "02:45",  # changed after choosing for 02:30
            "requested_from.instant": FIRST_SENT,
        },
    )
    with pytest.raises(TwiceShown):
        _requested_typed(request)
