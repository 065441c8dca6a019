from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Organisations, staff and citizens"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from core.dbroles import grant_after_migrate

        # Once per migrate, after every app's migrations: the platform's
        # database role gets its rights on whatever tables now exist.
        post_migrate.connect(grant_after_migrate, sender=self, dispatch_uid="core-dbroles")
