import pytest

from orders.models import AttentionReason
from orders.tests.factories import OrderFactory
from payments.tests.factories import PaymentFactory
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_checks_database_and_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up", "broker": "up"}


def test_readyz_says_which_part_is_down(client, settings):
    from tedxpay.celery import app

    # A broker nobody listens on (a closed loopback port).
    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:9/0"
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "up", "broker": "down"}


def test_metrics_reports_orders_payments_and_stock(client):
    ticket = TicketFactory(name="Regular", event__slug="tedxmetrics", quota=10)
    ticket.held = 3
    ticket.save()
    OrderFactory.create_batch(2)
    OrderFactory(attention_reason=AttentionReason.AMOUNT_MISMATCH)
    PaymentFactory(status="PAID", paid_amount=350_000)
    PaymentFactory(status="PAID", paid_amount=150_000)

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.content.decode()
    assert 'tedxpay_orders{status="PENDING"} 5' in text
    assert 'tedxpay_orders_needing_attention{reason="amount_mismatch"} 1' in text
    assert 'tedxpay_payments{status="PAID"} 2' in text
    assert "tedxpay_paid_amount_rupiah 500000" in text
    assert f'tedxpay_ticket_held{{event="tedxmetrics",ticket="Regular",ticket_id="{ticket.pk}"}} 3' in text


def test_metrics_token_when_configured(client, settings):
    settings.METRICS_TOKEN = "scrape-me"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200


def test_probes_answer_whatever_the_host_header(client, settings):
    # A load balancer asks by IP address, which is not in ALLOWED_HOSTS.
    settings.ALLOWED_HOSTS = ["tickets.example.org"]
    assert client.get("/healthz", HTTP_HOST="10.0.3.7:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.0.3.7:8000").status_code == 200
    # Everything else still validates the host.
    assert client.get("/", HTTP_HOST="10.0.3.7:8000").status_code == 400


def test_metrics_answer_whatever_the_host_header_with_the_token(client, settings):
    # Prometheus scrapes a pod by its address, which is not in ALLOWED_HOSTS.
    settings.ALLOWED_HOSTS = ["tickets.example.org"]
    settings.METRICS_TOKEN = "scrape-me"
    assert client.get("/metrics", HTTP_HOST="10.0.3.7:8000").status_code == 401
    ok = client.get("/metrics", HTTP_HOST="10.0.3.7:8000", headers={"Authorization": "Bearer scrape-me"})
    assert ok.status_code == 200 and b"tedxpay_orders" in ok.content


def test_metrics_switched_off(client, settings):
    settings.METRICS_ENABLED = False
    assert client.get("/metrics").status_code == 404


def test_probes_are_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.METRICS_TOKEN = "scrape-me"
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200
    assert client.get("/").status_code == 301
