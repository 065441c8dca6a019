"""The formulary and the places stock is kept: medicines, cabinets, nurses' bags,
and how the formulary's amounts and units read in a message."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import formats, translation
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_noop, pgettext, pgettext_lazy

from acute.clinical import dosing
from acute.clinical.services import is_dependence_forming
from acute.clinical.services.orders import ATC_CODE, ATC_MAIN_GROUPS
from core.errors import (
    Conflict,
    InvalidInput,
)
from core.models import Membership, Organisation, Role, User
from core.units import decimals_label
from core.validation import full_clean_or_raise
from medicine_cabinet.models import (
    Location,
    Lot,
    Medicine,
)

# The formulary's stock units, kept in English as data; shown translated.
STOCK_UNIT_LABELS = (
    gettext_noop("tablet"),
    gettext_noop("ampoule"),
    gettext_noop("capsule"),
    gettext_noop("vial"),
    gettext_noop("suppository"),
    gettext_noop("sachet"),
)

# The formulary's dosage forms, kept in English as data; shown translated
# (a form is named as the product is, not as the unit it is counted in).
DOSAGE_FORM_LABELS = (
    pgettext_lazy("dosage form", "tablet"),
    pgettext_lazy("dosage form", "solution for injection"),
    pgettext_lazy("dosage form", "nebuliser solution"),
)


def amount_text(value: Decimal) -> str:
    """An amount for a message, as a Danish clinician writes it (``2,5``)."""
    return formats.number_format(format(value.normalize(), "f"), use_l10n=True)


def _medicine_label(name: str, strength: str) -> str:
    return f"{name} {decimals_label(strength)}".strip()


# Read when the message is written, in its language: "Naloxon 0,4 mg/mL, 1 mL"
# in a Danish notification, while the formulary keeps "0.4".
_medicine_label_lazy = lazy(_medicine_label, str)


def medicine_label(medicine: Medicine) -> str:
    """The medicine and its strength as a person reads them, with the decimal
    mark of the language the text is written in (a lazy text, read when it is
    written into a message)."""
    return _medicine_label_lazy(medicine.name, medicine.strength)


def unit_label(unit: str) -> str:
    """The formulary's stock units are kept in English; shown in the reader's language."""
    return gettext(unit) if unit in STOCK_UNIT_LABELS else unit


def check_atc_code(atc_code: str) -> None:
    """A formulary line names one medicine by its ATC code at the fifth level
    (N02BE01), in one of the classification's main groups: a code of another
    shape, or of a group that does not exist (Z99ZZ99), would never match a
    physician's order nor the §4 rules (400 ``medicine.atc_invalid``)."""
    if not ATC_CODE.fullmatch(atc_code) or atc_code[0] not in ATC_MAIN_GROUPS:
        raise InvalidInput(
            "medicine.atc_invalid",
            "No medicine has that ATC code: give its code at the fifth level, as in N02BE01.",
            field="atc_code",
        )


def check_dependence_forming(
    *, atc_code: str, name: str, dependence_forming: bool, dispensing: str
) -> None:
    """A medicine the rules name dependence-forming (§4, the ATC codes of
    ``CLINICAL_DEPENDENCE_FORMING_ATC`` that the physician's orders are judged
    by) stays so in the formulary: unmarked, every movement of it would go
    without a witness and out of the §4 register. A §4 medicine is never over
    the counter."""
    if is_dependence_forming(atc_code) and not dependence_forming:
        raise InvalidInput(
            "medicine.dependence_forming_required",
            f"{name} ({atc_code}) is dependence-forming (§4): it must be marked so,"
            " and every movement of it needs a witness.",
            field="dependence_forming",
            rule="R8",
            params={"medicine": name, "atc": atc_code},
        )
    if dependence_forming and dispensing == Medicine.Dispensing.OVER_THE_COUNTER:
        raise InvalidInput(
            "medicine.dependence_forming_otc",
            f"{name} is dependence-forming (§4) and cannot be over the counter:"
            " it is prescription-only.",
            field="dispensing",
            rule="R8",
            params={"medicine": name},
        )


def formulary_names(atc: str) -> list[str]:
    """The names of the formulary's lines with this ATC code, in use or
    not: a physician's order naming none of them names another medicine
    than its code (R8)."""
    return list(
        Medicine.objects.filter(atc_code=atc.strip().upper())
        .values_list("name", flat=True)
        .distinct()
    )


def formulary_marks_dependence_forming(atc: str) -> bool:
    """A line of the formulary with this ATC code is marked §4: the
    physician's orders for it are judged so too (R8), whatever the rules'
    list of codes names."""
    return Medicine.objects.filter(atc_code=atc.strip().upper(), dependence_forming=True).exists()


