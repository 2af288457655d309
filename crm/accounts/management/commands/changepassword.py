"""Django's ``changepassword``, saving through :func:`crm.accounts.services.set_password`: the password
rules, the audit entry and the end of the user's API token, as for every other password change.

``crm.accounts`` comes before ``django.contrib.auth`` in INSTALLED_APPS so that this command wins.
"""

import getpass

from django.contrib.auth import get_user_model
from django.contrib.auth.management.commands import changepassword
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from crm.accounts import services
from crm.accounts.choices import PasswordEvent
from crm.core.audit import acting_as

MAX_TRIES = 3


class Command(changepassword.Command):
    def handle(self, *args, **options):
        username = options["username"] or getpass.getuser()
        user_model = get_user_model()
        try:
            user = user_model._default_manager.using(options["database"]).get(
                **{user_model.USERNAME_FIELD: username})
        except user_model.DoesNotExist as exc:
            raise CommandError(f"user '{username}' does not exist") from exc
        self.stdout.write(f"Changing password for user '{user}'")
        for _attempt in range(MAX_TRIES):
            password = self._get_pass()
            if password != self._get_pass("Password (again): "):
                self.stdout.write("Passwords do not match. Please try again.")
                continue
            try:
                with acting_as(None, source="command"):
                    services.set_password(user, password, actor=None, reason=PasswordEvent.COMMAND)
            except ValidationError as exc:
                self.stderr.write("\n".join(exc.messages))
                continue
            return f"Password changed successfully for user '{user}'"
        raise CommandError(f"Aborting password change for user '{user}' after {MAX_TRIES} attempts")
