import re

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.buyers import ATTENDEE_NAME_MAX_LENGTH, ORDER_LANGUAGES
from orders.checkout.placing import (
    MAX_LINES_PER_ORDER,
    OrderLineRequest,
    order_place,
    order_request_check,
)
from orders.holds import HoldRequest, hold_claim
from orders.links import order_page_url
from orders.models import EventSource, Order, OrderStatus, normalise_order_code
from payments.channel_names import channel_name
from tedxpay.core.authentication import ApiKeyAuthentication, HasOrdersScope
from tedxpay.core.errors import NotFound
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


# Schema hints for clients and the API fuzz (tedxpay/core/tests/test_api_fuzz.py); the
# rules themselves are order_place's.
@extend_schema_field({"type": "string", "format": "email", "maxLength": 254})
class EmailText(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "pattern": r"^(\+62|62|0)8[0-9]{7,11}$", "maxLength": 32})
class IndonesianMobileText(serializers.CharField):
    pass


# What CharField lets through: no NUL, no lone surrogate.
_PLAIN_TEXT = re.compile("[^\x00\ud800-\udfff]*")
_BUYER_FIELD_LENGTHS = (("full_name", 200), ("email", 254), ("phone", 32))
_VOUCHER_MAX_LENGTH = 40


def _plain_text(value, max_length: int, *, allow_blank: bool = False) -> str | None:
    """A CharField's reading of `value` (stripped; no NUL, no lone surrogate; at most
    `max_length`), or None where the CharField would refuse it."""
    if type(value) is not str:
        return None
    value = value.strip()
    if (not value and not allow_blank) or len(value) > max_length or not _PLAIN_TEXT.fullmatch(value):
        return None
    return value


def well_formed_order_request(data) -> dict | None:
    """The validated data `OrderCreateApi.InputSerializer` gives for a request that is
    plainly right (the shape, JSON types and lengths it asks for, nothing to coerce), or
    None for anything else, which then goes through the serializer.

    Why: the serializer builds and deep-copies its nested fields for every request, which
    measured as the largest single cost of a sold-out answer, the most frequent answer of
    a flash sale. This accepts only what the serializer accepts and returns what it
    returns (strings stripped, unknown keys dropped, `language` defaulting to "id" and
    `voucher` to ""); a test holds the two together. A line naming its attendees is left
    to the serializer: events that ask names are not where a flash sale's load is.
    """
    if type(data) is not dict:
        return None
    buyer, items, language = data.get("buyer"), data.get("items"), data.get("language", "id")
    if type(buyer) is not dict or type(items) is not list or not 1 <= len(items) <= MAX_LINES_PER_ORDER:
        return None
    if type(language) is not str or language not in ORDER_LANGUAGES:
        return None
    voucher = _plain_text(data.get("voucher", ""), _VOUCHER_MAX_LENGTH, allow_blank=True)
    if voucher is None:
        return None
    clean_buyer = {}
    for field, max_length in _BUYER_FIELD_LENGTHS:
        value = _plain_text(buyer.get(field), max_length)
        if value is None:
            return None
        clean_buyer[field] = value
    lines = []
    for item in items:
        if type(item) is not dict or "attendees" in item:
            return None
        ticket_id, quantity = item.get("ticket_id"), item.get("quantity")
        if type(ticket_id) is not int or type(quantity) is not int or not 1 <= ticket_id <= _MAX_ID or quantity < 1:
            return None
        lines.append({"ticket_id": ticket_id, "quantity": quantity})
    return {"buyer": clean_buyer, "items": lines, "language": language, "voucher": voucher}


_DATETIME = serializers.DateTimeField()  # no state: one instance formats every answer


