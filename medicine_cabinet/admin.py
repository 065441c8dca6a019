"""The formulary and locations are configurable data, kept in the admin."""

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext

from core.admin import ConfigurationAdmin, ConfigurationForm
from core.errors import InvalidInput
from core.messages import user_message
from medicine_cabinet.models import Location, Lot, Medicine
from medicine_cabinet.services import check_atc_code, check_dependence_forming


class MedicineForm(ConfigurationForm):
    """The formulary's rules (its ATC codes, §4 medicines) hold here as on the API."""

    class Meta:
        model = Medicine
        fields = [
            "atc_code",
            "name",
            "strength",
            "form",
            "unit",
            "package_size",
            "amount_per_unit",
            "amount_unit",
            "dispensing",
            "dependence_forming",
            "minimum_stock",
            "is_active",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            if data.get("atc_code"):
                check_atc_code(data["atc_code"])
            check_dependence_forming(
                atc_code=data.get("atc_code") or "",
                name=data.get("name") or "",
                dependence_forming=bool(data.get("dependence_forming")),
                dispensing=data.get("dispensing") or "",
            )
        except InvalidInput as exc:
            raise forms.ValidationError({exc.field or "__all__": user_message(exc)}) from None
        self._check_line_in_use(data)
        return data

    def _check_line_in_use(self, data: dict[str, Any]) -> None:
        """Every lot, balance and movement of a line is of its medicine, in its
        unit: once lots are registered, another ATC code would move them under
        another medicine's rules (a §4 line's stock without a witness), and
        another unit would change every number, as the API refuses too."""
        medicine = self.instance
        if medicine.pk is None or not Lot.objects.filter(medicine=medicine).exists():
            return
        errors: dict[str, str] = {}
        if "atc_code" in data and data["atc_code"] != medicine.atc_code:
            errors["atc_code"] = gettext(
                "Lots of this medicine are registered under ATC code %(atc)s; the code"
                " cannot change. Add the other medicine as a new line."
            ) % {"atc": medicine.atc_code}
        if "unit" in data and data["unit"] != medicine.unit:
            errors["unit"] = gettext(
                "Stock of this medicine is counted in %(unit)s; the unit cannot change"
                " once lots of it are registered."
            ) % {"unit": medicine.unit}
        if errors:
            raise forms.ValidationError(errors)


@admin.register(Medicine)
class MedicineAdmin(ConfigurationAdmin):
    form = MedicineForm
    # The list shows what the form edits, but for the package size.
    list_display = [name for name in MedicineForm.Meta.fields if name != "package_size"]
    list_filter = ["dispensing", "dependence_forming", "is_active"]
    search_fields = ["atc_code", "name"]


@admin.register(Location)
class LocationAdmin(ConfigurationAdmin):
    list_display = ["name", "kind", "organisation", "nurse", "count_interval_days", "is_active"]
    list_filter = ["kind", "is_active"]
