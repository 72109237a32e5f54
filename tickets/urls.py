from django.urls import path

from tickets.apis import TicketListApi

urlpatterns = [
    path("tickets", TicketListApi.as_view(), name="api-tickets"),
]
