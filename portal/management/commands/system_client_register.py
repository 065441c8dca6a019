"""Register a system that asks for API tokens with OAuth 2.0 client credentials.

    manage.py system_client_register --client-id hospital-feed \\
        --name "Hospital feed" --organisation <id> --role coordinator \\
        --scopes "system/Patient.read system/ServiceRequest.*"

The secret is printed once and only its hash is kept.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from core.errors import PlatformError
from core.messages import user_message
from core.models import Membership, Organisation, Role, User
from portal.signin.services import TokenRefused, system_client_register


class Command(BaseCommand):
    help = "Register a system client (OAuth 2.0 client credentials) and print its secret once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--client-id", required=True, help="The id the system authenticates with."
        )
        parser.add_argument("--name", required=True, help="The system's name, as shown.")
        parser.add_argument(
            "--organisation",
            type=int,
            required=True,
            help="The platform's id of the organisation the system acts for.",
        )
        parser.add_argument(
            "--role", required=True, choices=Role.values, help="The role it acts in there."
        )
        parser.add_argument(
            "--scopes",
            required=True,
            help="SMART backend-services scopes, space-separated"
            " (system/Patient.read, system/*.read): a ceiling over the role on /fhir/.",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        organisation = Organisation.objects.filter(pk=options["organisation"]).first()
        if organisation is None:
            raise CommandError("No such organisation.")
        user, _ = User.objects.get_or_create(
            username=f"system-{options['client_id']}"[:150],
            defaults={"first_name": options["name"][:150]},
        )
        if user.has_usable_password():
            user.set_unusable_password()
            user.save(update_fields=["password"])
        membership, _ = Membership.objects.get_or_create(
            user=user,
            organisation=organisation,
            role=options["role"],
            # Chosen at sign-in only as its user's first role: one user may
            # stand behind systems of several organisations.
            defaults={"is_default": not user.memberships.filter(is_default=True).exists()},
        )
        try:
            _, secret = system_client_register(
                client_id=options["client_id"],
                name=options["name"],
                membership=membership,
                scopes=options["scopes"],
            )
        except TokenRefused as exc:
            raise CommandError(exc.message) from exc
        except PlatformError as exc:
            # A client id already registered, a name too long: in the
            # platform's sentence (never quoting the value), nothing written.
            raise CommandError(user_message(exc)) from exc
        self.stdout.write(f"client_id={options['client_id']}\nclient_secret={secret}\n")
