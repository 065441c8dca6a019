from django.apps import AppConfig


class AcuteConfig(AppConfig):
    name = "acute"
