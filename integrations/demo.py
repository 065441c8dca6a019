"""Demo partners: 1813, the hospital, every GP practice and each municipality's
home nursing, each with an inbox simulator on 127.0.0.1 (``manage.py
partner_simulators``, started by ``make run``), plus each municipality's care
record system sending shared-record updates. Idempotent.

Demo secrets are derived from the partner code and are for the demo only.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

from core.models import Organisation
from integrations.models import Partner


def demo_secret(code: str) -> str:
    return f"demo-only-secret-{code}"


def load(say: Callable[[str], None], orgs: dict[str, Organisation]) -> None:
    port = settings.INTEGRATIONS_SIMULATOR_PORT
    plan: list[tuple[str, str, str, bool]] = [
        ("1813", Partner.Kind.HELPLINE_1813, "1813", True),
        ("hospital", Partner.Kind.HOSPITAL, "hospital", True),
    ]
    plan += [(key, Partner.Kind.GP, key, True) for key in sorted(orgs) if key.startswith("gp-")]
    plan += [
        (key, Partner.Kind.HOME_NURSING, key, True)
        for key in sorted(orgs)
        if key.startswith("home-")
    ]
    plan += [
        (f"eoj-{key[5:]}", Partner.Kind.MUNICIPAL_RECORDS, key, False)
        for key in sorted(orgs)
        if key.startswith("muni-")
    ]
    for offset, (code, kind, org_key, has_inbox) in enumerate(plan):
        Partner.objects.update_or_create(
            code=f"demo-{code}",
            defaults={
                "kind": kind,
                "organisation": orgs[org_key],
                "endpoint_url": f"http://127.0.0.1:{port + offset}/inbox" if has_inbox else "",
                "secret": demo_secret(f"demo-{code}"),
                "backoff_base_seconds": 5,
                "backoff_max_seconds": 300,
                "ack_timeout_seconds": 120,
            },
        )
    say(f"integrations: {len(plan)} demo partners with simulators from port {port}")
