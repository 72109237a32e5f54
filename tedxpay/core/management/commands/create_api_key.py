from django.core.management.base import BaseCommand

from tedxpay.core.models import ApiKeyScope
from tedxpay.core.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for an external client. The key is printed alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who the key is for, e.g. 'event website'.")
        parser.add_argument(
            "--scope",
            dest="scopes",
            action="append",
            choices=ApiKeyScope.values,
            help="What the key may do; repeat for several. Default: orders. A door scanner app: --scope checkin.",
        )

    def handle(self, *args, name, scopes, **options):
        api_key, raw_key = api_key_create(name=name, scopes=scopes or [ApiKeyScope.ORDERS])
        self.stderr.write(
            f"Created API key #{api_key.pk} '{api_key.name}' with scopes: {api_key.scopes}. It is shown once:"
        )
        self.stdout.write(raw_key)
