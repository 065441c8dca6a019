"""The signals core sends about sign-in and the administration of who may
act. Core sits below the audit log: the composition layer connects to them
and records each as an entry (``portal/signin``)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent for every login refused because of earlier failures (a lockout: too
# many failed logins, or a code app pausing after wrong codes), with
# ``username``, ``code`` and ``client_address``. The composition layer records
# it in the audit log (portal/signin), which core sits below.
login_locked_out = Signal()
# Sent for every other refused password login — a wrong username or
# password, a wrong or used code, a code from no code app — with the same
# arguments: each is a denied sign-in in the audit log, as one refused through
# an identity provider is.
login_refused = Signal()
# Sent when a password login succeeds, with ``membership`` (the role it acts
# in), ``door`` ("page", "api" or "admin") and ``client_address``.
password_login_succeeded = Signal()
# Sent when she logs out with her bearer token (the API's logout), with
# ``membership``: a sign-out in the audit log, as a session's logout is
# (Django's ``user_logged_out``).
token_signed_out = Signal()
# Sent when the administration adds, changes or removes a record that decides
# who may act and so reach citizens' data (a user and her roles, an
# organisation, a code app), with ``request``, ``obj``, ``action`` ("create",
# "update" or "delete") and ``change`` (the admin's change message: the names
# of the fields changed and the rows added or removed, never a password or a
# key). The composition layer records it in the audit log (portal/signin),
# inside the change's own transaction: no change without its entry.
administration_changed = Signal()


def login_refusal_send(*, username: str, code: str, client_address: str | None) -> None:
    login_refused.send(
        sender=None, username=username[:150], code=code, client_address=client_address
    )
