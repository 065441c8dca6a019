"""Text a person must write (a reason, a reply, a note) is blank when it shows
nothing to a reader: not only spaces, but a zero-width space, a word joiner,
a byte order mark or a no-break space. One rule (``core.validation.text_blank``)
on every door: such a value is refused with the door's own code and nothing
is written, so no record holds a reason nobody can read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from acute.models import Referral
from consent.models import BreakGlass
from core.errors import InvalidInput
from core.models import Citizen, Organisation, Role
from core.validation import required_text, text_blank, text_trimmed
from integrations.models import CareThread, OutboundMessage, Partner
from tests import factories as f
from tests.acute.test_referral_doors import DOORS as REFERRAL_DOORS
from tests.acute.test_referral_doors import send as referral_send
from tests.integrations.medcom.peers import example, post_signed

# What shows nothing yet passes the door (a zero-width space, a word joiner or
# a byte order mark is refused there: request.invisible_character).
INVISIBLE = ["\u200c\u200d", "\u00a0\u200d", "\u3164\u2800"]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "\u200b",  # zero-width space
        "\u200c\u200d",  # zero-width non-joiner and joiner
        "\u2060",  # word joiner
        "\ufeff",  # byte order mark
        "\u00ad",  # soft hyphen
        "\u00a0\u3000\u2007",  # no-break, ideographic and figure spaces
        "\u202e\u200f",  # direction marks
        "\u3164",  # Hangul filler
        "\n\t\u2028",
        None,
        7,
    ],
)
def test_text_of_invisible_characters_alone_is_blank(value: object) -> None:
    assert text_blank(value)
    assert text_trimmed(value) == ""
    with pytest.raises(InvalidInput) as refused:
        required_text(value, code="x.reason_required", field="reason", message="Say why.")
    assert (refused.value.code, refused.value.field) == ("x.reason_required", "reason")


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("Faldet", "Faldet"),
        ("\u200b Faldet i hjemmet\u2060\ufeff ", "Faldet i hjemmet"),
        ("ok", "ok"),
        ("1", "1"),
        # A joiner inside a word is part of what was written.
        ("Mor\u200dog far", "Mor\u200dog far"),
    ],
)
def test_written_text_is_kept_without_its_invisible_ends(value: str, kept: str) -> None:
    assert not text_blank(value)
    assert text_trimmed(value) == kept
    assert required_text(value, code="x", field="reason", message="Say why.") == kept


# --- every door that takes a required text ------------------------------------


def _logged_in(membership) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def _break_glass(text: str) -> tuple[tuple[int, str], Callable[[], bool]]:
    nurse = f.staff(Role.ACUTE_NURSE, f.acute_function())
    person = f.citizen()
    answer = f.client_for(nurse).post(
        "/api/consent/break-glass",
        {"citizen_id": person.pk, "reason": text, "basis": "cannot_be_asked"},
        format="json",
    )
    return (answer.status_code, answer.json()["error"]["code"]), BreakGlass.objects.exists


def _referral_decline(text: str) -> tuple[tuple[int, str], Callable[[], bool]]:
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(accepted=False, by=coordinator)
    messages_before = OutboundMessage.objects.count()
    answer = f.client_for(coordinator).post(
        f"/api/acute/referrals/{referral.pk}/decline", {"reason": text}, format="json"
    )

    def written() -> bool:
        referral.refresh_from_db()
        return (
            referral.status != Referral.Status.RECEIVED
            or referral.decline_reason != ""
            or OutboundMessage.objects.count() != messages_before
        )

    return (answer.status_code, answer.json()["error"]["code"]), written


def _care_thread_reply(text: str) -> tuple[tuple[int, str], Callable[[], bool]]:
    """The coordinator's reply form on the referral page: refused in Danish
    under the reply, shown again as written, and nothing leaves."""
    acute = f.acute_function()
    acute.sor_code, acute.ean = "953741000016009", "5790001348120"
    acute.save(update_fields=["sor_code", "ean"])
    hospital_org = f.organisation(
        Organisation.Kind.HOSPITAL,
        "Herlev og Gentofte",
        sor_code="265161000016000",
        ean="5790000209354",
    )
    hospital = f.integration_partner(
        Partner.Kind.HOSPITAL, hospital_org, endpoint_url="http://127.0.0.1:9/hospital"
    )
    person = f.citizen()
    Citizen.objects.filter(pk=person.pk).update(cpr="2509479989")  # MedCom's test person
    person.refresh_from_db()
    coordinator = f.staff(Role.COORDINATOR, acute)
    referral = f.acute_referral(person=person, by=coordinator)
    post_signed(hospital, example("carecommunication", "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"))
    thread = CareThread.objects.get()
    client = _logged_in(coordinator)
    answer = client.post(
        f"/care-threads/{thread.pk}/reply/", {"text": text, "on": f"referral-{referral.pk}"}
    )
    page = answer.content.decode()
    told = "Skriv svaret." in page  # the message of care_thread.reply_empty

    def written() -> bool:
        return thread.messages.filter(direction="out").exists() or OutboundMessage.objects.exists()

    return (answer.status_code, "care_thread.reply_empty" if told else ""), written


def _fhir_referral_reason(text: str) -> tuple[tuple[int, str], Callable[[], bool]]:
    f.acute_function()
    person = f.citizen()
    return referral_send("fhir", {"cpr": person.cpr, "reason": text}), Referral.objects.exists


DOORS: dict[str, tuple[Callable[[str], Any], tuple[int, str]]] = {
    "break-glass reason, API": (_break_glass, (400, "break_glass.reason_required")),
    "referral decline reason, API": (
        _referral_decline,
        (400, "referral.decline_reason_required"),
    ),
    "care-thread reply, page": (_care_thread_reply, (400, "care_thread.reply_empty")),
    "referral reason, FHIR ServiceRequest": (_fhir_referral_reason, (400, "referral.invalid")),
}


@pytest.mark.django_db
@pytest.mark.parametrize("text", INVISIBLE, ids=["zwnj-zwj", "nbsp-zwj", "filler-braille"])
@pytest.mark.parametrize("door", list(DOORS))
def test_a_required_text_of_invisible_characters_is_refused_on_every_door(
    door: str, text: str
) -> None:
    attempt, expected = DOORS[door]
    answer, written = attempt(text)
    assert answer == expected
    assert not written()


@pytest.mark.django_db
@pytest.mark.parametrize("text", INVISIBLE, ids=["zwnj-zwj", "nbsp-zwj", "filler-braille"])
@pytest.mark.parametrize("door", REFERRAL_DOORS)
def test_a_referral_whose_reason_shows_nothing_is_refused_on_every_referral_door(
    door: str, text: str
) -> None:
    f.acute_function()
    person = f.citizen()
    status, code = referral_send(door, {"cpr": person.cpr, "reason": text})
    assert (status, code) == (400, "referral.invalid")
    assert not Referral.objects.exists()
