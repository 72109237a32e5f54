from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.checkout.callbacks import webhook_receive
from payments.serializers import CallbackReceiptSerializer, InvoiceCallbackSerializer
from payments.webhooks import Callback, webhook_authenticate, webhook_parse
from tedxpay.core.schema import error_response


class PaymentCallbackApi(APIView):
    """Xendit's invoice callback (PAID / EXPIRED). See docs/payments.md."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []  # Xendit retries anything but a 2xx; throttling only delays money
    parser_classes: list = []  # the raw body is stored as sent, then parsed as plain JSON

    @extend_schema(
        operation_id="payment_callback",
        summary="Xendit invoice callback",
        request=InvoiceCallbackSerializer,
        parameters=[
            OpenApiParameter(
                "x-callback-token",
                str,
                location=OpenApiParameter.HEADER,
                required=True,
                description="The callback verification token from Xendit's dashboard.",
            )
        ],
        responses={
            200: CallbackReceiptSerializer,
            400: error_response("`malformed_request` (not a JSON object) or `validation_error`"),
            401: error_response("`authentication_failed`: missing or wrong token"),
            503: error_response(
                "`service_unavailable`: retry later (gateway or database busy, or a PAID Xendit does not confirm yet)"
            ),
        },
    )
    def post(self, request):
        webhook_authenticate(
            token=request.headers.get("x-callback-token"), remote_addr=request.META.get("REMOTE_ADDR", "")
        )
        raw_body = request.body
        serializer = InvoiceCallbackSerializer(data=webhook_parse(raw_body))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        event = webhook_receive(
            callback=Callback(invoice_id=data["id"], status=data["status"], external_id=data["external_id"]),
            raw_body=raw_body.decode("utf-8"),
        )
        return Response({"received": True, "event_id": event.pk, "outcome": event.outcome})
