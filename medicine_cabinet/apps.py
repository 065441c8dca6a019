from django.apps import AppConfig


class MedicineCabinetConfig(AppConfig):
    name = "medicine_cabinet"
    verbose_name = "Medicine cabinet"

    def ready(self) -> None:
        from core.fhir.capability import ResourceCapability, SearchParam, register_resource

        register_resource(
            ResourceCapability(
                type="MedicationAdministration",
                interactions=["read", "search-type"],
                search_params=[
                    SearchParam("patient", "reference", "The citizen (Patient id)."),
                    SearchParam("_count", "number"),
                ],
                required_search=[("patient",)],
                documentation=(
                    "A dose from a nurse's bag on a visit (context Encounter/visit-<id>),"
                    " linked to the physician's MedicationRequest; the lot is a contained"
                    " Medication with its batch."
                ),
            )
        )
