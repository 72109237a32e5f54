from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from tickets.models import Event, Ticket


class EventFactory(DjangoModelFactory):
    class Meta:
        model = Event

    name = factory.Sequence(lambda n: f"TEDxKota {n}")
    slug = factory.Sequence(lambda n: f"tedxkota-{n}")
    venue = "Gedung Kesenian"
    city = "Bandung"
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))


class TicketFactory(DjangoModelFactory):
    """A phase on sale now."""

    class Meta:
        model = Ticket

    event = factory.SubFactory(EventFactory)
    name = factory.Sequence(lambda n: f"Regular {n}")
    price = 350_000
    quota = 100
    valid_from = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    valid_until = factory.LazyFunction(lambda: timezone.now() + timedelta(days=10))
    max_per_order = 5
