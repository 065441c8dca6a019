from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "acute.clinical"
    label = "clinical"
    verbose_name = "Lab tests, procedures and phone orders"
