from django.urls import path

from orders.apis import OrderCreateApi, OrderDetailApi
from orders.attendee_apis import ETicketAttendeeApi

urlpatterns = [
    path("orders", OrderCreateApi.as_view(), name="api-orders"),
    path("orders/<str:code>", OrderDetailApi.as_view(), name="api-order-detail"),
    path(
        "orders/<str:code>/etickets/<str:eticket_code>",
        ETicketAttendeeApi.as_view(),
        name="api-order-eticket-attendee",
    ),
]