def order_created_body(order) -> dict:
    """`OrderCreateApi.OutputSerializer(order).data`, the 201's body, written out: the same
    keys and values (a test compares them) without building a serializer and its nested
    fields for every order placed. The serializer stays what the OpenAPI schema shows."""
    return {
        "code": order.code,
        "status": str(order.status),
        "total": order.total,
        "discount": order.discount,
        "voucher": order.voucher.code if order.voucher_id else None,
        "currency": order.currency,
        "expires_at": _DATETIME.to_representation(order.expires_at),
        "invoice_url": order.payment.invoice_url or None,
        "items": [
            {
                "ticket_id": item.ticket_id,
                "name": item.ticket.name,
                "quantity": item.quantity,
                "unit_price": item.unit_price,
                "unit_discount": item.unit_discount,
                "subtotal": item.subtotal,
            }
            for item in order.items.all()
        ],
        "order_url": order_page_url(order),
    }


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
            email = EmailText(max_length=254, help_text="Stored lower-cased.")
            phone = IndonesianMobileText(
                max_length=32,
                help_text=(
                    "Indonesian mobile: 08…, 628… or +628…; spaces, dashes, dots and brackets are also "
                    "accepted and dropped. Stored as +628…."
                ),
            )

        class ItemSerializer(serializers.Serializer):
            class Meta:
                ref_name = "OrderItemRequest"

            class AttendeeSerializer(serializers.Serializer):
                class Meta:
                    ref_name = "OrderAttendee"

                name = serializers.CharField(max_length=ATTENDEE_NAME_MAX_LENGTH)

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
            choices=list(ORDER_LANGUAGES),
            default="id",
            help_text="Of Xendit's invoice page, the order page and the emails.",
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
        order_url = serializers.SerializerMethodField(
            help_text="The buyer's private order page (status, e-tickets): give it to the buyer only."
        )

        @extend_schema_field(serializers.URLField(allow_null=True))
        def get_invoice_url(self, order) -> str | None:
            return order.payment.invoice_url or None

        @extend_schema_field(serializers.CharField(allow_null=True))
        def get_voucher(self, order) -> str | None:
            return order.voucher.code if order.voucher_id else None

        @extend_schema_field(serializers.URLField())
        def get_order_url(self, order) -> str:
            return order_page_url(order)

    @extend_schema(
        operation_id="orders_create",
        summary="Place an order",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: OutputSerializer,
            400: error_response(
                "`validation_error` (details per field), `malformed_request` (not JSON; nested too deep, a number "
                "too long), `quantity_limit` (details: max_per_order or min_per_order), `voucher_invalid`, "
                "`voucher_not_applicable`, or `total_below_minimum` (details: total, minimum): a total above 0 "
                "that no payment channel takes (a voucher that leaves a few rupiah), or `total_above_maximum` "
                "(details: total, maximum)."
            ),
            401: error_response("`authentication_failed`: no, unknown or revoked API key."),
            403: error_response("`permission_denied`: the API key does not have the `orders` scope."),
            404: error_response("`ticket_not_found`"),
            409: error_response(
                "`sold_out` (details: ticket_id, requested, available), `not_on_sale` (details.requires_voucher "
                "for a hidden phase without its voucher), `voucher_used_up`, `voucher_expired`, `buyer_limit` "
                "(details: ticket_id, max_per_buyer, held_by_buyer, requested), `idempotency_in_flight`, "
                "or `order_cancelled` (details: code, status): the order was cancelled while its invoice was "
                "being created; its invoice is expired at Xendit, nothing is to be paid and no seat is held."
            ),
            422: error_response("`idempotency_conflict`: the key was used with another body."),
            413: error_response("`request_too_large`: the body is over the size limit (64 KiB by default)."),
            429: error_response(
                "`throttled`: too many requests for this API key, see Retry-After; or `hold_limit` "
                "(details: max_seats): this key's unpaid orders already hold the most seats allowed."
            ),
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
        data = well_formed_order_request(request.data)
        if data is None:
            # Anything not plainly right: the serializer decides, and words the errors.
            serializer = self.InputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        request_fields = {
            "full_name": data["buyer"]["full_name"],
            "email": data["buyer"]["email"],
            "phone": data["buyer"]["phone"],
            "items": [
                OrderLineRequest(
                    item["ticket_id"],
                    item["quantity"],
                    tuple(attendee["name"] for attendee in item.get("attendees", [])),
                )
                for item in data["items"]
            ],
            "language": data["language"],
            "voucher": data["voucher"],
        }
        # A request that is wrong in itself hears so before it hears about the caps.
        quantities = order_request_check(**request_fields)
        with hold_claim(HoldRequest(seats=sum(quantities.values()), api_key_id=request.auth.pk)) as claimed:
            order = order_place(**request_fields, source=EventSource.API, api_key_id=request.auth.pk)
            claimed.record(order)
        return Response(order_created_body(order), status=status.HTTP_201_CREATED)


class OrderNotFound(NotFound):
    code = "order_not_found"
    default_message = "No order with this code was placed with this API key."


class OrderDetailApi(APIView):
    """An order placed with this API key: status, items, totals, payment, expiry, the
    buyer's private link and, once paid, the e-tickets."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasOrdersScope]
    throttle_classes = [ApiKeyRateThrottle]

    class OutputSerializer(OrderCreateApi.OutputSerializer):
        class Meta:
            ref_name = "OrderDetail"

        class PaymentSerializer(serializers.Serializer):
            class Meta:
                ref_name = "OrderPayment"

            status = serializers.CharField(help_text="PENDING, PAID, EXPIRED or CANCELLED.")
            paid_amount = serializers.IntegerField(allow_null=True, help_text="Whole rupiah received.")
            paid_at = serializers.DateTimeField(allow_null=True)
            method = serializers.CharField(help_text="Xendit's payment_method, e.g. BANK_TRANSFER; empty until paid.")
            channel = serializers.CharField(help_text="Xendit's payment_channel, e.g. BCA; empty until paid.")
            channel_name = serializers.SerializerMethodField(help_text="As people know it: “BCA Virtual Account”.")

            def get_channel_name(self, payment) -> str:
                return channel_name(method=payment.method, channel=payment.channel)

        class ETicketSerializer(serializers.Serializer):
            class Meta:
                ref_name = "OrderETicket"

            code = serializers.CharField(help_text="What the QR code at the door encodes.")
            ticket_id = serializers.IntegerField()
            name = serializers.CharField(source="ticket.name")
            attendee_name = serializers.CharField(
                help_text="The attendee's name, empty when the event does not ask it (the buyer's then stands). "
                "Correct it with `PATCH /api/orders/{code}/etickets/{eticket_code}`."
            )

        status_display = serializers.CharField(source="get_status_display", help_text="The status in words.")
        paid_at = serializers.DateTimeField(allow_null=True)
        payment = PaymentSerializer()
        etickets = serializers.SerializerMethodField(help_text="One per seat, once the order is PAID; else empty.")

        @extend_schema_field(ETicketSerializer(many=True))
        def get_etickets(self, order) -> list[dict]:
            if order.status != OrderStatus.PAID:
                return []
            issued = order.issued_tickets.select_related("ticket").order_by("order_item_id", "seat_number")
            return self.ETicketSerializer(issued, many=True).data

    @extend_schema(
        operation_id="orders_retrieve",
        summary="Read an order placed with this API key",
        responses={
            200: OutputSerializer,
            401: error_response("`authentication_failed`: no, unknown or revoked API key."),
            404: error_response("`order_not_found`: no such code, or placed with another API key (or the checkout)."),
        },
    )
    def get(self, request, code: str):
        order = (
            Order.objects.select_related("payment", "event")
            .prefetch_related("items__ticket")
            .filter(code=normalise_order_code(code), api_key=request.auth)
            .first()
        )
        if order is None:
            # The same answer as an unknown code: a client learns nothing of others' orders.
            raise OrderNotFound(details={"code": code})
        return Response(self.OutputSerializer(order).data)
