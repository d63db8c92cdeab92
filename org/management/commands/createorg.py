from __future__ import annotations

import getpass
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from org.services import organization_create


class Command(BaseCommand):
    help = "Create an organization and its first admin."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the organization's name")
        parser.add_argument(
            "--admin", required=True, metavar="USERNAME", help="the first admin's username"
        )
        parser.add_argument("--email", default="", help="the admin's email address")
        parser.add_argument("--password", help="the admin's password (prompted for when not given)")
        parser.add_argument(
            "--timezone", default="UTC", help="the organization's time zone (default UTC)"
        )

    def handle(self, *args, name, admin, email, password, timezone, **options):
        if password is None:
            if not options.get("interactive", True) or not self.stdin_isatty():
                raise CommandError("Give --password, or run in a terminal to be asked for one.")
            password = getpass.getpass(f"Password for {admin}: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords differ; nothing was created.")
        try:
            member = organization_create(
                name=name,
                admin_username=admin,
                admin_email=email,
                admin_password=password,
                timezone=timezone,
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()
            )
            raise CommandError(f"Nothing was created. {problems}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Created “{member.organization.name}” with admin {member.user.username}."
            )
        )

    @staticmethod
    def stdin_isatty() -> bool:
        return sys.stdin.isatty()
