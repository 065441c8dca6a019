from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "acute.clinical"
    label = "clinical"
    verbose_name = "Lab tests, procedures and phone orders"

    def ready(self) -> None:
        from acute.clinical.fhir_views import RESOURCES
        from core.fhir.resources import register

        for resource in RESOURCES:
            register(resource)
