from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "consent.audit"
    label = "audit"
    verbose_name = "Audit log"
