"""Correcting or withdrawing a result from the visit page (*Ret* /
*Fejlregistreret*): the wrong value is marked entered in error with the
nurse's reason, and a corrected value is recorded as a new result that
replaces it (acute.clinical.services.corrections)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from acute.clinical import selectors as clinical_selectors
from acute.clinical import services as clinical_services
from acute.clinical.models import LabResult
from consent.audit.services import Action
from core.errors import NotFoundOrNotAllowed, PlatformError
from core.form_once import once_per_form
from core.models import Role
from core.pages import page_actor
from core.permissions import page, serves
from core.refusals import Concerns
from core.validation import typed_number
from portal.visit_page import _visit_page


@page(Role.ACUTE_NURSE, concerns=Concerns("Observation", LabResult, path="result_id"))
@serves("POST")
@once_per_form
def visit_result_fix(request: HttpRequest, visit_id: int, result_id: int) -> HttpResponse:
    actor = page_actor(request)
    post = request.POST
    try:
        result = clinical_selectors.result_access(
            actor=actor, result_id=result_id, action=Action.UPDATE
        )
        if result.visit_id != visit_id:
            raise NotFoundOrNotAllowed()
        if post.get("value", "").strip():
            clinical_services.lab_result_correct(
                actor=actor,
                result=result,
                reason=post.get("reason", ""),
                value=typed_number(post.get("value", "")),
                unit=result.unit,
            )
            done = _("The result is corrected; the wrong value is kept, marked entered in error.")
        else:
            clinical_services.lab_result_withdraw(
                actor=actor, result=result, reason=post.get("reason", "")
            )
            done = _("The result is marked entered in error.")
    except PlatformError as exc:
        return _visit_page(request, visit_id, exc)
    messages.success(request, done)
    return redirect("nurse-visit", visit_id=visit_id)
