from django.urls import path

from payments.apis import PaymentCallbackApi

urlpatterns = [
    path("payment-callback", PaymentCallbackApi.as_view(), name="api-payment-callback"),
]
