"""The version a versioned update names: ``If-Match: W/"n"`` or the body's
``meta.versionId``. Without one an update is refused, so that no one
overwrites a version they have not read."""

from __future__ import annotations

from typing import Any

from core.errors import InvalidInput, PreconditionFailed
from core.validation import is_digits


def wanted_version(if_match: str | None, data: dict[str, Any], *, noun: str = "record") -> int:
    raw = if_match or str((data.get("meta") or {}).get("versionId") or "")
    raw = raw.strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    raw = raw.strip('"')
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
