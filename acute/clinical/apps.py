from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "acute.clinical"
    label = "clinical"
    verbose_name = "Lab tests, procedures and phone orders"

    def ready(self) -> None:
        from core.fhir.capability import ResourceCapability, SearchParam, register_resource

        by_patient = [
            SearchParam("patient", "reference", "Patient/<id>."),
            SearchParam("subject", "reference", "The same as patient."),
            SearchParam("encounter", "reference", "Encounter/visit-<id>."),
            SearchParam("_count", "number"),
        ]
        # The searches answer only for one citizen (one gate decision).
        by_patient_required = [("patient",), ("subject",)]
        register_resource(
            ResourceCapability(
                type="Observation",
                interactions=["read", "search-type"],
                search_params=list(by_patient),
                required_search=list(by_patient_required),
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
                required_search=list(by_patient_required),
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
                required_search=list(by_patient_required),
                documentation=(
                    "Physician orders: phone orders (reportedReference: the nurse who received "
                    "and read back) and written electronic orders; confirmation and "
                    "prescription status as extensions."
                ),
            )
        )
