"""The path converter every row id on ``/api/`` and the pages is read with.

Django's ``<int:…>`` reads ``007`` as 7, answering row 7 under another id
than the one asked for. ``<id:…>`` takes an id only as the platform writes
one: digits, the first not 0; ``007`` or ``0`` matches no path, so the door
answers its own 404. A number beyond a bigint names no row but is an id's
form: it reaches the view, which answers it as any unknown id, with the
view's own code and, where the address is about citizen data or the audit
log, a denied entry on the log (R9) — as ``/fhir/`` does
(``core.validation.row_id_text`` there reads it as naming no row).
"""

from __future__ import annotations

from django.urls import register_converter
from django.urls.converters import get_converters

# Stated in the OpenAPI description as an integer from 1 to a bigint's
# largest (PATH_CONVERTER_OVERRIDES in config/settings.py).
ROW_ID_CONVERTER = "id"


class RowIdConverter:
    # Digits, the first not 0.
    regex = "[1-9][0-9]*"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int | str) -> str:
        text = str(value)
        if not text.isascii() or not text.isdigit() or text.startswith("0"):
            # A converter's ValueError is "no address for this value".
            raise ValueError(text)
        return text


def register() -> None:
    """Makes ``<id:…>`` known to the URL confs; called before any is read."""
    if isinstance(get_converters().get(ROW_ID_CONVERTER), RowIdConverter):
        return
    register_converter(RowIdConverter, ROW_ID_CONVERTER)
