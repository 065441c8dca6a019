from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"

    def ready(self) -> None:
        from core.fhir.capability import ResourceCapability, SearchParam, register_resource

        record_params = [
            SearchParam("patient", "reference", "Patient/<id>; a hidden patient gives none."),
            SearchParam("category", "token", "Data category (urn:tvaerakut:data-category)."),
            SearchParam("code", "token", "system|code, e.g. http://hl7.org/fhir/sid/icd-10|I10."),
            SearchParam("date", "date", "Clinically relevant date, with prefixes ge/le/gt/lt/eq."),
            SearchParam("_count", "number"),
        ]
        notes = {
            "Condition": "Somatic diagnoses (ICD-10, chapter F refused — R2) and current "
            "nursing problems.",
            "EpisodeOfCare": "The municipal help the citizen receives (home help, personal care, "
            "home nursing).",
            "CarePlan": "Care and treatment plans.",
            "Encounter": "Contacts per hospital department (numeric ids; visit-<n> ids are "
            "the acute function's visits).",
        }
        for resource_type, documentation in notes.items():
            register_resource(
                ResourceCapability(
                    type=resource_type,
                    interactions=["read", "vread", "search-type", "create", "update"],
                    search_params=list(record_params),
                    versioned=True,
                    documentation=documentation + " Consent-checked and audited.",
                )
            )
        register_resource(
            ResourceCapability(
                type="Patient",
                interactions=["read", "search-type", "create", "update"],
                search_params=[
                    SearchParam("_id", "token", "Patient id; a comma means or."),
                    SearchParam("name", "string", "Family or given name (:exact, :contains)."),
                    SearchParam("family", "string", "Family name (:exact, :contains)."),
                    SearchParam("given", "string", "Given name (:exact, :contains)."),
                    SearchParam("birthdate", "date", "With prefixes eq/ne/gt/lt/ge/le/sa/eb."),
                    SearchParam("gender", "token", "female or male (the legal sex)."),
                    SearchParam(
                        "identifier",
                        "token",
                        "CPR number: only in the form body of POST Patient/_search, never in "
                        "a URL (a GET with it is refused).",
                    ),
                    SearchParam("_count", "number"),
                ],
                versioned=True,
                operations=[
                    ("everything", "http://hl7.org/fhir/OperationDefinition/Patient-everything"),
                    ("insight", "urn:tvaerakut:OperationDefinition/Patient-insight"),
                ],
                documentation="Citizens (DK-core CPR identifier); read, searched and updated "
                "through the consent gate, registered by the acute function's coordinator or "
                "the home nursing of the citizen's municipality; a CPR number already "
                "registered is refused (409). Updates need If-Match.",
            )
        )
        register_resource(
            ResourceCapability(
                type="Consent",
                interactions=["read", "search-type", "create"],
                search_params=[SearchParam("patient", "reference", "Patient/<id>.")],
                required_search=[("patient",)],
                operations=[("withdraw", "urn:tvaerakut:OperationDefinition/Consent-withdraw")],
                documentation="Refusals (Min Spærring) and consents; withdrawals keep history.",
            )
        )
        from core.fhir.capability import register_system_interaction

        register_system_interaction("transaction")
