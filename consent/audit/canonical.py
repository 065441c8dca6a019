"""An entry's content digest, computed by the writer.

The digest is SHA-256 of the UTF-8 text that PostgreSQL gives for
``jsonb_build_array(<the content fields>)`` (``audit_entry_digest``, migration
0002). The writer computes it here and the append statement stores it as
given, so the one database that every writer shares does not spend its CPU
digesting (about a sixth of an append's cost at 32 writers). The database
still checks it: ``audit_verify`` recomputes every digest with
``audit_entry_digest`` in SQL, so a digest this module got wrong is reported
there as an entry whose content does not match, never passed over.

To give PostgreSQL's text to the byte, this follows its output rules for
jsonb and inet:

- arrays and objects separated by ``", "`` and ``": "``; an object's keys
  ordered by their length in bytes, then bytewise;
- strings escaped as JSON requires and nothing more (non-ASCII as is);
- numbers as ``numeric`` prints them: a JSON number's digits and scale
  kept, an exponent written out, no negative zero;
- ``host(inet)``: IPv4 dotted, IPv6 with the longest run of two or more
  zero groups shortened (the first of equal runs) and an IPv4 tail where
  the address is IPv4-mapped or -compatible.

SQLite's logs keep the digest of ``consent.audit.append.content_digest``.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
from collections.abc import Sequence
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any

import orjson

from consent.audit.models import DIGEST_FIELDS

_ADDRESS = DIGEST_FIELDS.index("client_address")


def _number(value: float) -> str:
    # The JSON text the platform sends PostgreSQL for this float, as numeric prints it.
    exact = Decimal(orjson.dumps(value).decode())
    if exact.is_zero():
        exact = exact.copy_abs()
    return format(exact, "f")


def _key(key: str) -> tuple[int, bytes]:
    encoded = key.encode("utf-8")
    return len(encoded), encoded


def _null(_value: None) -> str:
    return "null"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _object(value: dict[str, Any]) -> str:
    items = sorted(((str(k), v) for k, v in value.items()), key=lambda item: _key(item[0]))
    return "{" + ", ".join(f"{encode_basestring(k)}: {jsonb_text(v)}" for k, v in items) + "}"


def _array(value: list[Any] | tuple[Any, ...]) -> str:
    return "[" + ", ".join([jsonb_text(v) for v in value]) + "]"


# By exact type: the values an entry holds, each written without a chain of tests.
_WRITERS: dict[type, Any] = {
    str: encode_basestring,
    int: int.__repr__,
    type(None): _null,
    bool: _bool,
    float: _number,
    dict: _object,
    list: _array,
    tuple: _array,
}


def jsonb_text(value: Any) -> str:
    """``value::jsonb::text`` as PostgreSQL prints it, for the value as orjson
    sends it to the database."""
    writer = _WRITERS.get(type(value))
    if writer is not None:
        return str(writer(value))
    for kind in (bool, str, int, float, dict, list, tuple):  # subclasses: enums, choices
        if isinstance(value, kind):
            return str(_WRITERS[kind](value))
    # What orjson writes for the database (a datetime, a UUID, a dataclass).
    return jsonb_text(orjson.loads(orjson.dumps(value)))


@functools.lru_cache(maxsize=4096)
def inet_host(address: str) -> str:
    """``host(address::inet)`` as PostgreSQL prints it (remembered: the same
    few addresses come again and again)."""
    parsed = ipaddress.ip_address(address)
    if parsed.version == 4:
        return str(parsed)
    packed = parsed.packed
    words = [int.from_bytes(packed[i : i + 2], "big") for i in range(0, 16, 2)]
    best_base, best_len, base = -1, 0, -1
    for i, word in enumerate([*words, 1]):  # a sentinel closes a trailing run
        if word == 0 and base == -1:
            base = i
        elif word != 0 and base != -1:
            if i - base > best_len:
                best_base, best_len = base, i - base
            base = -1
    if best_len < 2:
        best_base = -1
    text = ""
    for i, word in enumerate(words):
        if best_base != -1 and best_base <= i < best_base + best_len:
            if i == best_base:
                text += ":"
            continue
        if i != 0:
            text += ":"
        if i == 6 and best_base == 0 and (best_len == 6 or (best_len == 5 and words[5] == 0xFFFF)):
            text += ".".join(str(b) for b in packed[12:])
            break
        text += f"{word:x}"
    if best_base != -1 and best_base + best_len == 8:
        text += ":"
    return text


def entry_digest(values: Sequence[Any]) -> bytes:
    """SHA-256 of ``jsonb_build_array(values)::text``: the content fields in
    ``DIGEST_FIELDS`` order, the client address as an address string."""
    parts = list(values)
    if parts[_ADDRESS] is not None:
        parts[_ADDRESS] = inet_host(str(parts[_ADDRESS]))
    # The array written here rather than by ``jsonb_text``: an entry's fields
    # are nearly all text, numbers and nulls, each written by its type at once.
    text = ", ".join([_WRITERS.get(type(v), jsonb_text)(v) for v in parts])
    return hashlib.sha256(f"[{text}]".encode()).digest()
