"""`manage.py create_finance_user <username> [--email …] [--manager]`: a staff account in
the "Finance" group (and "Finance managers" with --manager), with a random password shown
once. The groups are made by migration orders/0005_finance_roles."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

FINANCE = "Finance"
FINANCE_MANAGERS = "Finance managers"


class Command(BaseCommand):
    help = "Create a staff user in the Finance group (--manager: also Finance managers); prints its password once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--manager",
            action="store_true",
            help="Also may export personal data, cancel orders, record refunds and replay callbacks.",
        )

    @transaction.atomic
    def handle(self, *args, username, email, manager, **options):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"A user named {username!r} exists already.")
        names = [FINANCE, FINANCE_MANAGERS] if manager else [FINANCE]
        groups = list(Group.objects.filter(name__in=names))
        if len(groups) != len(names):
            raise CommandError("The Finance groups are missing: run `manage.py migrate` first.")
        password = secrets.token_urlsafe(12)
        user = User.objects.create_user(username, email=email, password=password, is_staff=True)
        user.groups.add(*groups)
        self.stdout.write(f"Created {username} in {', '.join(names)}.")
        self.stdout.write(f"Password (shown once; change it after the first login): {password}")
