"""``{% care_threads_of referral as threads %}``: the CareCommunication threads
shown with a referral, read through the gate for the person at the page
(:func:`integrations.care_threads.selectors.care_threads_of_referral`)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from core.labels import care_category_label
from core.permissions import actor_from_request
from integrations.care_threads.selectors import care_threads_of_referral
from integrations.models import CareThread

register = template.Library()


@register.simple_tag(takes_context=True)
def care_threads_of(context: dict[str, Any], referral: Any) -> list[CareThread]:
    request = context.get("request")
    actor = actor_from_request(request) if request is not None else None
    if actor is None or referral is None:
        return []
    return care_threads_of_referral(actor=actor, referral=referral)


@register.filter
def care_category(code: str) -> str:
    """MedCom's category, as a Danish clinician reads it."""
    return care_category_label(code)


@register.filter
def care_contact(kept: str) -> str:
    """The author's contact as kept on receipt (a phone number as given, any
    other kind behind its ContactPoint system), labelled by its kind."""
    system, _sep, value = kept.partition(":")
    labels = {"email": _("e-mail"), "fax": _("fax"), "sms": _("text message")}
    if system in labels and value:
        return f"{labels[system]} {value}"
    if system in ("pager", "url", "other") and value:
        return value
    return f"{_('phone')} {kept}"
