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
        from django.db.backends.signals import connection_created

        connection_created.connect(_allow_test_flush, dispatch_uid="audit-test-flush")

        from core.dbroles import table_privileges_restrict

        # The platform's database role appends to the log and never changes it;
        # the head moves forward under its trigger; archiving is the owner's.
        table_privileges_restrict("audit_auditentry", ("SELECT", "INSERT"))
        table_privileges_restrict("audit_chainhead", ("SELECT", "INSERT", "UPDATE"))
        table_privileges_restrict("audit_archivecheckpoint", ("SELECT",))

        from core.fhir.capability import ResourceCapability, SearchParam, register_resource

        register_resource(
            ResourceCapability(
                type="AuditEvent",
                interactions=["read", "search-type"],
                search_params=[
                    SearchParam(
                        "patient", "reference", "Patient/<internal id>; never a CPR number"
                    ),
                    SearchParam("date", "date", "Prefixes eq, ge, gt, le, lt"),
                    SearchParam("agent", "reference", "The acting user's internal id"),
                    SearchParam("outcome", "token", "0 permitted, 4 denied"),
                ],
                documentation=(
                    "The audit log as IHE BALP-shaped AuditEvents; auditors only. "
                    "Every search and read here is itself audited."
                ),
            )
        )
