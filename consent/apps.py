from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"

    def ready(self) -> None:
        from consent.fhir_views import RESOURCES
        from consent.gate.hook import ConsentGate
        from core.fhir.capability import register_system_interaction
        from core.fhir.gate import register_gate
        from core.fhir.resources import register

        # Every FHIR read and search on the base in core asks this gate.
        register_gate(ConsentGate())
        for resource in RESOURCES:
            register(resource)
        register_system_interaction("transaction")
