"""The platform's WSGI application for ``bench.medcom``'s HTTP phases: as
deployed, or (``BENCH_MEDCOM_VALIDATION=off``) with no message checked
against MedCom's rules, the side its ratio is taken against."""

from __future__ import annotations

import os

from config.wsgi import application

if os.environ.get("BENCH_MEDCOM_VALIDATION") == "off":
    import integrations.inbound as inbound
    import integrations.medcom.inbound as medcom_inbound
    from bench.medcom import _no_rules

    inbound.validate_message = medcom_inbound.validate_message = _no_rules

__all__ = ["application"]
