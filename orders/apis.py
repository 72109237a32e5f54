from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.buyers import ORDER_LANGUAGES
from orders.checkout.placing import MAX_ATTENDEE_NAME_LENGTH, MAX_LINES_PER_ORDER, OrderLineRequest, order_place
from orders.models import EventSource
from tedxpay.core.authentication import ApiKeyAuthentication, HasOrdersScope
from tedxpay.core.idempotency import idempotent
from tedxpay.core.schema import IDEMPOTENCY_KEY_PARAMETER, error_response
from tedxpay.core.throttling import ApiKeyRateThrottle

# Database ids are BIGINT: a larger number would overflow the query, not just miss.
_MAX_ID = 2**63 - 1
# Far above any max_per_order; the placement checks the exact count against the quantity.
_MAX_ATTENDEES_PER_LINE = 100


class JsonIntegerField(serializers.IntegerField):
    """A JSON number without a fraction. DRF's IntegerField also takes "5" and 5.0; an API
    that says "integer" should not guess."""

    def to_internal_value(self, data):
        if type(data) is not int:
            self.fail("invalid")
        return super().to_internal_value(data)


class OrderCreateApi(APIView):
    """Place an order; the answer carries the Xendit invoice URL to send the buyer to (or, for
    an order that costs nothing, comes back PAID with no invoice)."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasOrdersScope]
    throttle_classes = [ApiKeyRateThrottle]

    class InputSerializer(serializers.Serializer):
        # Shape and types only; the rules (phone format, limits, stock) are order_place's,
        # shared with the checkout form. Unknown keys (a `price`, a `total`) are dropped.
        class Meta:
            ref_name = "OrderCreateRequest"

        class BuyerSerializer(serializers.Serializer):
            class Meta:
                ref_name = "OrderBuyer"

            full_name = serializers.CharField(max_length=200)
            email = serializers.CharField(max_length=254, help_text="Stored lower-cased.")
            phone = serializers.CharField(
                max_length=32, help_text="Indonesian mobile: 08…, 628… or +628…; stored as +628…."
            )

        class ItemSerializer(serializers.Serializer):
            class Meta:
                ref_name = "OrderItemRequest"

            class AttendeeSerializer(serializers.Serializer):
                class Meta:
                    ref_name = "OrderAttendee"

                name = serializers.CharField(max_length=MAX_ATTENDEE_NAME_LENGTH)

            ticket_id = JsonIntegerField(min_value=1, max_value=_MAX_ID)
            quantity = JsonIntegerField(min_value=1, help_text="1 up to the ticket's `max_per_order`.")
            attendees = AttendeeSerializer(
                many=True,
                required=False,
                max_length=_MAX_ATTENDEES_PER_LINE,
                help_text="One per ticket (`quantity` of them), for an event that asks each attendee's name "
                "(required there: 400 `validation_error` when the count is wrong). Shown on the e-ticket and at "
                "the door; without it, the buyer's name stands in.",
            )

        buyer = BuyerSerializer()
        items = ItemSerializer(many=True, allow_empty=False, max_length=MAX_LINES_PER_ORDER)
        language = serializers.ChoiceField(
            choices=list(ORDER_LANGUAGES), default="en", help_text="Of the invoice page and the emails."
        )
        voucher = serializers.CharField(
            max_length=40,
            required=False,
            allow_blank=True,
            default="",
            help_text="A voucher code of the event (any case). It may lower prices and unlocks hidden phases.",
        )

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "Order"

        class ItemSerializer(serializers.Serializer):
            class Meta:
                ref_name = "OrderItem"

            ticket_id = serializers.IntegerField()
            name = serializers.CharField(source="ticket.name")
            quantity = serializers.IntegerField()
            unit_price = serializers.IntegerField(help_text="Whole rupiah, the ticket's price.")
            unit_discount = serializers.IntegerField(help_text="Whole rupiah the voucher takes off each ticket.")
            subtotal = serializers.IntegerField(help_text="Whole rupiah, after the discount.")

        code = serializers.CharField(help_text="Public order code, also Xendit's external_id.")
        status = serializers.CharField()
        total = serializers.IntegerField(help_text="Whole rupiah, after the discount.")
        discount = serializers.IntegerField(help_text="Whole rupiah the voucher took off.")
        voucher = serializers.SerializerMethodField(help_text="The voucher's code; null without one.")
        currency = serializers.CharField()
        expires_at = serializers.DateTimeField(help_text="Pay before this, or the seats go back.")
        invoice_url = serializers.SerializerMethodField(
            help_text="Xendit's payment page; null for a free order (total 0), which is PAID at once."
        )
        items = ItemSerializer(many=True, source="items.all")

        @extend_schema_field(serializers.URLField(allow_null=True))
        def get_invoice_url(self, order) -> str | None:
            return order.payment.invoice_url or None

        @extend_schema_field(serializers.CharField(allow_null=True))
        def get_voucher(self, order) -> str | None:
            return order.voucher.code if order.voucher_id else None

    @extend_schema(
        operation_id="orders_create",
        summary="Place an order",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: OutputSerializer,
            400: error_response(
                "`validation_error` (details per field), `malformed_request` (not JSON), `quantity_limit` "
                "(details: max_per_order or min_per_order), `voucher_invalid` or `voucher_not_applicable`."
            ),
            401: error_response("`authentication_failed`: no, unknown or revoked API key."),
            403: error_response("`permission_denied`: the API key does not have the `orders` scope."),
            404: error_response("`ticket_not_found`"),
            409: error_response(
                "`sold_out` (details: ticket_id, requested, available), `not_on_sale` (details.requires_voucher "
                "for a hidden phase without its voucher), `voucher_used_up`, `voucher_expired`, `buyer_limit` "
                "(details: ticket_id, max_per_buyer, held_by_buyer, requested), `idempotency_in_flight`, "
                "or `order_cancelled` (details: code, status): the order was cancelled while its invoice was "
                "being created; its invoice is closed, nothing is to be paid and no seat is held."
            ),
            422: error_response("`idempotency_conflict`: the key was used with another body."),
            429: error_response("`throttled`: too many requests for this API key; see Retry-After."),
            502: error_response(
                "`payment_gateway_unavailable`: Xendit refused the invoice; the order was cancelled, no seat is held."
            ),
            503: error_response(
                "`payment_gateway_unavailable` (retry later; the order was cancelled, no seat is held) or "
                "`service_unavailable`."
            ),
        },
        examples=[
            OpenApiExample(
                "Two regular tickets",
                request_only=True,
                value={
                    "buyer": {"full_name": "Budi Santoso", "email": "budi@example.com", "phone": "0812 3456 7890"},
                    "items": [{"ticket_id": 12, "quantity": 2}],
                    "language": "id",
                },
            ),
            OpenApiExample(
                "Named attendees (an event that asks each attendee's name)",
                request_only=True,
                value={
                    "buyer": {"full_name": "Budi Santoso", "email": "budi@example.com", "phone": "0812 3456 7890"},
                    "items": [
                        {
                            "ticket_id": 12,
                            "quantity": 2,
                            "attendees": [{"name": "Budi Santoso"}, {"name": "Ayu Lestari"}],
                        }
                    ],
                    "language": "id",
                },
            ),
        ],
    )
    @idempotent
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = order_place(
            full_name=data["buyer"]["full_name"],
            email=data["buyer"]["email"],
            phone=data["buyer"]["phone"],
            items=[
                OrderLineRequest(
                    item["ticket_id"],
                    item["quantity"],
                    tuple(attendee["name"] for attendee in item.get("attendees", [])),
                )
                for item in data["items"]
            ],
            language=data["language"],
            source=EventSource.API,
            voucher=data["voucher"],
        )
        return Response(self.OutputSerializer(order).data, status=status.HTTP_201_CREATED)
