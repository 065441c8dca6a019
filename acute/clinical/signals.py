"""Events of the visit's clinical work, sent inside the transaction that causes them.

Receivers run in the same transaction: they write rows (an outbox message, a
notification), never network I/O. Keyword arguments are documented beside each.
"""

from django.dispatch import Signal

# Results were recorded on a visit that the citizen's GP asked for; the hand-off
# work turns them into a MedCom HomeCareObservation message to the GP.
# kwargs: visit (acute.Visit), citizen (core.Citizen), gp_practice (core.Organisation,
#         None when neither the referral nor the citizen names one),
#         results (list[LabResult], the eGFR included), referral (acute.Referral,
#         the GP's), by (core.actors.Actor)
# ``acute.clinical.fhir.home_care_observations(results)`` gives the Observations
# in the HomeCareObservation profile's shape.
results_recorded = Signal()

# A result of such a visit was marked entered in error, and perhaps replaced by
# the right value; the GP who was sent it is told (HomeCareObservation,
# modified or retracted). kwargs: visit, citizen, gp_practice, referral, by as
# above; withdrawn (list[LabResult], the source first, then what was computed
# from it); replacements (list[LabResult], empty for a withdrawal).
results_amended = Signal()

# A result outside its critical limits.
# kwargs: result (LabResult), alert (PhysicianAlert), by (Actor)
critical_result_recorded = Signal()

# A stored alert was raised for a physician or escalated to the coordinators; a
# notifier may page or text the recipient. kwargs: alert (PhysicianAlert)
physician_alert_raised = Signal()

# Physician medication orders. kwargs: order (MedicationOrder), by (Actor)
medication_order_recorded = Signal()
medication_order_confirmed = Signal()
prescription_sent = Signal()
