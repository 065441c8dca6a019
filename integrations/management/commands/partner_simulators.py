"""Run the partner simulators for the demo: an inbox for every configured
partner with a 127.0.0.1 endpoint, printing what arrives (event and id, never
the content). With ``--send-demo`` 1813 refers a demo citizen and the hospital
reports an admission and a discharge with a follow-up, so messages flow. The
two citizens the demo's messages name are read as the platform's background
work on those partners' behalf, and each read is in the audit log (R9)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from consent.audit.services import Action, Purpose, audit_record
from core.actors import Actor
from core.fhir.patient import patient_resource
from core.models import Citizen
from integrations.models import Partner
from integrations.simulators import PartnerSimulator, helpline_referral, hospital_notification

DEMO_TASK = "integrations.simulator_demo"


def demo_citizens(*, helpline: Partner, hospital: Partner) -> list[Citizen]:
    """The two living citizens the demo's 1813 referral and hospital discharge
    name, in that order (none if there are fewer), each read recorded for the
    partner whose message will carry it."""
    citizens = list(Citizen.objects.filter(deceased_at__isnull=True).order_by("pk")[:2])
    if len(citizens) < 2:
        return []
    for citizen, partner in zip(citizens, (helpline, hospital), strict=True):
        audit_record(
            actor=Actor.system(DEMO_TASK, partner=partner.organisation),
            action=Action.READ,
            purpose=Purpose.OPERATIONS,
            citizen_id=citizen.pk,
            resource_type="Patient",
            resource_id=str(citizen.pk),
        )
    return citizens


class Command(BaseCommand):
    help = "Start partner simulators on 127.0.0.1 for every partner with a local endpoint."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--send-demo", action="store_true")
        parser.add_argument("--wait", type=float, default=8.0, help="seconds before sending")

    def handle(self, *args: Any, **options: Any) -> None:
        platform = f"{settings.INTEGRATIONS_PLATFORM_URL}/fhir/$process-message"
        sims: dict[str, PartnerSimulator] = {}
        self.partners: dict[str, Partner] = {}
        for partner in (
            Partner.objects.filter(is_active=True).select_related("organisation").order_by("pk")
        ):
            parts = urlsplit(partner.endpoint_url)
            if parts.hostname != "127.0.0.1" or parts.port is None:
                continue
            try:
                sim = PartnerSimulator(
                    code=partner.code, secret=partner.secret, port=parts.port, platform_url=platform
                ).start()
            except OSError as exc:
                # Another program holds the port: the others still run, and
                # what the platform sends this partner waits in the outbox.
                self.stderr.write(
                    f"simulator {partner.code} cannot listen on {partner.endpoint_url} "
                    f"({exc.strerror or exc}); messages to it wait in the outbox. Free the "
                    "port: the demo's partners took their ports from INTEGRATIONS_SIMULATOR_PORT "
                    "when the demo data was loaded."
                )
                continue
            sims[partner.kind + ":" + partner.code] = sim
            self.partners[partner.kind + ":" + partner.code] = partner
            self.stdout.write(f"simulator {partner.code} listening on {partner.endpoint_url}")
        if options["send_demo"]:
            time.sleep(options["wait"])
            self._send_demo(sims)
        printed: dict[str, int] = dict.fromkeys(sims, 0)
        try:
            while True:
                time.sleep(1)
                for name, sim in sims.items():
                    bundles = sim.messages()
                    for bundle in bundles[printed[name] :]:
                        header = bundle["entry"][0]["resource"]
                        self.stdout.write(
                            f"{sim.code} received {header['eventCoding']['code']} {header['id']}"
                        )
                    printed[name] = len(bundles)
        except KeyboardInterrupt:
            pass
        finally:
            for sim in sims.values():
                sim.stop()

    def _send_demo(self, sims: dict[str, PartnerSimulator]) -> None:
        helpline_key = next((k for k in sims if k.startswith("helpline_1813:")), None)
        hospital_key = next((k for k in sims if k.startswith("hospital:")), None)
        citizens = (
            []
            if helpline_key is None or hospital_key is None
            else demo_citizens(
                helpline=self.partners[helpline_key], hospital=self.partners[hospital_key]
            )
        )
        if helpline_key is None or hospital_key is None or not citizens:
            self.stdout.write("demo messages skipped: partners or citizens missing")
            return
        helpline, hospital = sims[helpline_key], sims[hospital_key]
        stamp = int(time.time())
        for label, sim, bundle in [
            (
                "1813 referral",
                helpline,
                helpline_referral(
                    sender_code=helpline.code,
                    patient=patient_resource(citizens[0]),
                    reason="Feber og tiltagende forvirring",
                    case_id=f"1813-demo-{stamp}",
                ),
            ),
            (
                "hospital discharge with follow-up",
                hospital,
                hospital_notification(
                    sender_code=hospital.code,
                    patient=patient_resource(citizens[1]),
                    encounter_id=f"demo-{stamp}",
                    admitted=False,
                    follow_up_reason="Opfølgning på væsketal efter udskrivelse",
                ),
            ),
        ]:
            [reply] = sim.send(bundle)
            code = reply.json()["entry"][0]["resource"].get("response", {}).get("code")
            self.stdout.write(f"{label}: HTTP {reply.status}, acknowledgement {code}")
