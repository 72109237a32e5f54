import factory
from factory.django import DjangoModelFactory

from tickets.tests.factories import EventFactory
from vouchers.models import Voucher, VoucherKind


class VoucherFactory(DjangoModelFactory):
    """A voucher valid now for every visible phase of its event; pass `tickets=[…]` to list phases."""

    class Meta:
        model = Voucher
        skip_postgeneration_save = True

    event = factory.SubFactory(EventFactory)
    code = factory.Sequence(lambda n: f"CODE{n}")
    kind = VoucherKind.PERCENT
    value = 10
    max_uses = 10

    @factory.post_generation
    def tickets(self, create, extracted, **kwargs):
        if create and extracted:
            self.tickets.set(extracted)
