"""`manage.py ensure_admin`: a first admin account, so there is never a default password.

When no superuser exists it creates `admin` with a random password and prints it once;
when one exists it does nothing and prints nothing about passwords. `manage.py serve`
(the README's run command) calls it after the migrations.
"""

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

USERNAME = "admin"


def ensure_admin() -> tuple[str, str] | None:
    """(username, password) of the superuser just created, or None when one existed."""
    users = get_user_model()
    with transaction.atomic():
        if users.objects.filter(is_superuser=True).exists():
            return None
        username = USERNAME
        while users.objects.filter(username=username).exists():
            # An ordinary account already has the name: never take it over.
            username = f"{USERNAME}-{secrets.token_hex(2)}"
        password = secrets.token_urlsafe(18)
        users.objects.create_superuser(username, email="", password=password)
    return username, password


class Command(BaseCommand):
    help = "Create a superuser with a random password (printed once) when none exists."

    def handle(self, *args: Any, **options: Any) -> None:
        created = ensure_admin()
        if created is None:
            return
        username, password = created
        self.stdout.write(
            self.style.WARNING(
                f"Created the admin account {username!r} with the password {password}\n"
                "It is shown only this once: note it now, then log in at /accounts/login/ "
                "and change it in the admin (or run manage.py changepassword "
                f"{username})."
            )
        )
