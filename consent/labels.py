"""The audit log's and the shared record's labels, as the pages show them.

The models keep English labels, because FHIR resources and CSV exports carry
them as displays; pages translate them with the context "record label"
(``{% translate label context "record label" %}``). Listed here so the
catalogue keeps them.
"""

from django.utils.translation import pgettext_lazy

LABEL_CONTEXT = "record label"

LABELS = [
    pgettext_lazy(LABEL_CONTEXT, "Read"),
    pgettext_lazy(LABEL_CONTEXT, "Search"),
    pgettext_lazy(LABEL_CONTEXT, "Create"),
    pgettext_lazy(LABEL_CONTEXT, "Update"),
    pgettext_lazy(LABEL_CONTEXT, "Delete"),
    pgettext_lazy(LABEL_CONTEXT, "Export"),
    pgettext_lazy(LABEL_CONTEXT, "Disclose"),
    pgettext_lazy(LABEL_CONTEXT, "Break the glass"),
    pgettext_lazy(LABEL_CONTEXT, "Treatment"),
    pgettext_lazy(LABEL_CONTEXT, "Emergency treatment (break-the-glass)"),
    pgettext_lazy(LABEL_CONTEXT, "Operations"),
    pgettext_lazy(LABEL_CONTEXT, "Analysis"),
    pgettext_lazy(LABEL_CONTEXT, "Audit"),
    pgettext_lazy(LABEL_CONTEXT, "Permitted"),
    pgettext_lazy(LABEL_CONTEXT, "Denied"),
    pgettext_lazy(LABEL_CONTEXT, "Break-the-glass use"),
    pgettext_lazy(LABEL_CONTEXT, "Denied access"),
    pgettext_lazy(LABEL_CONTEXT, "Access outside the user's shift"),
    pgettext_lazy(LABEL_CONTEXT, "Unusually many citizens within an hour"),
    pgettext_lazy(LABEL_CONTEXT, "Citizen of a municipality without an agreement"),
    pgettext_lazy(LABEL_CONTEXT, "Somatic diagnosis (ICD-10, not chapter F)"),
    pgettext_lazy(LABEL_CONTEXT, "Current nursing problem"),
    pgettext_lazy(LABEL_CONTEXT, "Municipal help received (home help, home nursing)"),
    pgettext_lazy(LABEL_CONTEXT, "Care and treatment plan"),
    pgettext_lazy(LABEL_CONTEXT, "Contact with a hospital department"),
    pgettext_lazy(LABEL_CONTEXT, "Refusal"),
    pgettext_lazy(LABEL_CONTEXT, "Consent"),
    pgettext_lazy(LABEL_CONTEXT, "Oral"),
    pgettext_lazy(LABEL_CONTEXT, "Written"),
    pgettext_lazy(LABEL_CONTEXT, "The citizen consented"),
    pgettext_lazy(LABEL_CONTEXT, "The citizen cannot be asked and it is necessary"),
]
