from typing import Any

from django.apps import AppConfig


def _allow_test_flush(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Let Django's test runner empty a *test* database between tests. The
    append-only trigger honours this only in databases named ``test_*``."""
    if connection.vendor == "postgresql" and str(connection.settings_dict["NAME"]).startswith(
        "test_"
    ):
        with connection.cursor() as cursor:
            cursor.execute("SET tvaerakut.test_flush = 'on'")


class AuditConfig(AppConfig):
    name = "consent.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from consent.audit.metrics import audit_metrics
        from core.metrics import register_metrics

        register_metrics("audit", audit_metrics)
        from django.db.backends.signals import connection_created

        connection_created.connect(_allow_test_flush, dispatch_uid="audit-test-flush")

        from consent.audit.log import APPEND_ONLY
        from core.dbroles import sequence_draw_only, table_privileges_restrict

        # The platform's database role appends to the log and never changes it;
        # it draws ids but cannot set the sequence back; the old chain's head
        # is frozen; archiving is the owner's.
        table_privileges_restrict("audit_auditentry", ("SELECT", "INSERT"))
        sequence_draw_only("audit_entry_id_seq")
        table_privileges_restrict("audit_chainhead", ("SELECT",))
        table_privileges_restrict("audit_archivecheckpoint", ("SELECT",))
        # The transparency log: entries await their position (the sequencer
        # removes them once placed); positions, tiles, checkpoints and
        # cosignatures are appended, never changed.
        table_privileges_restrict("audit_pending", ("SELECT", "INSERT", "DELETE"))
        # The log's random name is drawn once and never changed.
        table_privileges_restrict("audit_log_instance", ("SELECT", "INSERT"))
        for table in APPEND_ONLY:
            table_privileges_restrict(table, ("SELECT", "INSERT"))

        from consent.audit.fhir_views import RESOURCES
        from core.fhir.resources import register

        for resource in RESOURCES:
            register(resource)
