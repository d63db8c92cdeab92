"""Django's createsuperuser, holding the password given without a terminal
(DJANGO_SUPERUSER_PASSWORD with --noinput) to the same rules as every other door
(AUTH_PASSWORD_VALIDATORS); at a terminal Django already asks them."""

from __future__ import annotations

import os

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.management.commands import createsuperuser
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


class Command(createsuperuser.Command):
    def handle(self, *args, **options):
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        if not options["interactive"] and password is not None:
            User = get_user_model()
            username = options.get(User.USERNAME_FIELD) or os.environ.get(
                f"DJANGO_SUPERUSER_{User.USERNAME_FIELD.upper()}", ""
            )
            email = options.get("email") or os.environ.get("DJANGO_SUPERUSER_EMAIL", "")
            try:
                password_validation.validate_password(
                    password, User(username=username, email=email)
                )
            except ValidationError as exc:
                raise CommandError(
                    "Nothing was created. DJANGO_SUPERUSER_PASSWORD: " + " ".join(exc.messages)
                ) from None
        return super().handle(*args, **options)
