from django.apps import AppConfig


class AcuteConfig(AppConfig):
    name = "acute"

    def ready(self) -> None:
        from acute.metrics import deadline_metrics
        from core.metrics import register_metrics

        register_metrics("deadlines", deadline_metrics)
        from core.fhir.capability import ResourceCapability, register_resource

        register_resource(
            ResourceCapability(
                type="ServiceRequest",
                interactions=["read", "create"],
                documentation=(
                    "Referrals to the acute function (ids referral-<n>). Create: physicians of"
                    " hospitals, 1813 and GP practices, and municipal home nurses; the"
                    " responsible physician (behandlingsansvar) is required. While the"
                    " citizen is admitted to hospital the status is on-hold (R12)."
                ),
            )
        )
        register_resource(
            ResourceCapability(
                type="Task",
                interactions=["read"],
                documentation=(
                    "A nurse's assignment to a referral (ids visit-<n>); one made while the"
                    " referral was on hold carries the coordinator's reason (R12)."
                ),
            )
        )
        register_resource(
            ResourceCapability(
                type="Encounter",
                interactions=["read"],
                documentation="Acute visits have ids visit-<n>.",
            )
        )
        register_resource(
            ResourceCapability(
                type="Observation",
                interactions=["read"],
                documentation="Vital signs measured on acute visits (ids vital-<n>, LOINC).",
            )
        )
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
