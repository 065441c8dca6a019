"""A page form that writes is done once, however often it is sent.

A double tap on a tablet, a reload of the answer or back and send again
posts the same form twice; a write that adds something (stock into a bag, a
written order) would then be booked twice. Such a form carries a reference
drawn when it was rendered (``{% form_ref %}``, field ``form_ref``) and its
view is marked :func:`once_per_form`: the reference is claimed in the view's
own transaction (``core.idempotency.key_claim``, as the API's
``Idempotency-Key``), so of two sends at once the second waits for the first
and is then sent where the first went, told that nothing was done twice. A
refused send frees the reference: the corrected form may be sent with it
(a page's only form keeps it when shown again with the refusal,
``{% form_ref keep_on_refusal=True %}``). A view that answers a
refusal by sending the user back to another page (a redirect, which is
otherwise a success) says so with :func:`form_refused`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, overload

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, gettext_noop

from core.idempotency import key_answered, key_claim

FIELD = "form_ref"
_REF = re.compile(r"[0-9a-f]{32}")
# What the second send of a form is told, unless its view names it otherwise.
NOTICE = gettext_noop("This form was already received; nothing was done twice.")
# Set on a request whose view refused it by sending the user back (a redirect).
_REFUSED = "_form_once_refused"

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


def form_ref_new() -> str:
    """A fresh reference for one rendering of a form."""
    return uuid.uuid4().hex


def form_ref_well_formed(value: object) -> str:
    """``value`` when it has the shape :func:`form_ref_new` draws, else empty."""
    ref = str(value or "")
    return ref if _REF.fullmatch(ref) else ""


def form_ref_sent(request: HttpRequest) -> str:
    """The reference the form was sent with; empty when it has none of the
    shape :func:`form_ref_new` draws."""
    return form_ref_well_formed(request.POST.get(FIELD, ""))


def form_refused(request: HttpRequest) -> None:
    """The view refused the send although it answers with a redirect (back
    to the page the form is on, the refusal in a message): the reference is
    freed, so the corrected form may be sent with it."""
    setattr(request, _REFUSED, True)


@overload
def once_per_form(view: ViewFunc, /) -> ViewFunc: ...


@overload
def once_per_form(
    *, notice: str = NOTICE, unless_sent: str = ""
) -> Callable[[ViewFunc], ViewFunc]: ...


def once_per_form(
    view: ViewFunc | None = None, /, *, notice: str = NOTICE, unless_sent: str = ""
) -> ViewFunc | Callable[[ViewFunc], ViewFunc]:
    """Run a page's POST view once per reference the form was drawn with.

    The claim on the reference is kept when the view answered with success
    (2xx, or a redirect to where the result is shown), freed otherwise. A
    send without a reference runs the view as before. The second send is
    told ``notice`` (a msgid, marked with ``gettext_noop``), in the reader's
    language: by default that nothing was done twice. ``unless_sent``
    names a field whose value, when sent, is a reference of its own that the
    view receives once by itself (the tablet's ``client_ref`` on a visit's
    forms, which its script draws for each entry it queues): the form's
    reference then stays out of it."""
    if view is None:
        return lambda decorated: _once(decorated, notice, unless_sent)
    return _once(view, notice, unless_sent)


def _once(view: ViewFunc, notice: str, unless_sent: str) -> ViewFunc:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        ref = form_ref_sent(request) if request.method == "POST" else ""
        user_id = getattr(request.user, "pk", None)
        if not ref or user_id is None or (unless_sent and request.POST.get(unless_sent)):
            return view(request, *args, **kwargs)
        with transaction.atomic():
            held, ours = key_claim(user_id, f"page:{request.path}:{ref}", "")
            if not ours:
                messages.info(request, gettext(notice))
                return redirect(_where_it_went(request, held.location))
            response = view(request, *args, **kwargs)
            status = 400 if getattr(request, _REFUSED, False) else response.status_code
            key_answered(held, status, str(response.get("Location", "")))
        return response

    return wrapper  # type: ignore[return-value]


def _where_it_went(request: HttpRequest, location: str) -> str:
    """Where the first send was sent on (a path of this platform), else the start page."""
    if location and url_has_allowed_host_and_scheme(location, allowed_hosts={request.get_host()}):
        return location
    return "/"
