from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "acute.clinical"
    label = "clinical"
    verbose_name = "Lab tests, procedures and phone orders"

    def ready(self) -> None:
        from core.fhir.capability import ResourceCapability, SearchParam, register_resource

        by_patient = [
            SearchParam("patient", "reference", "Required: Patient/<id>."),
            SearchParam("encounter", "reference", "Encounter/visit-<id>."),
        ]
        register_resource(
            ResourceCapability(
                type="Observation",
                interactions=["read", "search-type"],
                search_params=by_patient,
                documentation=(
                    "Lab results taken on a visit (ids lab-<n>): NPU-coded, UCUM quantities, "
                    "interpreted (HL7 ObservationInterpretation)."
                ),
            )
        )
        register_resource(
            ResourceCapability(
                type="Procedure",
                interactions=["read", "search-type"],
                search_params=list(by_patient),
                documentation=(
                    "Procedures on a visit: urinary catheter, feeding tube, delegated tasks."
                ),
            )
        )
        register_resource(
            ResourceCapability(
                type="MedicationRequest",
                interactions=["read", "search-type"],
                search_params=list(by_patient),
                documentation=(
                    "Physician orders: phone orders (reportedReference: the nurse who received "
                    "and read back) and written electronic orders; confirmation and "
                    "prescription status as extensions."
                ),
            )
        )
