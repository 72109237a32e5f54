from django.urls import path

from orders.apis import OrderCreateApi

urlpatterns = [
    path("orders", OrderCreateApi.as_view(), name="api-orders"),
]
