"""Trust for ``/fhir/$process-message``: the partner is the one whose secret
signed the request. No user token; unknown senders, bad signatures and stale
timestamps are refused before the body is read as FHIR."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.db import connection
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from core.errors import Unauthenticated
from core.models import Organisation
from core.sql import CompiledQuery, columns_of, instances_of, plain_columns
from integrations.models import Partner
from integrations.transport import (
    SENDER_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureRefused,
    signature_verify,
)

# The partner in service that a request names, with its organisation: read
# on every message received, compiled once (core/sql.py).
_PARTS = ((Partner, ""), (Organisation, "organisation__"))
_PARTNER_QUERY = CompiledQuery(
    lambda code: (
        Partner.objects.in_service().filter(code=code).values_list(*columns_of(_PARTS))[:1]
    ),
    "stand-in partner code",
)


def partner_in_service(code: str) -> Partner | None:
    """The partner in service with this code, its organisation loaded."""
    if connection.vendor != "postgresql" or not plain_columns(_PARTS):
        return Partner.objects.in_service().select_related("organisation").filter(code=code).first()
    rows = _PARTNER_QUERY.rows(code, binary=True)
    if not rows:
        return None
    partner, organisation = instances_of(rows[0], _PARTS)
    found = cast("Partner", partner)
    found.organisation = cast("Organisation", organisation)
    return found


def partner_authenticate(
    *, sender: str | None, timestamp: str | None, given: str | None, body: bytes
) -> Partner:
    """The partner that signed ``body``, or :class:`Unauthenticated`. The same
    answer for an unknown sender, a deactivated partner or organisation and a
    wrong signature: nothing to probe."""
    partner = partner_in_service(sender) if sender else None
    if partner is None:
        raise Unauthenticated(
            "auth.partner_refused", "The sender is not a known partner or the signature is wrong."
        )
    try:
        signature_verify(
            secret=partner.secret,
            timestamp=timestamp,
            given=given,
            body=body,
            skew_seconds=settings.INTEGRATIONS_SIGNATURE_SKEW_SECONDS,
        )
    except SignatureRefused as exc:
        if exc.code == "auth.timestamp_stale":
            raise Unauthenticated(exc.code, exc.message) from None
        raise Unauthenticated(
            "auth.partner_refused", "The sender is not a known partner or the signature is wrong."
        ) from None
    return partner


MESSAGE_MEDIA_TYPES = ("application/fhir+json", "application/json")


class SignedByPartner(BasePermission):
    """Admits a request signed by an active partner; puts it on ``request.partner``."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        # A message is FHIR JSON; a form body would be parsed, and its bytes
        # gone, before the signature over them could be checked.
        media_type = (request.content_type or "").split(";")[0].strip().lower()
        if media_type not in MESSAGE_MEDIA_TYPES:
            raise UnsupportedMediaType(media_type or "none")
        raw = request._request.body  # the exact bytes that were signed
        request.partner = partner_authenticate(  # type: ignore[attr-defined]
            sender=request.headers.get(SENDER_HEADER),
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            given=request.headers.get(SIGNATURE_HEADER),
            body=raw,
        )
        return True
