import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from checkin.roles import door_staff_group

PASSWORD_BYTES = 9  # 12 characters: typed once on a phone, then the session lasts


class Command(BaseCommand):
    help = (
        "Create a door volunteer's account: a member of 'Door staff' who can use the door page "
        "(/checkin/) and nothing else. The password is printed alone on the last line."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="Username, e.g. 'gate-a-1' or the volunteer's first name.")
        parser.add_argument(
            "--reset-password",
            action="store_true",
            help="The user exists: give it a new password (and make sure it is door staff only).",
        )

    @transaction.atomic
    def handle(self, *args, name, reset_password, **options):
        User = get_user_model()
        group = door_staff_group()
        user = User.objects.filter(username=name).first()
        if user is not None and not reset_password:
            raise CommandError(f"User '{name}' exists; pass --reset-password to give it a new password.")
        if user is None:
            user = User(username=name)
        if user.is_staff or user.is_superuser:
            raise CommandError(f"User '{name}' is staff: door accounts are kept apart from back-office ones.")
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        user.is_staff = False
        user.is_superuser = False
        user.is_active = True
        user.set_password(password)
        user.save()
        user.groups.add(group)
        self.stderr.write(f"Door user '{name}' can sign in at /checkin/ with this password (shown once):")
        self.stdout.write(password)
