"""The formulary and locations are configurable data, kept in the admin."""

from django.contrib import admin

from medicine_cabinet.models import Location, Medicine


@admin.register(Medicine)
class MedicineAdmin(admin.ModelAdmin):
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
