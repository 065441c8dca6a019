from typing import Any, NoReturn

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Organisations, staff and citizens")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from core.dbroles import grant_after_migrate

        # Once per migrate, after every app's migrations: the platform's
        # database role gets its rights on whatever tables now exist.
        post_migrate.connect(grant_after_migrate, sender=self, dispatch_uid="core-dbroles")

        from django.db.backends.signals import connection_created

        from core.unaccent import register_on_sqlite

        # The accent-blind name search (core.unaccent) on the embedded SQLite.
        connection_created.connect(register_on_sqlite, dispatch_uid="core-unaccent")

        _bound_quoted_values()

        from core.converters import register

        # ``<id:…>`` in every URL conf: known before the first one is read.
        register()


def _bound_quoted_values() -> None:
    """REST framework's fields build every refusal that quotes the input
    (``"…" is not a valid choice.``) in ``Field.fail``: the value is bounded
    and its control characters written out there, as the platform's own
    refusals bound theirs (``core.errors.shown``), so a 100 kB role or one
    carrying terminal escapes is never sent back whole."""
    from rest_framework import fields

    from core.errors import shown

    if getattr(fields.Field.fail, "bounds_values", False):
        return
    original = fields.Field.fail

    def fail(self: fields.Field[Any, Any, Any, Any], key: str, **kwargs: Any) -> NoReturn:
        bounded = {
            k: shown(str(v)) if isinstance(v, str | bytes | list | tuple | dict | set) else v
            for k, v in kwargs.items()
        }
        original(self, key, **bounded)
        raise AssertionError("Field.fail raises")  # pragma: no cover

    fail.bounds_values = True  # type: ignore[attr-defined]
    fields.Field.fail = fail  # type: ignore[method-assign]
