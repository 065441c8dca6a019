from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class AcuteConfig(AppConfig):
    name = "acute"

    def ready(self) -> None:
        from acute.fhir_views import RESOURCES
        from acute.metrics import deadline_metrics
        from core.fhir.resources import register
        from core.metrics import register_metrics

        register_metrics("deadlines", deadline_metrics)
        self._follow_deaths()

        for resource in RESOURCES:
            register(resource)
        self._register_shift_checker()
        self._register_open_episodes()
        self._check_travel_time_function()

    @staticmethod
    def _register_open_episodes() -> None:
        """The administration asks before a function stops serving a
        municipality whose citizens have open episodes."""
        from acute.selectors import open_episodes_in
        from core.catchment import register_open_work

        register_open_work("acute.episodes", open_episodes_in)

    @staticmethod
    def _follow_deaths() -> None:
        """A death registered below us (the Patient over FHIR) closes the
        citizen's referrals and withdraws her visits, as the hospital's does."""
        from acute.services.deaths import on_citizen_death_withdrawn, on_citizen_died
        from core.deaths import citizen_death_withdrawn, citizen_died

        citizen_died.connect(on_citizen_died, dispatch_uid="acute.citizen_died")
        citizen_death_withdrawn.connect(
            on_citizen_death_withdrawn, dispatch_uid="acute.citizen_death_withdrawn"
        )

    @staticmethod
    def _check_travel_time_function() -> None:
        """A wrong ACUTE_TRAVEL_TIME_FUNCTION stops the platform as it starts,
        naming the variable, instead of failing the coordinator's first dispatch."""
        from acute.dispatch import travel_time_function

        try:
            function: object = travel_time_function()
        except ImportError:
            function = None
        if not callable(function):
            raise ImproperlyConfigured(
                "ACUTE_TRAVEL_TIME_FUNCTION must be the dotted path of a function, "
                "such as acute.dispatch.travel_minutes_by_road_factor."
            )

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
