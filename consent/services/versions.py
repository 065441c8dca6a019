"""The version a versioned update names: ``If-Match: W/"n"`` or the body's
``meta.versionId``. Without one an update is refused, so that no one
overwrites a version they have not read."""

from __future__ import annotations

from typing import Any

from core.errors import InvalidInput, PreconditionFailed
from core.validation import is_digits


def _version_text(raw: str) -> str:
    raw = raw.strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    return raw.strip('"')


def wanted_version(if_match: str | None, data: dict[str, Any], *, noun: str = "record") -> int:
    """The version an update names. Named twice, by ``If-Match`` and by the
    body's ``meta.versionId``, the two must agree: an update that says it
    replaces two different versions is refused rather than one of them
    believed (R9: the caller records the refusal)."""
    meta = data.get("meta")
    in_body = _version_text(str((meta if isinstance(meta, dict) else {}).get("versionId") or ""))
    in_header = _version_text(if_match or "")
    if in_header and in_body and in_header != in_body:
        same = is_digits(in_header) and is_digits(in_body) and int(in_header) == int(in_body)
        if not same:
            raise InvalidInput(
                f"{noun}.version_contradicts",
                "If-Match and meta.versionId name different versions; name the one you read.",
                field="meta.versionId",
            )
    raw = in_header or in_body
    if not raw:
        raise PreconditionFailed(
            f"{noun}.version_required",
            'Say which version you are updating (If-Match: W/"n" or meta.versionId).',
        )
    if not is_digits(raw):
        raise InvalidInput(
            f"{noun}.version_invalid", "The version is a whole number.", field="If-Match"
        )
    return int(raw)
