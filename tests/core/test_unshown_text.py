"""Free text that cannot deceive its reader: no control character, no
bidirectional override or isolate and no hidden format character reaches a
record, whatever the door (API, FHIR, a page's form, a query string, a
service); what a clinician writes (æøå, line breaks, tabs, emoji) does. And
no text cell of a CSV export runs as a formula."""

from __future__ import annotations

import unicodedata

import pytest

from core.errors import InvalidInput
from core.models import Role
from core.spreadsheet import csv_text
from core.validation import required_text, unshown_character
from tests import factories as f

WRITTEN = [
    "Borgeren er faldet i badeværelset; ømhed over højre hofte.",
    "Linje 1\nLinje 2\r\nLinje 3\tmed tabulator",
    "Pårørende 👍 \u2013 glad for besøget 🙂",
    "Sygeplejerske 👩\u200d⚕️ var på besøg",  # zero-width joiner in an emoji
    "Skotland 🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # a flag's tags
    "Set kl. \u200e14:30",  # left-to-right mark pasted with a time
    "Borgerens navn: \u0645\u062d\u0645\u062f \u200f(arabisk)",
    "Blod\u00adtryk",  # soft hyphen from a word processor
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # zero-width non-joiner (Persian)
]


@pytest.mark.parametrize("text", WRITTEN)
def test_what_a_clinician_writes_is_kept(text: str) -> None:
    assert unshown_character(text) is None
    # (required_text trims what shows nothing at either end, hence the full stop.)
    assert required_text(f"{text}.", code="x.empty", field="text", message="Empty.") == f"{text}."


@pytest.mark.parametrize(
    ("text", "code", "character"),
    [
        ("Ring\x07 til vagten", "request.control_character", "U+0007"),
        ("a\x1bb", "request.control_character", "U+001B"),
        ("a\x0bb", "request.control_character", "U+000B"),
        ("a\x7fb", "request.control_character", "U+007F"),
        ("a\x85b", "request.control_character", "U+0085"),
        ("Afvist \u202etxt.exe", "request.bidi_control", "U+202E"),
        ("a\u202ab", "request.bidi_control", "U+202A"),
        ("a\u2066b\u2069", "request.bidi_control", "U+2066"),
        ("a\u2069", "request.bidi_control", "U+2069"),
        ("akut\u200bindlæggelse", "request.invisible_character", "U+200B"),
        ("a\u2060b", "request.invisible_character", "U+2060"),
        ("a\ufeffb", "request.invisible_character", "U+FEFF"),
        # Tag characters that end no flag: text hidden from the reader.
        ("ok\U000e0069\U000e0067\U000e006e", "request.invisible_character", "U+E0069"),
        ("🏴\U000e0067\U000e0062", "request.invisible_character", "U+E0067"),
    ],
)
def test_what_a_reader_cannot_see_is_refused(text: str, code: str, character: str) -> None:
    assert unshown_character(text) == (code, character)
    with pytest.raises(InvalidInput) as refused:
        required_text(f"{text}.", code="x.empty", field="text", message="Empty.")
    assert refused.value.code == code
    assert refused.value.field == "text"
    assert refused.value.params["character"] == character


def test_every_control_and_format_character_but_those_writing_needs_is_refused() -> None:
    kept = {"\t", "\n", "\r", "\x00", "\u00ad", "\u061c", "\u200c", "\u200d", "\u200e", "\u200f"}
    for point in range(0x110000):
        ch = chr(point)
        if unicodedata.category(ch) in ("Cc", "Cf") and ch not in kept:
            assert unshown_character(f"a{ch}b") is not None, f"U+{point:04X}"


# --- the doors -------------------------------------------------------------------


def _code(response) -> str:
    body = response.json()
    if body.get("resourceType") == "OperationOutcome":
        return body["issue"][0]["details"]["coding"][0]["code"]
    return body["error"]["code"]


@pytest.mark.django_db
@pytest.mark.postgres
def test_a_decline_reason_with_a_direction_override_is_refused_and_nothing_written() -> None:
    from acute.models import Referral

    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(accepted=False, by=coordinator)
    response = f.client_for(coordinator).post(
        f"/api/acute/referrals/{referral.pk}/decline",
        {"reason": "Borgeren er indlagt \u202eagtmo\u202c"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="da",
    )
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "request.bidi_control"
    assert error["field"] == "reason"
    assert error["message"] == (
        "Teksten må ikke indeholde U+202E, et tegn, der ændrer retningen på den viste tekst"
        " (reason)."
    )
    referral.refresh_from_db()
    assert referral.status == Referral.Status.RECEIVED
    # What a clinician writes — Danish, line breaks, a tab, an emoji — goes.
    response = f.client_for(coordinator).post(
        f"/api/acute/referrals/{referral.pk}/decline",
        {"reason": "Borgeren er indlagt på Herlev.\n\tPårørende orienteret 👍"},
        format="json",
    )
    assert response.status_code in (200, 201), response.content[:300]
    referral.refresh_from_db()
    assert referral.status == Referral.Status.DECLINED


@pytest.mark.django_db
@pytest.mark.postgres
@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (
            b'{"resourceType": "Condition", "note": [{"text": "a\\u200bb"}]}',
            "request.invisible_character",
        ),
        (
            b'{"resourceType": "Condition", "note": [{"text": "a\\u0007b"}]}',
            "request.control_character",
        ),
        (b'{"resourceType": "Condition", "note\\u2067": []}', "request.bidi_control"),
    ],
)
def test_fhir_text_with_unshown_characters_is_refused_with_an_operation_outcome(
    raw: bytes, code: str
) -> None:
    nurse = f.client_for(f.staff(Role.ACUTE_NURSE, f.acute_function()))
    response = nurse.post("/fhir/Condition", raw, content_type="application/fhir+json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["resourceType"] == "OperationOutcome"
    assert _code(response) == code


@pytest.mark.django_db
@pytest.mark.postgres
def test_a_form_post_with_a_hidden_character_is_a_danish_400_page(client) -> None:
    response = client.post(
        "/login/", {"username": "nurse\u200b", "password": "demo"}, HTTP_ACCEPT_LANGUAGE="da"
    )
    assert response.status_code == 400
    assert "Formularen indeholdt et tegn, der ikke vises" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.postgres
def test_a_query_string_with_a_control_character_is_refused() -> None:
    coordinator = f.client_for(f.staff(Role.COORDINATOR, f.acute_function()))
    error = coordinator.get("/api/acute/referrals", {"status": "ny\x1b"}).json()["error"]
    assert error["code"] == "request.control_character"
    assert error["field"] == "status"


# --- CSV ----------------------------------------------------------------------------


def test_no_csv_text_cell_starts_a_formula_even_after_spaces_or_a_line_break() -> None:
    hidden = ["\n=1+1", "  =1+1", "\u3000=1+1", "\uff1d1+1", "\uff0b1", "\uff0d1", "\uff20SUM(A1)"]
    for text in hidden:
        assert csv_text(text) == "'" + text, repr(text)
    for text in ["Gentofte", "Borger 1 = ok", " Ærø", ""]:
        assert csv_text(text) == text
