"""Mounted at /_xendit/ (tedxpay/urls.py, only when XENDIT_SIMULATOR_ENABLED)."""

from django.urls import path, re_path

from payments.gateways.simulator import api_views, control_views, page_views, refund_views

app_name = "xendit_simulator"
urlpatterns = [
    # Xendit's invoice API. The SDK posts to /v2/invoices/ (trailing slash) and lists at
    # /v2/invoices; accept both spellings for both.
    re_path(r"^v2/invoices/?$", api_views.invoices, name="invoices"),
    path("v2/invoices/<str:invoice_id>", api_views.invoice_detail, name="invoice"),
    path("invoices/<str:invoice_id>/expire!", api_views.invoice_expire, name="invoice-expire"),
    # Xendit's refund API (payments/gateways/simulator/refunds.py).
    path("refunds", refund_views.refund_collection, name="refunds"),
    path("refunds/<str:refund_id>", refund_views.refund_detail, name="refund"),
    # Hosted invoice page (invoice_url).
    path("web/<str:invoice_id>", page_views.invoice_page, name="web"),
    # Control API for tests and benchmarks.
    path("simulate/faults", control_views.simulate_faults, name="simulate-faults"),
    path("simulate/tick", control_views.simulate_tick, name="simulate-tick"),
    path("simulate/refunds/<str:refund_id>", refund_views.simulate_refund, name="simulate-refund"),
    path("simulate/refunds/<str:refund_id>/succeed", refund_views.simulate_refund_succeed, name="simulate-refund-ok"),
    path("simulate/refunds/<str:refund_id>/fail", refund_views.simulate_refund_fail, name="simulate-refund-fail"),
    path("simulate/<str:invoice_id>", control_views.simulate_invoice, name="simulate-invoice"),
    path("simulate/<str:invoice_id>/pay", control_views.simulate_pay, name="simulate-pay"),
    path("simulate/<str:invoice_id>/expire", control_views.simulate_expire, name="simulate-expire"),
    path("simulate/<str:invoice_id>/settle", control_views.simulate_settle, name="simulate-settle"),
]
