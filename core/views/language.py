"""The language switch every page carries."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views import i18n

from core.cpr import cpr_in_text
from core.permissions import public_page, serves


@public_page
@serves("GET", "POST")
def language_set(request: HttpRequest) -> HttpResponse:
    """The language switch of every page (Django's), back to the page it was
    sent from; to the start page when that address, the form's ``next`` or
    the Referer, holds something shaped like a CPR number (docs/decisions/0002)."""
    sent = (
        request.POST.get("next") or request.GET.get("next") or request.META.get("HTTP_REFERER", "")
    )
    response = i18n.set_language(request)
    # Django reads the address through its route, which may change the
    # number's digits (a leading zero dropped) without taking it out.
    if cpr_in_text(sent) or cpr_in_text(response.get("Location", "")):
        response["Location"] = "/"
    return response
