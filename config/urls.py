from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path

from consent.fhir_views import TransactionView
from core.admin import AdminLoginForm, PlatformAdminSite
from core.metrics import metrics_view
from core.openapi_views import DocsView, SchemaView
from core.views.errors import ApiNotFoundView
from core.views.health import healthz
from core.views.language import language_set

# The admin's own password login also asks for the TOTP code (docs/decisions/0009),
# and the admin is open only to a session acting in an administrator role.
admin.site.__class__ = PlatformAdminSite
# ... and passes the platform's one password door: failures counted and limited.
admin.site.login_form = AdminLoginForm

api_patterns: list[URLPattern | URLResolver] = [
    path("schema/", SchemaView.as_view(), name="api-schema"),
    path("docs/", DocsView.as_view(), name="api-docs"),
    path("", include("core.api_urls")),
    path("", include("portal.signin.api_urls")),
    path("consent/", include("consent.api_urls")),
    path("audit/", include("consent.audit.api_urls")),
    path("acute/", include("acute.api_urls")),
    path("clinical/", include("acute.clinical.api_urls")),
    path("cabinet/", include("medicine_cabinet.api_urls")),
    path("integrations/", include("integrations.api_urls")),
    re_path(r"^.*$", ApiNotFoundView.as_view(), name="api-unknown"),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/", include(api_patterns)),
    # The partners' messages are the busiest door: matched here, before the
    # resolver tries every FHIR type's routes (core/fhir/urls.py includes the
    # same routes again, for the FHIR base's complete list).
    path("fhir/", include("integrations.fhir_urls")),
    # FHIR's [base] is /fhir: a client configured without the closing slash
    # posts its transaction there, and a redirect would lose the body.
    path("fhir", TransactionView.as_view(), name="fhir-base"),
    path("fhir/", include("core.fhir.urls")),
    path("admin/", admin.site.urls),
    # Django's language switch, never sent back to an address holding a CPR number.
    path("i18n/setlang/", language_set, name="set_language"),
    path("", include("core.urls")),
    path("", include("consent.urls")),
    path("", include("consent.audit.urls")),
    path("", include("acute.urls")),
    path("", include("acute.clinical.urls")),
    path("", include("medicine_cabinet.urls")),
    path("", include("integrations.urls")),
    path("", include("portal.urls")),
    path("", include("portal.signin.urls")),
]

handler400 = "core.views.errors.error_400"
handler403 = "core.views.errors.error_403"
handler404 = "core.views.errors.error_404"
handler500 = "core.views.errors.error_500"
