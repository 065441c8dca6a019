from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The pages that combine several apps: the nurse's visit (acute, clinical,
    the shared record and her bag) and the coordinator's board (acute and the
    hand-offs). It sits above every app it combines (docs/decisions/0004)."""

    name = "portal"
    verbose_name = "Pages that combine apps"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from core.services.signals import (
            administration_changed,
            login_locked_out,
            login_refused,
            password_login_succeeded,
            token_signed_out,
        )
        from portal.signin.services import (
            administration_change_record,
            login_lockout_record,
            login_refusal_record,
            password_login_record,
            session_sign_out_record,
            token_sign_out_record,
        )

        login_locked_out.connect(login_lockout_record, dispatch_uid="portal.login_lockout_record")
        login_refused.connect(login_refusal_record, dispatch_uid="portal.login_refusal_record")
        password_login_succeeded.connect(
            password_login_record, dispatch_uid="portal.password_login_record"
        )
        user_logged_out.connect(session_sign_out_record, dispatch_uid="portal.session_sign_out")
        token_signed_out.connect(token_sign_out_record, dispatch_uid="portal.token_sign_out")
        administration_changed.connect(
            administration_change_record, dispatch_uid="portal.administration_change_record"
        )
