"""Administration of organisations, staff and roles. Citizens are not here:
every view of a citizen passes the consent gate and the audit log."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from core.models import Membership, Organisation, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [MembershipInline]
    fieldsets = (  # type: ignore[misc]
        *BaseUserAdmin.fieldsets,
        (_("Clinical"), {"fields": ("authorisation_id", "phone")}),
    )


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "kind",
        "municipality_code",
        "sor_code",
        "provider_number",
        "participates",
        "is_active",
    )
    list_filter = ("kind", "participates", "is_active")
    search_fields = ("name", "sor_code", "municipality_code")
