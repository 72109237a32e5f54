import factory
from django.conf import settings
from django.utils import timezone
from factory.django import DjangoModelFactory

from orders.models import Buyer, Order, OrderItem
from tickets.tests.factories import EventFactory, TicketFactory


class BuyerFactory(DjangoModelFactory):
    class Meta:
        model = Buyer

    full_name = factory.Faker("name", locale="id_ID")
    email = factory.Sequence(lambda n: f"buyer{n}@example.com")
    phone = factory.Sequence(lambda n: f"+62812{n:08d}")


class OrderFactory(DjangoModelFactory):
    """A PENDING order row. It does not reserve stock: tests about stock go through
    the services, which do."""

    class Meta:
        model = Order

    buyer = factory.SubFactory(BuyerFactory)
    event = factory.SubFactory(EventFactory)
    total = 0
    expires_at = factory.LazyFunction(lambda: timezone.now() + settings.ORDER_TTL)


class OrderItemFactory(DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    ticket = factory.SubFactory(TicketFactory, event=factory.SelfAttribute("..order.event"))
    quantity = 1
    unit_price = factory.SelfAttribute("ticket.price")
