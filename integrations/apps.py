from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Hand-offs"

    def ready(self) -> None:
        from acute.awaiting import register_answer_awaited
        from core.fhir.capability import (
            register_messaging,
            register_system_operation,
        )
        from core.health import register_health_detail
        from core.metrics import register_metrics
        from integrations import receivers
        from integrations.messaging_statement import (
            PROCESS_MESSAGE_PATH,
            messaging_documentation,
            supported_messages,
        )
        from integrations.metrics import outbox_metrics
        from integrations.selectors import care_threads_awaiting_answer, outbox_health

        register_metrics("outbox", outbox_metrics)
        receivers.connect()
        # $process-message is served on the base (/fhir/$process-message): a
        # system-level operation, not one of a Bundle resource.
        register_system_operation(
            "process-message",
            "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message",
            "Partners POST message Bundles to /fhir/$process-message, signed with"
            " HMAC-SHA256; each is answered with an Acknowledgement.",
        )
        register_messaging(
            messaging_documentation(),
            supported=supported_messages(),
            endpoint=PROCESS_MESSAGE_PATH,
        )
        register_health_detail("handoffs", outbox_health)
        # The referral API marks the referrals whose partner's message awaits
        # an answer, as the board does (acute asks; integrations knows).
        register_answer_awaited(lambda referrals: care_threads_awaiting_answer(referrals=referrals))
