from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.checkout.callbacks import webhook_receive
from orders.checkout.refund_callbacks import RefundCallback, refund_webhook_receive
from payments.serializers import (
    CallbackReceiptSerializer,
    InvoiceCallbackSerializer,
    RefundCallbackSerializer,
    well_formed_invoice_callback,
)
from payments.webhooks import Callback, webhook_authenticate, webhook_parse, webhook_store_unusable
from tedxpay.core.schema import error_response

# Both Xendit webhooks carry the same token, set once in Xendit's dashboard.
CALLBACK_TOKEN_PARAMETER = OpenApiParameter(
    "x-callback-token",
    str,
    location=OpenApiParameter.HEADER,
    required=True,
    description="The callback verification token from Xendit's dashboard.",
)


class PaymentCallbackApi(APIView):
    """Xendit's invoice callback (PAID / EXPIRED). See docs/payments.md."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []  # Xendit retries anything but a 2xx; throttling only delays money
    parser_classes: list = []  # the raw body is stored as sent, then parsed as plain JSON

    @extend_schema(
        operation_id="payment_callback",
        summary="Xendit invoice callback",
        # Documented explicitly: the view reads the raw body itself (no DRF parser), so
        # drf-spectacular would otherwise show no body at all.
        request={"application/json": InvoiceCallbackSerializer},
        parameters=[CALLBACK_TOKEN_PARAMETER],
        responses={
            200: CallbackReceiptSerializer,  # also for a JSON object that is not ours: stored `unmatched`
            400: error_response(
                "`malformed_request`: the body is not a JSON object (or is nested too deep, or has a number too long)"
            ),
            413: error_response("`request_too_large`: the body is over the size limit (64 KiB by default)."),
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
        payload = webhook_parse(raw_body)  # 400 only for a body that is not a JSON object
        webhook_id = (request.headers.get("webhook-id") or "")[:100]
        data = well_formed_invoice_callback(payload)
        if data is None:
            serializer = InvoiceCallbackSerializer(data=payload)
            if not serializer.is_valid():
                # Not ours to act on, but authenticated: 200, or Xendit retries it for a day.
                event = webhook_store_unusable(
                    payload=payload,
                    raw_body=raw_body.decode("utf-8"),
                    problem=str(serializer.errors),
                    webhook_id=webhook_id,
                )
                return Response({"received": True, "event_id": event.pk, "outcome": event.outcome})
            data = serializer.validated_data
        event = webhook_receive(
            callback=Callback(
                invoice_id=data["id"], status=data["status"], external_id=data["external_id"], webhook_id=webhook_id
            ),
            raw_body=raw_body.decode("utf-8"),
        )
        return Response({"received": True, "event_id": event.pk, "outcome": event.outcome})


class RefundCallbackApi(APIView):
    """Xendit's refund webhook (refund.succeeded / refund.failed). See docs/payments.md."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    parser_classes: list = []

    @extend_schema(
        operation_id="refund_callback",
        summary="Xendit refund webhook",
        request=RefundCallbackSerializer,
        parameters=[CALLBACK_TOKEN_PARAMETER],
        responses={
            200: CallbackReceiptSerializer,  # also for a JSON object that is not a refund webhook: stored `unmatched`
            400: error_response("`malformed_request`: the body is not a JSON object"),
            401: error_response("`authentication_failed`: missing or wrong token"),
            503: error_response("`service_unavailable`: retry later (gateway or database busy)"),
        },
    )
    def post(self, request):
        webhook_authenticate(
            token=request.headers.get("x-callback-token"), remote_addr=request.META.get("REMOTE_ADDR", "")
        )
        raw_body = request.body
        payload = webhook_parse(raw_body)  # 400 only for a body that is not a JSON object
        serializer = RefundCallbackSerializer(data=payload)
        if not serializer.is_valid():
            # As for an invoice callback: authenticated, so kept and answered 200 (a 400
            # would make Xendit retry it for a day, and we would never see it).
            event = webhook_store_unusable(
                payload=payload,
                raw_body=raw_body.decode("utf-8"),
                problem=str(serializer.errors),
                webhook_id=(request.headers.get("webhook-id") or "")[:100],
                what="a refund webhook",
            )
            return Response({"received": True, "event_id": event.pk, "outcome": event.outcome})
        data = serializer.validated_data
        event = refund_webhook_receive(
            callback=RefundCallback(
                event=data["event"],
                refund_id=data["data"]["id"],
                invoice_id=data["data"].get("invoice_id") or "",
                reference_id=data["data"].get("reference_id") or "",
            ),
            raw_body=raw_body.decode("utf-8"),
        )
        return Response({"received": True, "event_id": event.pk, "outcome": event.outcome})
