"""Which expiries close the invoice at Xendit (`order_expire(expire_invoice=...)`), counted
at the simulator over HTTP: only the sweep, which is ours, calls `expire!`; Xendit's own
EXPIRED callback and a reconcile that read EXPIRED already know it is closed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.checkout.invoices import payment_reconcile
from orders.checkout.placing import OrderLineRequest, order_place
from orders.expiry import order_expire_stale
from orders.models import Order, OrderStatus
from payments.gateways.simulator.models import FaultKind, SimulatedFault
from payments.models import PaymentStatus, WebhookEvent, WebhookOutcome
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Each call to POST /invoices/{id}/expire! at the simulator claims one of these: a "delay"
# fault of a few milliseconds that then lets the call through unchanged. What is left of
# the stock says how many calls were made, without changing what any call does.
_COUNTER_STOCK = 100


@pytest.fixture
def expire_calls(xendit_simulator):
    xendit_simulator.inject_fault(FaultKind.EXPIRE, "delay", seconds=0.001, count=_COUNTER_STOCK)

    def count() -> int:
        return _COUNTER_STOCK - SimulatedFault.objects.get(kind=FaultKind.EXPIRE).remaining

    return count


@pytest.fixture
def placed(xendit_simulator, celery_eager):
    ticket = TicketFactory(price=350_000, quota=10)
    order = order_place(
        full_name="Budi Santoso",
        email="budi@example.com",
        phone="0812 3456 7890",
        items=[OrderLineRequest(ticket.pk, 2)],
    )
    assert order.payment.invoice_id
    return order


def test_xendits_expired_callback_does_not_call_expire_back(placed, xendit_simulator, expire_calls):
    delivery = xendit_simulator.expire(placed.payment.invoice_id, callback="send")

    assert delivery["callbacks"][-1]["status_code"] == 200
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.PROCESSED
    placed.refresh_from_db()
    assert placed.status == OrderStatus.EXPIRED
    assert expire_calls() == 0


def test_reconcile_that_reads_expired_does_not_call_expire_back(placed, xendit_simulator, expire_calls):
    xendit_simulator.expire(placed.payment.invoice_id, callback="none")

    assert payment_reconcile(payment_id=placed.payment.pk) == "expired"

    placed.refresh_from_db()
    assert placed.status == OrderStatus.EXPIRED
    assert placed.payment.status == PaymentStatus.EXPIRED
    assert expire_calls() == 0


def test_our_own_sweep_expires_the_invoice_once(placed, xendit_simulator, expire_calls):
    Order.objects.filter(pk=placed.pk).update(expires_at=timezone.now() - timedelta(minutes=1))  # fixture only

    assert order_expire_stale() == [placed.pk]

    assert expire_calls() == 1
    assert xendit_simulator.invoice(placed.payment.invoice_id)["status"] == "EXPIRED"
    placed.payment.refresh_from_db()
    assert placed.payment.gateway_status == "EXPIRED"
