"""Administration of organisations, staff and roles. Citizens are not here:
every view of a citizen passes the consent gate and the audit log.

Every page of the administration is a ``ConfigurationAdmin``: it filters only
on its own model's fields, never through the records that point at it (a
municipality's residents, a nurse's visits), and names other records only by
kind and number when it says what stands in the way of a deletion."""

from collections import Counter
from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import NestedObjects
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models, router
from django.http import HttpRequest, HttpResponse
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin as BaseTOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.catchment import open_work_in
from core.errors import InvalidInput, PlatformError
from core.messages import user_message
from core.models import Membership, Organisation, Role, User
from core.permissions import actor_from_request, session_membership_set
from core.services.login import login_verify
from core.services.second_factor import second_factor_verify
from core.services.signals import (
    administration_changed,
    login_refusal_send,
    password_login_succeeded,
)
from core.validation import (
    unique_conflict,
    unique_conflict_of_fields,
    unique_rules_on_their_fields,
)

# The user's administrator membership chosen by the admin's login, set as the
# session's role once Django has logged the user in (PlatformAdminSite.login).
ADMIN_MEMBERSHIP_ATTRIBUTE = "admin_membership"


def administrator_membership(user: User) -> Membership | None:
    """The membership in force in which ``user`` administers the platform:
    staff status alone is not a role (one role at a time, read again)."""
    if not user.is_staff:
        return None
    return (
        Membership.objects.in_force()
        .filter(user=user, role=Role.ADMINISTRATOR)
        .select_related("organisation", "user")
        .order_by("-is_default", "pk")
        .first()
    )


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
            membership = administrator_membership(user)
            if membership is None:
                # The same answer as a wrong password: the admin says nothing
                # of whose password is right.
                login_refusal_send(
                    username=username, code="auth.invalid_credentials", client_address=address
                )
                raise InvalidInput("auth.invalid_credentials", "Wrong username or password.")
            self.user_cache = user
            device = second_factor_verify(
                user=user,
                code=str(self.cleaned_data.get("otp_token") or "")[:16],
                client_address=address,
            )
            # In the audit log before Django logs her in: no admin session
            # without its sign-in entry.
            password_login_succeeded.send(
                sender=None, membership=membership, door="admin", client_address=address
            )
        except PlatformError as exc:
            raise forms.ValidationError(gettext(exc.message), code=exc.code) from exc
        user.otp_device = device  # type: ignore[attr-defined]  # read by django-otp at login
        setattr(user, ADMIN_MEMBERSHIP_ATTRIBUTE, membership)
        return self.cleaned_data


