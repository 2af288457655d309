"""Django's ``createsuperuser``, which without prompts (``--noinput`` with DJANGO_SUPERUSER_PASSWORD)
would store any password: there the password must meet the rules of
:func:`crm.accounts.services.check_password_rules` too.  At the prompt Django checks the same rules.
"""

import os

from django.contrib.auth.management.commands import createsuperuser
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from crm.accounts import services


class Command(createsuperuser.Command):
    def handle(self, *args, **options):
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        if not options["interactive"] and password is not None:
            fields = [self.UserModel.USERNAME_FIELD, *self.UserModel.REQUIRED_FIELDS]
            candidate = self.UserModel(**{name: options.get(name) or os.environ.get(f"DJANGO_SUPERUSER_{name.upper()}")
                                          for name in fields})
            try:
                services.check_password_rules(password, candidate)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
        return super().handle(*args, **options)
