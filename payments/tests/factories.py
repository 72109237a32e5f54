import factory
from factory.django import DjangoModelFactory

from orders.tests.factories import OrderFactory
from payments.models import Payment, WebhookEvent


class PaymentFactory(DjangoModelFactory):
    class Meta:
        model = Payment

    order = factory.SubFactory(OrderFactory)
    external_id = factory.SelfAttribute("order.code")
    amount = factory.SelfAttribute("order.total")
    invoice_id = factory.Sequence(lambda n: f"inv_{n:020d}")
    invoice_url = factory.LazyAttribute(lambda p: f"http://127.0.0.1:8000/_xendit/web/{p.invoice_id}")


class WebhookEventFactory(DjangoModelFactory):
    class Meta:
        model = WebhookEvent

    invoice_id = factory.Sequence(lambda n: f"inv_{n:020d}")
    status = "PAID"
    raw_body = "{}"
