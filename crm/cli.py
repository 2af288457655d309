"""The ``crm`` console script for operators: every ``manage.py`` command, e.g.

    crm migrate            crm seed_demo --if-empty      crm serve --port 8000
    crm generate --customers 1000000                    crm createsuperuser
"""

import os
import sys


def main(argv=None):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv if argv is None else argv)
    argv[0] = "crm"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
