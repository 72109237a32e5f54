from django.urls import path

from orders.apis import OrderCreateApi, OrderDetailApi

urlpatterns = [
    path("orders", OrderCreateApi.as_view(), name="api-orders"),
    path("orders/<str:code>", OrderDetailApi.as_view(), name="api-order-detail"),
]
