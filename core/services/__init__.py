"""Writes for who-is-who, one module per use case: a password login
(``login``, ``second_factor``, ``memberships``), the API's bearer tokens
(``tokens``), the signals the audit log hears them by (``signals``),
registering a citizen (``citizens``) and forgetting old Idempotency-Keys
(``idempotency_keys``). Re-exported here, so ``from core.services import
citizen_create`` keeps working."""

from core.services.citizens import citizen_create, citizen_text_checked
from core.services.idempotency_keys import idempotency_keys_prune
from core.services.login import login_verify, refuse_when_throttled
from core.services.memberships import (
    MUNICIPALITY_LEFT,
    MUNICIPALITY_LEFT_MESSAGE,
    membership_choose,
    memberships_to_act_in,
    municipality_left_refusal,
)
from core.services.second_factor import (
    DEVICE_FAILURES_COUNTED,
    SECOND_FACTOR_ROLES,
    second_factor_required,
    second_factor_verify,
    totp_device_of,
    totp_enrol_confirm,
    totp_enrol_start,
)
from core.services.signals import (
    administration_changed,
    login_locked_out,
    login_refusal_send,
    login_refused,
    password_login_succeeded,
    token_signed_out,
)
from core.services.tokens import token_issue, token_revoke, tokens_prune

__all__ = [
    "DEVICE_FAILURES_COUNTED",
    "MUNICIPALITY_LEFT",
    "MUNICIPALITY_LEFT_MESSAGE",
    "SECOND_FACTOR_ROLES",
    "administration_changed",
    "citizen_create",
    "citizen_text_checked",
    "idempotency_keys_prune",
    "login_locked_out",
    "login_refusal_send",
    "login_refused",
    "login_verify",
    "membership_choose",
    "memberships_to_act_in",
    "municipality_left_refusal",
    "password_login_succeeded",
    "refuse_when_throttled",
    "second_factor_required",
    "second_factor_verify",
    "token_issue",
    "token_revoke",
    "token_signed_out",
    "tokens_prune",
    "totp_device_of",
    "totp_enrol_confirm",
    "totp_enrol_start",
]
