"""Registering a citizen, by CPR number or replacement CPR."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction

from core.cpr import (
    ReplacementCpr,
    cpr_facts,
    normalise_replacement_cpr,
    replacement_cpr_facts,
    validate_cpr,
)
from core.deaths import death_day_kept, death_time_check
from core.errors import Duplicate, InvalidInput
from core.models import Citizen, Organisation
from core.validation import full_clean_or_raise, unique_column_rule, unique_conflict


def citizen_text_checked(column: str, value: str, *, element: str) -> str:
    """``value`` as it is, for the citizen's ``column`` (a name, the address,
    the phone), or refused when longer than the column keeps: cut to fit, a
    name or an address would be registered as something other than what was
    sent, and a nurse drives to, or calls, what is kept. ``element`` names
    where the sender wrote it (``name.family``)."""
    most = getattr(Citizen._meta.get_field(column), "max_length", None)
    if most is not None and len(value) > most:
        raise InvalidInput(
            "patient.text_too_long",
            f"{element} holds at most {most} characters; nothing was written.",
            field=element,
            params={"element": element, "most": most},
        )
    return value


@transaction.atomic
def citizen_create(
    *,
    cpr: str | None,
    given_name: str,
    family_name: str,
    address_line: str,
    postal_code: str,
    city: str,
    latitude: Decimal,
    longitude: Decimal,
    municipality: Organisation,
    gp_practice: Organisation | None = None,
    phone: str = "",
    replacement_cpr: ReplacementCpr | None = None,
    deceased_at: dt.datetime | None = None,
    deceased_on: dt.date | None = None,
    death_field: str = "deceased_at",
) -> Citizen:
    """Register a citizen by CPR number or, for a person without one, by a
    replacement CPR (a citizen may be registered with both). One registered
    dead (``deceased_at``: her Patient says when she died, over FHIR or in a
    partner's message) is registered with a time of death that can be true,
    whichever door registers her (:func:`core.deaths.death_time_check`,
    naming ``death_field`` in the refusal). A death given as a day alone
    keeps that day (``deceased_on``, :func:`core.deaths.death_day`), its
    instant being the day's first moment."""
    digits = validate_cpr(cpr) if cpr is not None else None
    replacement = (
        normalise_replacement_cpr(replacement_cpr.value, replacement_cpr.system)
        if replacement_cpr is not None
        else None
    )
    if digits is not None:
        facts = cpr_facts(digits)
    elif replacement is not None:
        facts = replacement_cpr_facts(replacement)
    else:
        raise InvalidInput(
            "citizen.identifier_missing",
            "A citizen needs a CPR number or a replacement CPR.",
            field="cpr",
        )
    if municipality.kind != Organisation.Kind.MUNICIPALITY:
        raise InvalidInput(
            "citizen.municipality_invalid",
            "The residence must be a municipality.",
            field="municipality",
        )
    if gp_practice is not None and gp_practice.kind != Organisation.Kind.GP_PRACTICE:
        raise InvalidInput(
            "citizen.gp_invalid", "The GP must be a GP practice.", field="gp_practice"
        )
    if deceased_at is not None:
        death_time_check(deceased_at, birth_date=facts.birth_date, field=death_field)
    # Already registered is a conflict with her record (409), not a mistake
    # in what was typed; the sentence never repeats the number.
    if digits is not None and Citizen.objects.filter(cpr=digits).exists():
        raise unique_conflict(unique_column_rule(Citizen, "cpr")) or Duplicate(
            "citizen.exists", "A citizen with this CPR number is already registered.", field="cpr"
        )
    if replacement is not None and Citizen.objects.filter(Citizen.holding(replacement)).exists():
        raise unique_conflict("citizen_replacement_cpr_unique") or Duplicate(
            "citizen.exists",
            "A citizen with this replacement CPR is already registered.",
            field="replacement_cpr",
        )
    citizen = Citizen(
        cpr=digits,
        replacement_cpr=replacement.value if replacement else None,
        replacement_cpr_system=replacement.system if replacement else "",
        birth_date=facts.birth_date,
        sex=facts.sex,
        given_name=given_name,
        family_name=family_name,
        address_line=address_line,
        postal_code=postal_code,
        city=city,
        latitude=latitude,
        longitude=longitude,
        municipality=municipality,
        gp_practice=gp_practice,
        phone=phone,
        deceased_at=deceased_at,
        deceased_on=death_day_kept(deceased_at, deceased_on),
    )
    full_clean_or_raise(citizen, code="citizen.invalid")
    citizen.save()
    return citizen
