"""Shared building blocks for the pages: the municipality map, charts, maps links.

Everything here is drawn on the server as inline SVG from coordinates the
platform already holds: no tile server, no chart library, no outside call.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext

from core.actors import Actor
from core.errors import STATUS_BY_KIND, NotFoundOrNotAllowed, PlatformError
from core.messages import page_message
from core.middleware import not_allowed
from core.permissions import actor_from_request
from core.times import TwiceShown

# Sent by core/static/core/offline.js when it replays a queued form.
OFFLINE_REPLAY_HEADER = "X-Offline-Replay"

# Simplified outlines (latitude, longitude) of the municipalities the platform
# started with, enough to orient a coordinator; not survey boundaries. A
# municipality that joins later is not drawn, but its citizens' pins are
# placed where they live (the map spans them).
MUNICIPALITY_OUTLINES: dict[str, tuple[str, tuple[tuple[float, float], ...]]] = {
    "230": (
        "Rudersdal",
        (
            (55.882, 12.445),
            (55.880, 12.520),
            (55.862, 12.585),
            (55.829, 12.592),
            (55.806, 12.560),
            (55.800, 12.500),
            (55.792, 12.452),
            (55.812, 12.405),
            (55.850, 12.400),
        ),
    ),
    "173": (
        "Lyngby-Taarbæk",
        (
            (55.806, 12.560),
            (55.829, 12.592),
            (55.800, 12.600),
            (55.776, 12.578),
            (55.762, 12.540),
            (55.756, 12.495),
            (55.770, 12.458),
            (55.792, 12.452),
            (55.800, 12.500),
        ),
    ),
    "159": (
        "Gladsaxe",
        (
            (55.770, 12.458),
            (55.756, 12.495),
            (55.762, 12.540),
            (55.745, 12.520),
            (55.722, 12.505),
            (55.716, 12.460),
            (55.730, 12.425),
            (55.755, 12.430),
        ),
    ),
    "157": (
        "Gentofte",
        (
            (55.776, 12.578),
            (55.800, 12.600),
            (55.778, 12.612),
            (55.745, 12.600),
            (55.725, 12.575),
            (55.722, 12.540),
            (55.722, 12.505),
            (55.745, 12.520),
            (55.762, 12.540),
        ),
    ),
}


def _n(value: float) -> str:
    """An SVG coordinate: always a dot as decimal mark, whatever the page's language."""
    return f"{value:.1f}"


@dataclass(frozen=True)
class Marker:
    """A point on the map: a nurse or a citizen's address."""

    latitude: float
    longitude: float
    label: str
    kind: str = "nurse"  # nurse | referral
    status: str = ""
    # The pin's visible tag (a nurse's first name, a referral's number on the
    # list) and the list entry it links to ("#referral-12").
    tag: str = ""
    href: str = ""


class Projection:
    """Latitude/longitude to SVG user units (equirectangular, scaled at the mid-latitude)."""

    def __init__(
        self, points: Iterable[tuple[float, float]], width: int = 640, margin: int = 16
    ) -> None:
        pts = list(points)
        self.lat_min = min(p[0] for p in pts)
        self.lat_max = max(p[0] for p in pts)
        self.lon_min = min(p[1] for p in pts)
        self.lon_max = max(p[1] for p in pts)
        self.kx = math.cos(math.radians((self.lat_min + self.lat_max) / 2))
        span_x = (self.lon_max - self.lon_min) * self.kx or 1e-6
        span_y = (self.lat_max - self.lat_min) or 1e-6
        self.margin = margin
        self.scale = (width - 2 * margin) / span_x
        self.width = width
        self.height = round(span_y * self.scale + 2 * margin)

    def xy(self, latitude: float, longitude: float) -> tuple[float, float]:
        x = self.margin + (longitude - self.lon_min) * self.kx * self.scale
        y = self.margin + (self.lat_max - latitude) * self.scale
        return round(x, 1), round(y, 1)


def municipality_map(markers: Sequence[Marker], width: int = 640) -> dict[str, object]:
    """The data for ``core/includes/map.html``: outlines, labels and markers."""
    outline_points = [p for _, outline in MUNICIPALITY_OUTLINES.values() for p in outline]
    # The map spans every pin too: a citizen of a municipality that joined
    # without an outline here is shown where she lives, not on the edge.
    pin_points = [(m.latitude, m.longitude) for m in markers]
    projection = Projection(outline_points + pin_points, width=width)
    areas = []
    for code, (name, outline) in MUNICIPALITY_OUTLINES.items():
        xys = [projection.xy(lat, lon) for lat, lon in outline]
        cx = sum(x for x, _ in xys) / len(xys)
        cy = sum(y for _, y in xys) / len(xys)
        areas.append(
            {
                "code": code,
                "name": name,
                "points": " ".join(f"{_n(x)},{_n(y)}" for x, y in xys),
                "label_x": _n(cx),
                "label_y": _n(cy),
            }
        )
    placed = []
    for marker in markers:
        x, y = projection.xy(marker.latitude, marker.longitude)
        # A pin exactly on the edge stays whole inside the map.
        x = min(max(x, 4.0), projection.width - 4.0)
        y = min(max(y, 4.0), projection.height - 4.0)
        # A tag near the right edge stands to the left of its pin, inside the map.
        tag_left = x > projection.width - 120
        placed.append(
            {
                "x": _n(x),
                "y": _n(y),
                "x0": _n(x - 8),
                "y0": _n(y - 8),
                "tag_dx": "-16" if tag_left else "16",
                "tag_anchor": "end" if tag_left else "start",
                "marker": marker,
            }
        )
    return {
        "width": str(projection.width),
        "height": str(projection.height),
        "areas": areas,
        "markers": placed,
    }


