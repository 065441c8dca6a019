"""JSON for ``/api/``: REST framework's, with every time in UTC.

A time a client sent is kept in the zone it was parsed into (Copenhagen) until
it is read back from the database; written out as it is, a time before 1894
would carry Copenhagen's local mean time (``+00:50:20``), which is no valid
RFC 3339 offset. The API answers in UTC (``...Z``) whatever the time's zone,
every time written one way (:func:`core.times.api_instant`): REST framework's
date-time fields hand the time to this encoder as it is
(``DATETIME_FORMAT = None``), as they would otherwise write it in the
server's zone (``+01:00``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from django.utils.http import parse_header_parameters
from django.utils.translation import gettext_noop
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.utils.encoders import JSONEncoder

from core.times import api_instant


class UtcJSONEncoder(JSONEncoder):
    def default(self, obj: Any) -> Any:
        if isinstance(obj, dt.datetime) and obj.utcoffset() is not None:
            return api_instant(obj)
        return super().default(obj)


class ApiJSONRenderer(JSONRenderer):
    encoder_class = UtcJSONEncoder


FORMAT_NOT_SERVED = "No answer in the format asked for: leave format out, or ask for format=json."
REFUSED_BY_ACCEPT = gettext_noop("Accept refuses (q=0) every format this address answers in.")

# RFC 9110 section 12.4.2: a weight of 0 (``0``, ``0.``, ``0.0``, up to
# three zeros) says "not acceptable"; any other weight, well written or not,
# leaves the range acceptable.
_NO_WEIGHT = re.compile(r"0(?:\.0{0,3})?")


def _media_range(token: str) -> tuple[str, str, bool] | None:
    """An Accept token's type, subtype and whether its weight is 0; None for
    a token that is no media range."""
    try:
        full_type, params = parse_header_parameters(token)
    except ValueError:
        return None
    main, slash, sub = full_type.strip().lower().partition("/")
    if not slash or not main or not sub:
        return None
    return main, sub, bool(_NO_WEIGHT.fullmatch(params.get("q", "").strip()))


def _refused_by_accept(media_type: str, ranges: list[tuple[str, str, bool]]) -> bool:
    """Whether the most specific range naming ``media_type`` weighs it 0
    (RFC 9110 section 12.5.1: ``application/json;q=0, */*`` refuses JSON)."""
    main, _, sub = media_type.lower().partition("/")
    best: tuple[int, bool] | None = None
    for range_main, range_sub, refused in ranges:
        if range_main == "*":
            specificity = 0
        elif range_main != main:
            continue
        elif range_sub == "*":
            specificity = 1
        elif range_sub != sub:
            continue
        else:
            specificity = 2
        if best is None or specificity > best[0]:
            best = (specificity, refused)
    return best is not None and best[1]


def answered_media_type(request: Any, default: str) -> str:
    """The media type of the format :class:`ContentNegotiation` chose for
    ``request`` (its renderer's), or ``default`` when none was chosen (the
    request was refused before). A door that names its answer's type reads
    it here, so that a format ``Accept`` weighs 0 is never the one named:
    ``application/fhir+json;q=0, application/json`` is answered
    ``application/json``."""
    renderer = getattr(request, "accepted_renderer", None)
    media_type = getattr(renderer, "media_type", None)
    return media_type if isinstance(media_type, str) and media_type else default


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

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        """REST framework's choice, among the renderers ``Accept`` does not
        refuse: it read ``application/json;q=0`` as asking for JSON. One
        ``Accept`` refusing every format served is 406, in the door's form."""
        ranges = [r for r in map(_media_range, super().get_accept_list(request)) if r]
        acceptable = [
            renderer
            for renderer in renderers
            if not _refused_by_accept(renderer.media_type, ranges)
        ]
        if not acceptable:
            raise NotAcceptable(REFUSED_BY_ACCEPT)
        return super().select_renderer(request, acceptable, format_suffix)

    def get_accept_list(self, request: Request) -> list[str]:
        """The ranges REST framework matches renderers against: those ``Accept``
        weighs 0 are left out, so that none is taken for asking."""
        return [
            token
            for token in super().get_accept_list(request)
            if not ((found := _media_range(token)) and found[2])
        ]
