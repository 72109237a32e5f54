from django.urls import path

from payments.apis import PaymentCallbackApi, RefundCallbackApi

urlpatterns = [
    path("payment-callback", PaymentCallbackApi.as_view(), name="api-payment-callback"),
    path("refund-callback", RefundCallbackApi.as_view(), name="api-refund-callback"),
]
