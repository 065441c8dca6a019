from django.apps import AppConfig


class AcuteConfig(AppConfig):
    name = "acute"

    def ready(self) -> None:
        from acute.fhir_views import RESOURCES
        from acute.metrics import deadline_metrics
        from core.fhir.resources import register
        from core.metrics import register_metrics

        register_metrics("deadlines", deadline_metrics)

        for resource in RESOURCES:
            register(resource)
        self._register_shift_checker()

    @staticmethod
    def _register_shift_checker() -> None:
        """The audit log flags reads by a nurse outside her shift; it asks us."""
        try:
            from consent.audit import flags
        except ImportError:  # the audit log without shift flags: nothing to register
            return
        register = getattr(flags, "register_shift_checker", None)
        if register is not None:
            from acute.selectors import nurse_on_shift

            register(nurse_on_shift)
