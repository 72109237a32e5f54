import factory
from factory.django import DjangoModelFactory

from notifications.models import Notification, NotificationKind
from orders.tests.factories import OrderFactory


class NotificationFactory(DjangoModelFactory):
    class Meta:
        model = Notification

    order = factory.SubFactory(OrderFactory)
    kind = NotificationKind.ORDER_CONFIRMATION
    to_email = factory.SelfAttribute("order.buyer.email")
