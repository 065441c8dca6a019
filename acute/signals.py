"""Domain events of the acute function, sent inside the transaction that causes them.

Receivers (``integrations`` writes outbox rows; others may listen) run in the
same transaction, so an event and what it causes commit together or not at
all. Receivers must not do network I/O: they write rows; Celery delivers after
commit. Each signal is sent with keyword arguments documented beside it.
"""

from django.dispatch import Signal

# A referral was accepted or declined by triage. kwargs: referral, by (Actor), reason (declines)
referral_accepted = Signal()
referral_declined = Signal()
# The coordinator withdrew a referral. kwargs: referral, by (Actor), note (the
# note, or else the reason, as the referrer reads it). Sent after the episode
# it leaves with nothing to do has ended (``episode_completed`` first).
referral_withdrawn = Signal()
# A nurse accepted an assignment / set off / arrived. kwargs: visit, by (Actor)
visit_accepted = Signal()
nurse_en_route = Signal()
nurse_on_site = Signal()
# The episode ended with an outcome. kwargs: episode, outcome, by (Actor)
episode_completed = Signal()
# A citizen is sent to hospital (admission hand-off). kwargs: visit, by (Actor), reason
admission_requested = Signal()
