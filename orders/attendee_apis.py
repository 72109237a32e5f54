"""`PATCH /api/orders/{code}/etickets/{eticket_code}`: an integrator corrects an attendee's
name on an e-ticket of an order placed with its API key (the buyer does it on the order
page, finance in the admin): the same rule and service, orders/attendees.py."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.apis import OrderDetailApi, OrderNotFound
from orders.attendees import attendee_rename
from orders.models import EventSource, IssuedTicket, Order, normalise_order_code
from tedxpay.core.authentication import ApiKeyAuthentication, HasOrdersScope
from tedxpay.core.errors import InvalidInput, NotFound
from tedxpay.core.schema import error_response
from tedxpay.core.throttling import ApiKeyRateThrottle


class ETicketNotFound(NotFound):
    code = "eticket_not_found"
    default_message = "This order has no e-ticket with this code."


class ETicketAttendeeApi(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasOrdersScope]
    throttle_classes = [ApiKeyRateThrottle]

    class InputSerializer(serializers.Serializer):
        # Any string: the service keeps it as checkout keeps a name and words what is wrong.
        attendee_name = serializers.CharField(max_length=1000, allow_blank=True, trim_whitespace=False)

    @extend_schema(
        operation_id="orders_etickets_attendee_update",
        summary="Correct the attendee's name on an e-ticket",
        request=InputSerializer,
        responses={
            200: OrderDetailApi.OutputSerializer.ETicketSerializer,
            400: error_response("`validation_error`: `details.attendee_name` says what is wrong with the name."),
            401: error_response("`authentication_failed`: no, unknown or revoked API key."),
            404: error_response("`order_not_found` (or placed with another API key), `eticket_not_found`."),
            409: error_response(
                "The name may no longer change: `already_checked_in`, `event_started`, `ticket_void` "
                "(the order is not paid, or the e-ticket was voided by a refund), `names_not_asked` "
                "(the event does not ask each attendee's name)."
            ),
        },
    )
    def patch(self, request, code: str, eticket_code: str):
        order = Order.objects.filter(code=normalise_order_code(code), api_key=request.auth).first()
        if order is None:
            raise OrderNotFound(details={"code": code})
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            issued = attendee_rename(
                order_id=order.pk,
                ticket_code=eticket_code,
                name=body.validated_data["attendee_name"],
                source=EventSource.API,
                requested_by=f"API key {request.auth.name}",
            )
        except IssuedTicket.DoesNotExist:
            raise ETicketNotFound(details={"eticket_code": eticket_code}) from None
        except InvalidInput as error:
            raise InvalidInput(error.message, details={"attendee_name": [error.message]}) from None
        return Response(OrderDetailApi.OutputSerializer.ETicketSerializer(issued).data)
