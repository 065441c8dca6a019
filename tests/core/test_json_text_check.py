"""The check of a JSON body's texts (``core.boundary.check_json_value``) reads
all of a body's texts at once and walks it text by text only when something
is wrong: it must refuse exactly what the text-by-text rule refuses, with the
same code and place."""

from __future__ import annotations

import sys

import pytest

from core.boundary import MAX_JSON_DEPTH, _bad_text, check_json_value, json_load
from core.errors import InvalidInput

FLAG_TAGS = "\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"


def _refusal(data: object) -> tuple[str, str | None] | None:
    try:
        check_json_value(data)
    except InvalidInput as exc:
        return exc.code, exc.field
    return None


def test_every_character_is_refused_exactly_as_the_rule_on_one_text_says() -> None:
    for point in range(sys.maxunicode + 1):
        character = chr(point)
        expected = _bad_text(f"ab{character}c")
        body = {"resourceType": "Bundle", "entry": [{"a": "fine"}, {"text": f"ab{character}c"}]}
        found = _refusal(body)
        if expected is None:
            assert found is None, f"U+{point:04X}"
        else:
            assert found == (expected[0], "entry[1].text"), f"U+{point:04X}"


@pytest.mark.parametrize(
    ("data", "refused"),
    [
        ({"note": f"Skotland 🏴{FLAG_TAGS}"}, None),
        # Plain ASCII between the flag and its tags: the tags end no flag.
        ({"note": f"🏴 a{FLAG_TAGS}"}, ("request.invisible_character", "note")),
        # A flag in one text, the tags in the next: neither is a flag.
        ({"a": "🏴", "b": FLAG_TAGS}, ("request.invisible_character", "b")),
        ({"a": ["fine", "🏴"], "b": [f"x{FLAG_TAGS}"]}, ("request.invisible_character", "b[0]")),
    ],
)
def test_a_flags_tags_are_read_within_their_own_text(data: object, refused: object) -> None:
    assert _refusal(data) == refused


def test_a_key_is_checked_as_its_value_is() -> None:
    assert _refusal({"entry": [{"te\u202ext": 1}]}) == ("request.bidi_control", "entry[0]")
    assert _refusal({"a\x00": 1}) == ("request.nul_character", None)


def test_text_on_its_own_and_a_lone_surrogate_are_checked() -> None:
    assert _refusal("a\u200bb") == ("request.invisible_character", None)
    assert _refusal({"a": ["x", "\ud800"]}) == ("request.invalid_text", "a[1]")
    assert _refusal(["\x07"]) == ("request.control_character", "[0]")


def _nested(levels: int) -> bytes:
    return b'{"a":' * (levels - 1) + b'["\xc3\xa6"]' + b"}" * (levels - 1)


def test_nesting_to_the_limit_is_read_and_one_level_more_refused() -> None:
    assert json_load(_nested(MAX_JSON_DEPTH)) is not None
    with pytest.raises(InvalidInput) as refused:
        json_load(_nested(MAX_JSON_DEPTH + 1))
    assert refused.value.code == "request.too_deep"