def bar_chart(
    series: Sequence[tuple[str, float]], *, width: int = 480, height: int = 200
) -> dict[str, object]:
    """The data for ``core/includes/bar_chart.html``: one bar per (label, value)."""
    top = max((value for _, value in series), default=0) or 1
    left, bottom, gap = 8, 28, 8
    slot = (width - left) / max(len(series), 1)
    bars = []
    for i, (label, value) in enumerate(series):
        h = (height - bottom - 16) * (value / top)
        bars.append(
            {
                "label": label,
                "value": value,
                "x": _n(left + i * slot + gap / 2),
                "y": _n(height - bottom - h),
                "w": _n(slot - gap),
                "h": _n(h),
                "cx": _n(left + i * slot + slot / 2),
                "value_y": _n(height - bottom - h - 4),
            }
        )
    return {
        "width": width,
        "height": height,
        "baseline": height - bottom,
        "label_y": height - 8,
        "bars": bars,
    }


def maps_link(latitude: float, longitude: float, label: str = "") -> str:
    """A ``geo:`` URI (RFC 5870) that opens the tablet's maps app at the address."""
    uri = f"geo:{latitude:.6f},{longitude:.6f}?q={latitude:.6f},{longitude:.6f}"
    if label:
        uri += f"({quote(label)})"
    return uri


# --- errors and actors on pages -------------------------------------------------


def page_actor(request: HttpRequest) -> Actor:
    """The actor of a page request; ``@page(...)`` has already admitted only staff in a role."""
    actor = actor_from_request(request)
    if actor is None:
        raise NotFoundOrNotAllowed()
    return actor


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    error: PlatformError | None = None,
    field_names: Mapping[str, str] | None = None,
    lists: Mapping[str, tuple[Promise | str, Promise | str]] | None = None,
    field_labels: Mapping[str, Promise | str] | None = None,
) -> HttpResponse:
    """Renders a page; with a domain error, shows it on the page with its 4xx status.

    The message is the user's language, as a page says it
    (:func:`core.messages.page_message`);
    every refused field gets its message under it (``field_errors``, keyed by
    the form's input name, renamed through ``field_names`` where the service
    names it otherwise), and the form shows what was typed (``posted``). A
    value refused for not being on one of the form's lists (a refusal with
    ``allowed`` among its values) names the list and its choices as the page
    shows them (``lists``: the service's field name → the list's name and
    its choices, in the reader's language), never the parameter and the
    codes the API takes. A refusal that names its parameter (``from must be
    …``) names the field by its label on the page instead (``field_labels``:
    the service's field name → the label the form shows).

    "Not found or not allowed" becomes the one "not available" page, which says
    nothing about what was asked for.

    A form the tablet queued offline and now replays (header
    ``X-Offline-Replay: 1``) gets the refusal as JSON instead, so the tablet
    can show it beside the queued item without leaving the page
    (docs/decisions/0013).
    """
    replay = request.headers.get(OFFLINE_REPLAY_HEADER) == "1"
    if isinstance(error, NotFoundOrNotAllowed):
        if replay:
            message = gettext(
                "Not available: this is no longer yours, for example a visit given to"
                " another nurse. Nothing was saved."
            )
            return JsonResponse(
                {"error": {"code": "not_available", "message": message, "fields": {}}}, status=403
            )
        return not_allowed(request)
    if error is None:
        return render(request, template, {**context, "error": None})
    names = field_names or {}
    for refused in error.related:
        if lists and refused.field and refused.field in lists and "allowed" in refused.params:
            name, allowed = lists[refused.field]
            refused.params = {**refused.params, "name": name, "allowed": allowed}
    labelled = field_labels or {}
    for refused in error.related:
        label = labelled.get(refused.field or "")
        if label is not None and refused.params.get("name") == refused.field:
            refused.params = {**refused.params, "name": label}
        # The other field a refusal compares with ("From must be before To").
        other = refused.params.get("other")
        if isinstance(other, str) and other in labelled:
            refused.params = {**refused.params, "other": labelled[other]}
    field_errors: dict[str, str] = {}
    # A time the clocks show twice: the two instants offered under its field,
    # sent back under the name the one reader reads (core.times.TwiceShown).
    twice: dict[str, TwiceChoice] = {}
    for refused in error.related:
        if refused.field:
            name = names.get(refused.field, refused.field)
            field_errors.setdefault(name, page_message(refused))
            if isinstance(refused, TwiceShown) and refused.choice_name:
                twice.setdefault(name, TwiceChoice(refused.choice_name, refused.choices()))
    if replay:
        return JsonResponse(
            {
                "error": {
                    "code": error.code,
                    "message": page_message(error),
                    "fields": field_errors,
                }
            },
            status=STATUS_BY_KIND.get(error.kind, 400),
        )
    shown = PageError(
        code=error.code,
        message=page_message(error),
        field=names.get(error.field or "", error.field),
        rule=error.rule,
        count=len(error.related),
    )
    posted = {
        key: value
        for key, value in request.POST.items()
        if "password" not in key and key != "csrfmiddlewaretoken"
    }
    context = {
        **context,
        "error": shown,
        "field_errors": field_errors,
        "twice_choices": twice,
        "posted": {**posted, **context.get("posted", {})},
    }
    return render(request, template, context, status=STATUS_BY_KIND.get(error.kind, 400))


@dataclass(frozen=True)
class TwiceChoice:
    """The choice a page offers under a time field whose typed time the
    clocks show twice: the input's name and its two options (value, label)."""

    name: str
    options: list[tuple[str, str]]


@dataclass(frozen=True)
class PageError:
    """A refusal as a page shows it."""

    code: str
    message: str
    field: str | None
    rule: str | None
    count: int
