"""A checkpoint's tree size is an unsigned 64-bit number (C2SP
tlog-checkpoint): at most 20 digits. A longer one is a malformed note
(``NoteError``, which the doors answer 4xx), not a ``ValueError`` from
``int`` past its 4300 digits."""

from __future__ import annotations

import base64

import pytest

from consent.audit.notes import NoteError, checkpoint_parse

ROOT = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize("size", ["1" + "0" * 20, "9" * 5000])
def test_a_tree_size_past_twenty_digits_is_a_malformed_note(size: str) -> None:
    with pytest.raises(NoteError):
        checkpoint_parse(f"tvaerakut.local/audit/2026\n{size}\n{ROOT}\n")


def test_a_tree_size_of_twenty_digits_is_read() -> None:
    size = str(2**64 - 1)
    assert checkpoint_parse(f"tvaerakut.local/audit/2026\n{size}\n{ROOT}\n").size == 2**64 - 1
