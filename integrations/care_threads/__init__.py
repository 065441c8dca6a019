"""MedCom CareCommunication threads (*korrespondancemeddelelser*) with home
nursing, GPs and hospitals about a citizen the acute function serves.

- :mod:`.receive` — a partner's CareCommunication becomes (or continues) a
  thread, kept by MedCom's episode identifier (``Communication.identifier``);
- :mod:`.reply` — the nurse's or coordinator's answer in the same thread, an
  outbound CareCommunication whose Provenance points to the message it answers;
- :mod:`.selectors` — the threads of a referral, behind the access gate and
  audited.
"""
