"""A page form that writes is done once, however often it is sent.

A double tap on a tablet, a reload of the answer or back and send again
posts the same form twice; a write that adds something (stock into a bag, a
written order) would then be booked twice. Such a form carries a reference
drawn when it was rendered (``{% form_ref %}``, field ``form_ref``) and its
view is marked :func:`once_per_form`: the reference is claimed in the view's
own transaction (``core.idempotency.key_claim``, as the API's
``Idempotency-Key``), so of two sends at once the second waits for the first
and is then sent where the first went, told that nothing was done twice. A
refused send frees the reference: the corrected form may be sent with it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext

from core.idempotency import key_answered, key_claim

FIELD = "form_ref"
_REF = re.compile(r"[0-9a-f]{32}")

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


def form_ref_new() -> str:
    """A fresh reference for one rendering of a form."""
    return uuid.uuid4().hex


def form_ref_sent(request: HttpRequest) -> str:
    """The reference the form was sent with; empty when it has none of the
    shape :func:`form_ref_new` draws."""
    ref = str(request.POST.get(FIELD, ""))
    return ref if _REF.fullmatch(ref) else ""


def once_per_form(view: ViewFunc) -> ViewFunc:
    """Run a page's POST view once per reference the form was drawn with.

    The claim on the reference is kept when the view answered with success
    (2xx, or a redirect to where the result is shown), freed otherwise. A
    send without a reference runs the view as before."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        ref = form_ref_sent(request) if request.method == "POST" else ""
        user_id = getattr(request.user, "pk", None)
        if not ref or user_id is None:
            return view(request, *args, **kwargs)
        with transaction.atomic():
            held, ours = key_claim(user_id, f"page:{request.path}:{ref}", "")
            if not ours:
                messages.info(
                    request, gettext("This form was already received; nothing was done twice.")
                )
                return redirect(_where_it_went(request, held.location))
            response = view(request, *args, **kwargs)
            key_answered(held, response.status_code, str(response.get("Location", "")))
        return response

    return wrapper  # type: ignore[return-value]


def _where_it_went(request: HttpRequest, location: str) -> str:
    """Where the first send was sent on (a path of this platform), else the start page."""
    if location and url_has_allowed_host_and_scheme(location, allowed_hosts={request.get_host()}):
        return location
    return "/"