class PlatformAdminSite(OTPAdminSite):
    """The admin is open to a verified session acting in an administrator
    membership in force: not to staff status alone, nor to a session acting
    in another role (a nurse's page session of a user who is also staff), and
    no longer once that membership is switched off, past its end, or its
    organisation or user deactivated. Read again on every admin request, as
    every other door does."""

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        actor = actor_from_request(request)
        return actor is not None and actor.role == Role.ADMINISTRATOR

    def login(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().login(request, extra_context)
        membership = getattr(request.user, ADMIN_MEMBERSHIP_ATTRIBUTE, None)
        if request.method == "POST" and isinstance(membership, Membership):
            # Logged in just now by AdminLoginForm: the session acts as administrator.
            session_membership_set(request.session, membership)
        return response


class UniqueRulesOnFields:
    """Of every form of the administration: a unique rule a person breaks
    (``core.messages.UNIQUE_RULES``) is refused on its field in the sentence
    the API answers with, not in Django's words for the constraint."""

    def add_error(self, field: str | None, error: Any) -> None:
        # The model's validation hands its errors over here, all at once.
        if field is None and isinstance(error, ValidationError):
            form: Any = self  # a ModelForm: its instance and fields
            error = unique_rules_on_their_fields(form.instance, error, fields=form.fields)
        super().add_error(field, error)  # type: ignore[misc]


class ConfigurationForm(UniqueRulesOnFields, forms.ModelForm):
    """A form of the administration's own (:class:`UniqueRulesOnFields`)."""


class ConfigurationAdmin(admin.ModelAdmin):
    """The base of every page of the administration (a test holds them to it)."""

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        """The page's form, Django's own (the users' page keeps its password
        handling) or one of ours, with :class:`UniqueRulesOnFields`."""
        form = super().get_form(request, obj, change=change, **kwargs)
        if issubclass(form, UniqueRulesOnFields):
            return form
        return type(form.__name__, (UniqueRulesOnFields, form), {"__module__": form.__module__})

    # Whether its additions, changes and removals decide who may act and so
    # reach citizens' data: then each is in the audit log too, not only in
    # the admin's own history (which a database owner could edit).
    audited = False

    def _audit(self, request: HttpRequest, obj: models.Model, action: str, change: Any) -> None:
        if self.audited:
            administration_changed.send(
                sender=type(obj), request=request, obj=obj, action=action, change=change
            )

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        entry = super().log_addition(request, obj, message)
        self._audit(request, obj, "create", message)
        return entry

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        entry = super().log_change(request, obj, message)
        self._audit(request, obj, "update", message)
        return entry

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        # Called before the deletion, inside its transaction.
        for obj in queryset:
            self._audit(request, obj, "delete", [{"deleted": {}}])
        return super().log_deletions(request, queryset)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        """A filter in the address on the model's own fields only: one through
        the records that point at it (``?residents=<id>`` on the
        organisations) would tell a citizen's municipality, or a nurse's
        visits, past the gate and the audit log."""
        try:
            field = self.model._meta.get_field(lookup.split("__", 1)[0])
        except FieldDoesNotExist:
            return super().lookup_allowed(lookup, value, request)
        if field.auto_created and not field.concrete:
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_deleted_objects(
        self, objs: Sequence[models.Model] | models.QuerySet[Any], request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[str]]:
        """What a deletion takes with it, and what stands in its way, as the
        admin says it, except that a record kept elsewhere (a visit, a dose,
        a ledger movement) is named by its kind and how many, never by its
        own words."""
        deleted, model_count, perms_needed, named = super().get_deleted_objects(objs, request)
        if not named:
            return deleted, model_count, perms_needed, []
        collector = NestedObjects(using=router.db_for_write(self.model))
        collector.collect(objs)
        kinds = Counter(type(obj)._meta.verbose_name_plural for obj in collector.protected)
        protected = [f"{capfirst(kind)}: {count}" for kind, count in sorted(kinds.items())]
        return deleted, model_count, perms_needed, protected


class NeverDeleted(ConfigurationAdmin):
    """Staff and organisations are deactivated, never deleted: a citizen's
    refusal or consent names them (a directive naming nobody would cover
    everyone), and the administration's own history of changes goes with a
    deleted user."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class UniqueRulesFormSet(forms.BaseInlineFormSet):
    """Rows of a page's table (an inline) that break a unique rule between
    them (``core.messages.UNIQUE_RULES``) are refused in the sentence the API
    answers with, not in Django's words naming the fields."""

    def get_unique_error_message(self, unique_check: Sequence[str]) -> str:
        held = {*unique_check, self.fk.name}
        model = self.model
        conflict = None if model is None else unique_conflict_of_fields(model, held)
        if conflict is None:
            return str(super().get_unique_error_message(unique_check))
        return user_message(conflict)


class MembershipFormSet(UniqueRulesFormSet):
    """A person's roles, every one a row: at most one of them is chosen at
    sign-in (``membership_one_default``). The model's validation leaves that
    rule to the database, the user being the row's parent, so the rows are
    held to it here: a row ticked besides another is refused on its tick in
    the platform's sentence, not answered with a server error."""

    def clean(self) -> None:
        super().clean()
        ticked = [
            form
            for form in self.forms
            if getattr(form, "cleaned_data", None)
            and form.cleaned_data.get("is_default")
            and not form.cleaned_data.get("DELETE")
        ]
        if len(ticked) < 2:
            return
        conflict = unique_conflict("membership_one_default")
        assert conflict is not None  # listed in core.messages.UNIQUE_RULES
        # The rows ticked anew beside one ticked before; all but the first
        # when every one is ticked anew (a new person's rows).
        anew = [form for form in ticked if "is_default" in form.changed_data]
        for form in anew if len(anew) < len(ticked) else ticked[1:]:
            form.add_error("is_default", user_message(conflict))


class MembershipInline(admin.TabularInline):
    model = Membership
    # A role given twice is refused in the platform's words, between the
    # rows shown (the form set) and against those saved (the form).
    form = ConfigurationForm
    formset = MembershipFormSet
    extra = 0


@admin.register(User)
class UserAdmin(NeverDeleted, BaseUserAdmin):
    audited = True
    inlines = [MembershipInline]
    fieldsets = (  # type: ignore[misc]
        *BaseUserAdmin.fieldsets,
        (_("Clinical"), {"fields": ("authorisation_id", "phone")}),
    )


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(ConfigurationAdmin, BaseGroupAdmin):
    pass


admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(ConfigurationAdmin, BaseTOTPDeviceAdmin):
    """A user's code app: the administrator sees that it is there and removes
    it when the phone is lost (the user sets up a new one at her next
    password login). She never sees its key, nor gives anyone one she knows:
    with it and a password she could sign in as that nurse, and read
    citizens' data in her name."""

    audited = True

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrganisationAdminForm(ConfigurationForm):
    """The admin's organisation form (the admin names its model and fields)."""

    def clean_serves(self) -> Any:
        """An acute function stops serving a municipality only when none of
        its citizens has an open episode: the board and the nurses' reach
        (R1) follow ``serves``, so they would be left on nobody's board."""
        kept = self.cleaned_data.get("serves")
        instance = self.instance
        if instance.pk is None or instance.kind != Organisation.Kind.ACUTE_FUNCTION:
            return kept
        kept_ids = [m.pk for m in kept] if kept is not None else []
        removed = list(instance.serves.exclude(pk__in=kept_ids))
        if open_work_in(removed):
            raise forms.ValidationError(
                gettext(
                    "Citizens of %(municipalities)s still have open episodes in the acute "
                    "function. Finish them before the function stops serving the municipality."
                )
                % {"municipalities": ", ".join(m.name for m in removed)},
                code="catchment_open_work",
            )
        return kept


@admin.register(Organisation)
class OrganisationAdmin(NeverDeleted):
    audited = True
    form = OrganisationAdminForm
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
