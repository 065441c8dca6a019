"""Administration of organisations, staff and roles. Citizens are not here:
every view of a citizen passes the consent gate and the audit log."""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminAuthenticationForm

from core.errors import InvalidInput, PlatformError
from core.models import Membership, Organisation, User
from core.services import login_verify, second_factor_verify


class AdminLoginForm(OTPAdminAuthenticationForm):
    """The admin's own login through the same door as every other password
    login: the failure limit per user and per address applies and every
    attempt counts towards it, and the code is checked and used up as on the
    login page and the API (one device per user, so no device is chosen)."""

    def clean(self) -> dict[str, Any]:
        username = str(self.cleaned_data.get("username") or "")
        password = str(self.cleaned_data.get("password") or "")
        address = self.request.META.get("REMOTE_ADDR") if self.request is not None else None
        try:
            user = login_verify(
                username=username, password=password, client_address=address, complete=False
            )
            if not user.is_staff:
                # The same answer as a wrong password: the admin says nothing
                # of whose password is right.
                raise InvalidInput("auth.invalid_credentials", "Wrong username or password.")
            self.user_cache = user
            device = second_factor_verify(
                user=user,
                code=str(self.cleaned_data.get("otp_token") or "")[:16],
                client_address=address,
            )
        except PlatformError as exc:
            raise forms.ValidationError(gettext(exc.message), code=exc.code) from exc
        user.otp_device = device  # type: ignore[attr-defined]  # read by django-otp at login
        return self.cleaned_data


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
