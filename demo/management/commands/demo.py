from __future__ import annotations

from django.core.management.base import BaseCommand

from demo.acme import PASSWORD, PEOPLE, build_demo


class Command(BaseCommand):
    help = "Build the demo organization “Acme” (safe to run again) and print its logins."

    def handle(self, *args, **options):
        org = build_demo()
        self.stdout.write(self.style.SUCCESS(f"Demo organization “{org.name}” is ready."))
        self.stdout.write(f"Log in with any of these, password “{PASSWORD}”:")
        for username, role, department, full_name in PEOPLE:
            where = f" of {department}" if department else ""
            self.stdout.write(f"  {username:<5} {role}{where} ({full_name})")
