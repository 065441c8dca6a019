"""What a simulated partner answers: MedCom's Acknowledgement for a message
in the MedCom envelope, the platform's own acknowledgement otherwise."""

from __future__ import annotations

import uuid
from typing import Any

from core.models import SOR_SYSTEM, Organisation
from integrations.medcom.envelope import GLN_SYSTEM, Issue, acknowledgement
from integrations.medcom.inbound import header_of
from integrations.medcom.outbound import MEDCOM_ACTIVITIES
from integrations.medcom.validation import EQUIVALENT_SYSTEMS
from integrations.simulators.messages import partner_now


def simulator_ack(
    answering: str, code: str, *, sender: str, diagnostics: str = ""
) -> dict[str, Any]:
    """An Acknowledgement as a partner's system would send it."""
    header: dict[str, Any] = {
        "resourceType": "MessageHeader",
        "id": str(uuid.uuid4()),
        "eventCoding": {"system": "urn:tvaerakut:message-event", "code": "acknowledgement"},
        "source": {"endpoint": f"urn:partner:{sender}"},
        "response": {"identifier": answering, "code": code},
    }
    entries: list[dict[str, Any]] = [{"fullUrl": f"urn:uuid:{header['id']}", "resource": header}]
    if code != "ok":
        outcome_id = str(uuid.uuid4())
        header["response"]["details"] = {"reference": f"urn:uuid:{outcome_id}"}
        entries.append(
            {
                "fullUrl": f"urn:uuid:{outcome_id}",
                "resource": {
                    "resourceType": "OperationOutcome",
                    "id": outcome_id,
                    "issue": [
                        {
                            "severity": "error",
                            "code": "transient" if code == "transient-error" else "processing",
                            "diagnostics": diagnostics or code,
                        }
                    ],
                },
            }
        )
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "message",
        "timestamp": partner_now(),
        "entry": entries,
    }


def _organisation_of(bundle: dict[str, Any], ref: Any) -> Organisation:
    """An Organization of the message as an (unsaved) organisation: its name,
    SOR code and EAN, to address the answer to whoever sent it."""
    reference = ref.get("reference") if isinstance(ref, dict) else None
    found: dict[str, Any] = next(
        (
            e["resource"]
            for e in bundle.get("entry") or []
            if isinstance(e, dict) and e.get("fullUrl") == reference
        ),
        {},
    )
    ids = {
        EQUIVALENT_SYSTEMS.get(str(i.get("system")), str(i.get("system"))): i.get("value")
        for i in found.get("identifier") or []
        if isinstance(i, dict)
    }
    return Organisation(
        name=str(found.get("name") or "?"), sor_code=ids.get(SOR_SYSTEM), ean=ids.get(GLN_SYSTEM)
    )


def in_envelope(bundle: dict[str, Any]) -> bool:
    """A message in MedCom's envelope: its receiver an Organization in it."""
    header = header_of(bundle) or {}
    destinations = header.get("destination") or [{}]
    receiver = destinations[0].get("receiver") if isinstance(destinations[0], dict) else None
    return bool(receiver) and _organisation_of(bundle, receiver).name != "?"


def medcom_ack(
    bundle: dict[str, Any], code: str, issues: list[Issue] | None = None
) -> dict[str, Any]:
    """MedCom's Acknowledgement of ``bundle``, as a partner's system sends it:
    from the message's receiver to its sender."""
    header = header_of(bundle) or {}
    destination = (header.get("destination") or [{}])[0]
    provenance: dict[str, Any] = next(
        (
            e["resource"]
            for e in bundle.get("entry") or []
            if e.get("resource", {}).get("resourceType") == "Provenance"
        ),
        {},
    )
    activity = ((provenance.get("activity") or {}).get("coding") or [{}])[0].get("code")
    return acknowledgement(
        answering=str(header.get("id", "")),
        code=code,
        sender=_organisation_of(bundle, destination.get("receiver")),
        receiver=_organisation_of(bundle, header.get("sender")),
        receiver_endpoint=str((header.get("source") or {}).get("endpoint", "")),
        sender_endpoint=str(destination.get("endpoint", "")),
        issues=issues or [],
        # A local activity (``status-update``) is, in MedCom's terms, a new message.
        answered_activity=activity if activity in MEDCOM_ACTIVITIES else "new-message",
        answered_at=str(provenance.get("occurredDateTime", "")),
    )
