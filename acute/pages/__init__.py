"""The acute function's pages: the nurse's shift (``shift``), the
coordinator's page of a referral (``referrals``), the phone referral and the
short referral form (``referral_forms``), a referral's withdrawal
(``withdrawals``), and the follow-up figures (``figures``).

Every read of a citizen's data goes through ``acute.clinical.selectors.visit_access``
(the consent gate, audited) or is audited as a list (one entry per citizen, as
IHE BALP asks); every write calls the same service as the API.
"""

from django.utils.translation import gettext_noop

# Labels that stay English in the models because FHIR exchanges them as code
# displays (urgency, outcome, LOINC vital signs), because they are catalogue
# data (the tests and procedures, R7) or because another app owns them. The
# pages translate them where they are shown (``{% trans value %}``); listed
# here so the catalogue has them.
EDGE_LABELS = (
    gettext_noop("Within 2 hours"),
    gettext_noop("Within the shift"),
    gettext_noop("Next day"),
    gettext_noop("Treated at home"),
    gettext_noop("Admitted to hospital"),
    gettext_noop("Handed back to home nursing"),
    gettext_noop("Declined by the citizen"),
    gettext_noop("Died"),
    gettext_noop("Citizen not found"),
    gettext_noop("Referral lapsed"),
    gettext_noop("Heart rate"),
    gettext_noop("Respiratory rate"),
    gettext_noop("Oxygen saturation"),
    gettext_noop("Systolic blood pressure"),
    gettext_noop("Diastolic blood pressure"),
    gettext_noop("Body temperature"),
    gettext_noop("Glucose; capillary blood plasma"),
    gettext_noop("Glucose; venous blood plasma"),
    gettext_noop("C-reactive protein (CRP); plasma"),
    gettext_noop("Sodium; plasma"),
    gettext_noop("Potassium; plasma"),
    gettext_noop("Creatininium; plasma"),
    gettext_noop("eGFR (CKD-EPI 2021); creatinine-based"),
    gettext_noop("Haemoglobin(Fe); blood"),
    gettext_noop("Coagulation factor II+VII+X (INR); plasma"),
    gettext_noop("Urinary catheter placement"),
    gettext_noop("Feeding tube placement"),
    gettext_noop("Urine dipstick test"),
    # The hand-off states the board shows (integrations.OutboundMessage.Status).
    gettext_noop("Waiting to be sent"),
    gettext_noop("Being sent"),
    gettext_noop("Sent, waiting for acknowledgement"),
    gettext_noop("Acknowledged"),
    gettext_noop("Failed: needs a person"),
    gettext_noop("Withheld: the citizen refused disclosure"),
)
