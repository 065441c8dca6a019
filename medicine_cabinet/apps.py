from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MedicineCabinetConfig(AppConfig):
    name = "medicine_cabinet"
    verbose_name = _("Medicine cabinet")

    def ready(self) -> None:
        from core.fhir.resources import register
        from medicine_cabinet.fhir_views import RESOURCES

        for resource in RESOURCES:
            register(resource)
