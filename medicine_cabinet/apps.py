from django.apps import AppConfig


class MedicineCabinetConfig(AppConfig):
    name = "medicine_cabinet"
