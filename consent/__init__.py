"""The shared record, consent and refusals, the access gate, the audit log,
the citizen's insight report and restricted analyses."""
