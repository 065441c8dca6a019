"""Template helpers shared by every page: units as written, errors tied to fields."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from core.cpr import cpr_in_text
from core.form_once import FIELD as FORM_REF_FIELD
from core.form_once import form_ref_new, form_ref_well_formed
from core.labels import reason_label, resource_type_label, task_label
from core.models import Organisation, Role
from core.times import shown
from core.units import decimals_label, number_label, unit_label

register = template.Library()


@register.filter
def unit(value: str | None) -> str:
    return unit_label(value)


@register.filter
def measured(value: Decimal | None) -> str:
    return number_label(value)


@register.filter
def decimals(value: str | None) -> str:
    """A strength or a medicine as written ("0.4 mg/mL") with the page's decimal mark."""
    return decimals_label(value)


@register.filter
def clock(value: dt.datetime | None) -> str:
    """A time as a list shows it, in Europe/Copenhagen: "H:i" when it falls
    today, with the day ("5. dec 16:00") when it does not, so that a deadline
    tomorrow or one missed yesterday never reads as a time today."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    return shown(value, "H:i" if local.date() == timezone.localdate() else "j. b H:i")


@register.filter
def clock_day(value: dt.datetime | None) -> str:
    """A time with its day ("25. okt 02:30"), in Europe/Copenhagen, as a
    referral's or a visit's own page shows its deadline."""
    return shown(value, "j. b H:i")


@register.filter
def moment(value: dt.datetime | None, layout: str = "j. b H:i") -> str:
    """A time in Europe/Copenhagen in ``layout`` (Django's date format), as
    every page shows one: in the hour that comes twice it says which
    (:func:`core.times.shown`, the same words texts built in Python use)."""
    return shown(value, layout)


def _message(context: Any, name: str) -> str | None:
    errors = context.get("field_errors") or {}
    return errors.get(name)


def _dom_id(name: str) -> str:
    return "err-" + "".join(c if c.isalnum() else "-" for c in name)


@register.simple_tag(takes_context=True)
def invalid_attrs(context: Any, *names: str) -> SafeString:
    """`` aria-invalid="true" aria-describedby="…"`` on an input whose field was refused."""
    for name in names:
        if _message(context, name):
            return format_html(' aria-invalid="true" aria-describedby="{}"', _dom_id(name))
    return mark_safe("")


@register.simple_tag(takes_context=True)
def field_error(context: Any, *names: str) -> SafeString:
    """The refusal's message under the field it concerns."""
    for name in names:
        message = _message(context, name)
        if message:
            shown = format_html('<p class="field-error" id="{}">{}</p>', _dom_id(name), message)
            return shown + _twice_choice(context, name)
    return mark_safe("")


def _twice_choice(context: Any, name: str) -> SafeString:
    """Under a time the clocks show twice (the night summer time ends), the
    required choice of which of the two is meant ("02:30 første gang
    (sommertid)"), sent with the form under the name the one reader of a
    page's times reads (:func:`core.times.local_wall_time`)."""
    choice = (context.get("twice_choices") or {}).get(name)
    if choice is None:
        return mark_safe("")
    options = format_html_join(
        "",
        '<label class="check"><input type="radio" name="{}" value="{}" required> {}</label>',
        ((choice.name, value, label) for value, label in choice.options),
    )
    return format_html(
        '<fieldset class="twice-choice" data-choice="{}"><legend>{}</legend>{}</fieldset>',
        choice.name,
        gettext("Which of the two times?"),
        options,
    )


@register.simple_tag(takes_context=True)
def posted(context: Any, name: str, default: object = "") -> object:
    """What was typed into ``name`` before a refusal; ``default`` otherwise."""
    values = context.get("posted") or {}
    return values.get(name, default)


@register.simple_tag(takes_context=True)
def form_ref(context: Any, keep_on_refusal: bool = False) -> SafeString:
    """The hidden reference of a form whose view is done once per sending
    (:func:`core.form_once.once_per_form`): drawn afresh at each rendering.
    ``keep_on_refusal`` for a page's only form to its view: shown again with
    its refusal it keeps the reference it was sent with (freed by the
    refusal), so the corrected send is the one the first was."""
    kept = (
        form_ref_well_formed((context.get("posted") or {}).get(FORM_REF_FIELD))
        if keep_on_refusal and context.get("error")
        else ""
    )
    return format_html(
        '<input type="hidden" name="{}" value="{}">', FORM_REF_FIELD, kept or form_ref_new()
    )


@register.filter
def resource_type(value: str | None) -> str:
    """ "Besøg" for Encounter: a record entry's kind as a clinician names it."""
    return resource_type_label(value)


@register.filter
def reason(value: str | None) -> str:
    """A refusal's reason code in words."""
    return reason_label(value)


@register.filter
def task(value: str | None) -> str:
    """A background task of the platform in words, never its code."""
    return task_label(value)


@register.filter
def address_without_cpr(path: str | None) -> str:
    """A page's address to come back to (the language form's ``next``), or
    the start page's when it holds something shaped like a CPR number: the
    redirect would carry it in a URL (docs/decisions/0002)."""
    if not path or cpr_in_text(path):
        return "/"
    return path


@register.simple_tag(takes_context=True)
def not_allowed_advice(context: Any) -> str:
    """Whom the person at the "not available" page turns to, by her role: the
    nurse to the coordinator on duty (a referral or visit opens a citizen to
    her, R1), a GP or home nurse to the acute function's phone, the
    coordinator and the other staff roles to their organisation's
    administrator. The administrator, and anyone not signed in, is told
    nothing."""
    actor = context.get("current_actor")
    role = getattr(actor, "role", None)
    if role == Role.ACUTE_NURSE:
        return gettext("If you need it for a citizen in your care, ask the coordinator on duty.")
    if role in (Role.PHYSICIAN, Role.HOME_NURSE):
        phone = (
            Organisation.objects.filter(kind=Organisation.Kind.ACUTE_FUNCTION, is_active=True)
            .exclude(phone="")
            .order_by("pk")
            .values_list("phone", flat=True)
            .first()
        )
        if phone:
            return gettext(
                "If you need it for a citizen you referred, phone the acute function's"
                " coordinator on %(phone)s."
            ) % {"phone": phone}
        return gettext(
            "If you need it for a citizen you referred, phone the acute function's coordinator."
        )
    if role == Role.COORDINATOR:
        return gettext(
            "A citizen's pages are open to you while the citizen has an open referral with"
            " the acute function. If your work needs more, ask your organisation's administrator."
        )
    if role in (Role.MEDICINE_OFFICER, Role.AUDITOR, Role.ANALYST):
        return gettext("If your work needs it, ask your organisation's administrator.")
    return ""
