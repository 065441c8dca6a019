"""The audit log (R9): every access to citizen data, append-only and tamper-evident.

A Django app of its own (label ``audit``) inside ``consent/``. Everything in the
platform records through :func:`consent.audit.services.audit_record` and
:func:`consent.audit.services.audit_record_many`.
"""
