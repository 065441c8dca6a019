"""JSON for ``/api/``: REST framework's, with every time in UTC.

A time a client sent is kept in the zone it was parsed into (Copenhagen) until
it is read back from the database; written out as it is, a time before 1894
would carry Copenhagen's local mean time (``+00:50:20``), which is no valid
RFC 3339 offset. The API answers in UTC (``...Z``) whatever the time's zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.utils.encoders import JSONEncoder


class UtcJSONEncoder(JSONEncoder):
    def default(self, obj: Any) -> Any:
        if isinstance(obj, dt.datetime) and obj.utcoffset() is not None:
            obj = obj.astimezone(dt.UTC)
        return super().default(obj)


class ApiJSONRenderer(JSONRenderer):
    encoder_class = UtcJSONEncoder


FORMAT_NOT_SERVED = "No answer in the format asked for: leave format out, or ask for format=json."


class ContentNegotiation(DefaultContentNegotiation):
    """REST framework's, but a ``format`` no renderer of the view serves
    (``?format=xml``) is 406, as an ``Accept`` it cannot answer is and as
    ``/fhir/`` answers ``_format=xml``: not a 404 telling the client that
    the resource it asked for does not exist."""

    def filter_renderers(
        self, renderers: Iterable[BaseRenderer], format: str
    ) -> list[BaseRenderer]:
        served = [renderer for renderer in renderers if renderer.format == format]
        if not served:
            raise NotAcceptable(FORMAT_NOT_SERVED)
        return served
