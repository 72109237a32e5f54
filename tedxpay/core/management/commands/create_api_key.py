from django.core.management.base import BaseCommand

from tedxpay.core.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for an external client. The key is printed alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who the key is for, e.g. 'event website'.")

    def handle(self, *args, name, **options):
        api_key, raw_key = api_key_create(name=name)
        self.stderr.write(f"Created API key #{api_key.pk} '{api_key.name}'. It is shown once:")
        self.stdout.write(raw_key)