@transaction.atomic
def medicine_upsert(
    *,
    atc_code: str,
    name: str,
    strength: str,
    form: str,
    unit: str,
    package_size: Decimal,
    dispensing: str,
    dependence_forming: bool,
    minimum_stock: Decimal,
    amount_per_unit: Decimal | None = None,
    amount_unit: str = "",
) -> Medicine:
    """Add a formulary line or update the one with the same ATC code, strength and form.

    What one stock unit holds (``amount_per_unit`` of ``amount_unit``: 500 mg a
    tablet) lets a dose be compared with an order in mg (R8). Left out, it is
    read from the strength where that says it plainly (``500 mg``,
    ``10 mg/mL, 4 mL`` for an ampoule).
    """

    check_atc_code(atc_code)
    amount_unit = amount_unit.strip()
    if (amount_per_unit is None) != (not amount_unit):
        raise InvalidInput(
            "medicine.amount_incomplete",
            gettext("Give both the amount in one unit and its unit, or neither."),
            field="amount_unit" if amount_per_unit is not None else "amount_per_unit",
        )
    if amount_per_unit is not None and not dosing.is_measure(amount_unit):
        raise InvalidInput(
            "medicine.amount_unit_unknown",
            gettext("Give the amount in a unit such as mg, µg, g, mL, IE or mmol."),
            field="amount_unit",
        )
    check_dependence_forming(
        atc_code=atc_code, name=name, dependence_forming=dependence_forming, dispensing=dispensing
    )
    medicine = (
        Medicine.objects.select_for_update()
        .filter(atc_code=atc_code, strength=strength, form=form)
        .first()
    ) or Medicine(atc_code=atc_code, strength=strength, form=form)
    if medicine.pk and medicine.unit != unit and Lot.objects.filter(medicine=medicine).exists():
        # Every balance, movement and count of it is a number of that unit:
        # a new unit would give them all another meaning.
        raise Conflict(
            "medicine.unit_in_use",
            gettext(
                "Stock of this medicine is counted in %(unit)s; the unit cannot change"
                " once lots of it are registered."
            )
            % {"unit": medicine.unit},
            field="unit",
        )
    if amount_per_unit is None:
        # Left out: what the officer stated before stands, else the strength tells.
        content = dosing.strength_content(strength, unit)
        if medicine.amount_per_unit is not None and medicine.unit == unit:
            amount_per_unit, amount_unit = medicine.amount_per_unit, medicine.amount_unit
        elif content is not None:
            amount_per_unit, amount_unit = content
    medicine.name = name
    medicine.unit = unit
    medicine.amount_per_unit = amount_per_unit
    medicine.amount_unit = amount_unit
    medicine.package_size = package_size
    medicine.dispensing = dispensing
    medicine.dependence_forming = dependence_forming
    medicine.minimum_stock = minimum_stock
    full_clean_or_raise(
        medicine,
        code="medicine.invalid",
        exclude=["atc_code", "strength", "form"] if medicine.pk else None,
    )
    medicine.save()
    return medicine


@transaction.atomic
def cabinet_create(
    *, organisation: Organisation, name: str, count_interval_days: int = 7
) -> Location:
    if organisation.kind != Organisation.Kind.ACUTE_FUNCTION:
        raise InvalidInput("location.not_acute_function", "Cabinets belong to the acute function.")
    cabinet = Location(
        organisation=organisation,
        kind=Location.Kind.CABINET,
        name=name,
        count_interval_days=count_interval_days,
    )
    full_clean_or_raise(cabinet, code="location.invalid")
    cabinet.save(force_insert=True)
    return cabinet


@transaction.atomic
def _bag_name(nurse: User) -> str:
    """Named in the platform's language, as the officer's pages show it."""
    with translation.override(settings.LANGUAGE_CODE):
        return pgettext("stock location", "Bag of %(name)s (%(username)s)") % {
            "name": nurse.display_name,
            "username": nurse.username,
        }


def bag_for_nurse(*, organisation: Organisation, nurse: User) -> Location:
    """The nurse's bag, made on first use. Only acute nurses of the function carry one."""
    is_nurse = Membership.objects.filter(
        user=nurse, organisation=organisation, role=Role.ACUTE_NURSE, is_active=True
    ).exists()
    if not is_nurse:
        raise InvalidInput("bag.not_a_nurse", "Only an acute nurse of the function carries a bag.")
    bag, _created = Location.objects.get_or_create(
        organisation=organisation,
        kind=Location.Kind.BAG,
        nurse=nurse,
        defaults={
            "name": _bag_name(nurse),
            "count_interval_days": 1,
        },
    )
    return bag
