from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from demo.acme import PASSWORD, PEOPLE, DemoConflict, build_demo


class Command(BaseCommand):
    help = "Build the demo organization “Acme” (safe to run again) and print its logins."

    def handle(self, *args, **options):
        try:
            org = build_demo()
        except DemoConflict as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Demo organization “{org.name}” is ready."))
        self.stdout.write(f"Log in with any of these, password “{PASSWORD}”:")
        for username, role, department, full_name in PEOPLE:
            where = f" of {department}" if department else ""
            self.stdout.write(f"  {username:<5} {role}{where} ({full_name})")
