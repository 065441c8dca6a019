from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MedicineCabinetConfig(AppConfig):
    name = "medicine_cabinet"
    verbose_name = _("Medicine cabinet")

    def ready(self) -> None:
        from acute.clinical.services.orders import DEPENDENCE_FORMING_MARKS, FORMULARY_NAMES
        from core.fhir.resources import register
        from medicine_cabinet.fhir_views import RESOURCES
        from medicine_cabinet.services.formulary import (
            formulary_marks_dependence_forming,
            formulary_names,
        )

        for resource in RESOURCES:
            register(resource)
        # An order for a medicine the formulary marks §4 is judged §4 (R8).
        if formulary_marks_dependence_forming not in DEPENDENCE_FORMING_MARKS:
            DEPENDENCE_FORMING_MARKS.append(formulary_marks_dependence_forming)
        # An order's medicine name is held to the formulary's names for its code (R8).
        if formulary_names not in FORMULARY_NAMES:
            FORMULARY_NAMES.append(formulary_names)
