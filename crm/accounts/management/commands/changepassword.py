"""Django's ``changepassword``, which then revokes the user's API token like every other password change.

``crm.accounts`` comes before ``django.contrib.auth`` in INSTALLED_APPS so that this command wins.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.management.commands import changepassword

from crm.accounts import services
from crm.accounts.choices import PasswordEvent
from crm.core.audit import acting_as


class Command(changepassword.Command):
    def handle(self, *args, **options):
        message = super().handle(*args, **options)
        user_model = get_user_model()
        user = user_model._default_manager.db_manager(options["database"]).get(
            **{user_model.USERNAME_FIELD: options["username"] or changepassword.getpass.getuser()}
        )
        with acting_as(None, source="command"):
            services.note_password_changed(user, actor=None, reason=PasswordEvent.COMMAND)
        return message
