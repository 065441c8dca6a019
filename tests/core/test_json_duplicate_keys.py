"""A key given twice in one JSON object is refused (``request.duplicate_key``)
on every door that reads a body (``core.boundary.json_load``). Most bodies
are told free of one by counting their keys, without reading them a second
time: the count must never let a key given twice through, whatever the
texts hold (escaped quotes, colons, backslashes) and however the body is
spaced. Held here against reading every object pair by pair."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.boundary import json_load
from core.errors import InvalidInput

# Texts made of what can fool a count of the body's ``":``.
_TRICKY = st.text(alphabet=['"', "\\", ":", " ", "a", "b", "\n", "{", "}"], max_size=6)
_SPACES = st.sampled_from(["", " ", "  ", "\n", "\t", "\r\n"])


@st.composite
def _body(draw: st.DrawFn, depth: int = 0) -> str:
    """A JSON text written by hand, its spacing drawn, its objects' keys
    drawn from few, so that some objects give a key twice."""
    kind = draw(_KINDS[min(depth, 3)])
    if kind == "text":
        return json.dumps(draw(_TRICKY))
    if kind == "number":
        return str(draw(_NUMBERS))
    if kind == "array":
        items = draw(_parts(depth + 1)[0])
        return "[" + ",".join(items) + "]"
    pairs = draw(_parts(depth + 1)[1])
    members = [f"{json.dumps(key)}{draw(_SPACES)}:{draw(_SPACES)}{value}" for key, value in pairs]
    return "{" + f",{draw(_SPACES)}".join(members) + "}"


_KINDS = [st.sampled_from(["object", "array", "text", "number"])] * 3 + [st.sampled_from(["text"])]
_NUMBERS = st.integers(-5, 5)


@cache
def _parts(depth: int) -> tuple[st.SearchStrategy[list[str]], st.SearchStrategy[list[Any]]]:
    """An array's items and an object's pairs at ``depth``: built once a depth,
    not at every draw, where building and checking them cost more than the
    test itself."""
    body = _body(depth)
    return (
        st.lists(body, max_size=3),
        st.lists(st.tuples(st.sampled_from(["a", "b", 'q"', "c\\", ":"]), body), max_size=4),
    )


def _gives_a_key_twice(text: str) -> bool:
    twice = False

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        nonlocal twice
        twice = twice or len({key for key, _ in items}) != len(items)
        return dict(items)

    json.loads(text, object_pairs_hook=pairs)
    return twice


@settings(max_examples=3000, deadline=None)
@given(_body())
def test_a_key_given_twice_is_refused_and_no_other_body_is(text: str) -> None:
    try:
        json_load(text.encode())
    except InvalidInput as exc:
        assert exc.code == "request.duplicate_key", text
        assert _gives_a_key_twice(text), text
        return
    assert not _gives_a_key_twice(text), text


@pytest.mark.parametrize(
    "text",
    [
        # A text that holds as many ``":`` as a key given twice hides.
        '{"a": 1, "a": 2, "t": "x"}',
        '{"a":1,"a":2,"t":"\\":"}',
        '{"a":1,"t":"\\":","a":2}',
        # The key given twice spaced from its colon.
        '{"a":1,"a" :2}',
        '{"a":1,"b":{"c":1,"c"\n:2}}',
        # A key that ends in a backslash.
        '{"a\\\\":1,"a\\\\":2}',
    ],
)
def test_a_key_given_twice_is_refused_whatever_else_the_body_holds(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        json_load(text.encode())
    assert refused.value.code == "request.duplicate_key"
