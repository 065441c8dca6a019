"""The formulary and locations are configurable data, kept in the admin."""

from typing import Any

from django import forms
from django.contrib import admin

from core.errors import InvalidInput
from core.messages import user_message
from medicine_cabinet.models import Location, Medicine
from medicine_cabinet.services import check_dependence_forming


class MedicineForm(forms.ModelForm):
    """The formulary's rules for §4 medicines hold here as on the API."""

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
            check_dependence_forming(
                atc_code=data.get("atc_code") or "",
                name=data.get("name") or "",
                dependence_forming=bool(data.get("dependence_forming")),
                dispensing=data.get("dispensing") or "",
            )
        except InvalidInput as exc:
            raise forms.ValidationError({exc.field or "__all__": user_message(exc)}) from None
        return data


@admin.register(Medicine)
class MedicineAdmin(admin.ModelAdmin):
    form = MedicineForm
    list_display = [
        "atc_code",
        "name",
        "strength",
        "form",
        "unit",
        "amount_per_unit",
        "amount_unit",
        "dispensing",
        "dependence_forming",
        "minimum_stock",
        "is_active",
    ]
    list_filter = ["dispensing", "dependence_forming", "is_active"]
    search_fields = ["atc_code", "name"]


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "organisation", "nurse", "count_interval_days", "is_active"]
    list_filter = ["kind", "is_active"]
