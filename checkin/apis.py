from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from checkin.models import CheckInSource
from checkin.selectors import MAX_CODE_LENGTH
from checkin.services import MAX_GATE_LENGTH, checkin_admit
from tedxpay.core.authentication import ApiKeyAuthentication, HasCheckinScope
from tedxpay.core.errors import NotFound
from tedxpay.core.schema import error_response
from tedxpay.core.throttling import ApiKeyRateThrottle
from tickets.models import Event

_ERROR_EXAMPLES = [
    OpenApiExample(
        "Already checked in",
        response_only=True,
        status_codes=["409"],
        value={
            "error": {
                "code": "already_checked_in",
                "message": "Already checked in at Gate B.",
                "details": {"checked_in_at": "2026-11-28T09:02:41.120817+07:00", "gate": "Gate B"},
            },
            "request_id": "5f0c8a1e9b2d4c7fa1e3b5d7c9e1f3a5",
        },
    ),
    OpenApiExample(
        "Ticket of a cancelled order",
        response_only=True,
        status_codes=["409"],
        value={
            "error": {
                "code": "ticket_not_valid",
                "message": "This ticket's order was cancelled.",
                "details": {"reason": "order_cancelled"},
            },
            "request_id": "0d4b2c9e7a1f4e3b8c6d5a4f3e2d1c0b",
        },
    ),
    OpenApiExample(
        "Unknown code",
        response_only=True,
        status_codes=["404"],
        value={
            "error": {"code": "ticket_not_found", "message": "No e-ticket has this code.", "details": {}},
            "request_id": "9a8b7c6d5e4f30211203f4e5d6c7b8a9",
        },
    ),
    OpenApiExample(
        "Empty code",
        response_only=True,
        status_codes=["400"],
        value={
            "error": {
                "code": "validation_error",
                "message": "Send the ticket's QR content or its short code.",
                "details": {"code": ["This field is empty."]},
            },
            "request_id": "1b2c3d4e5f60718293a4b5c6d7e8f901",
        },
    ),
]


class ScannedText(serializers.CharField):
    """A JSON string. DRF's CharField also takes 123 and 1.5 and reads them as text; a code
    sent as a number is a scanner app's bug, answered as one (400), not looked up."""

    def to_internal_value(self, data):
        if type(data) is not str:
            self.fail("invalid")
        return super().to_internal_value(data)


class CheckinCreateApi(APIView):
    """Admit an attendee: a scanner app sends what it read from the QR code, or the short
    code typed by hand. A ticket gets in once; the second scan is told when and where."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasCheckinScope]
    throttle_classes = [ApiKeyRateThrottle]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CheckinRequest"

        # Length and emptiness are checked by the service, which answers with the same
        # error for the door page; here only "a string".
        code = ScannedText(
            allow_blank=True,
            trim_whitespace=False,
            help_text=f"The QR code's content, or the short code (`K7Q2-M9XD-4F`, any case, dashes optional). "
            f"1–{MAX_CODE_LENGTH} characters.",
        )
        gate = ScannedText(
            required=False,
            allow_blank=True,
            max_length=MAX_GATE_LENGTH,
            default="",
            help_text="Which door, e.g. `Gate B`; shown to the next door that scans the same ticket.",
        )
        event = serializers.SlugField(
            required=False,
            help_text="The event this door is for (its slug). A ticket of another event is refused with "
            "`other_event`; without it, a valid ticket of any event gets in.",
        )

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "Checkin"

        class TicketSerializer(serializers.Serializer):
            class Meta:
                ref_name = "CheckinTicket"

            code = serializers.CharField(source="short_code_display", help_text="The ticket's short code.")
            attendee_name = serializers.CharField(source="holder_name")
            ticket_name = serializers.CharField(source="ticket.name", help_text="The ticket type (phase).")
            event = serializers.CharField(source="order.event.slug")

        result = serializers.CharField(help_text="Always `admitted`.")
        checked_in_at = serializers.DateTimeField()
        gate = serializers.CharField()
        ticket = TicketSerializer()

    @extend_schema(
        operation_id="checkins_create",
        summary="Check an attendee in",
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            400: error_response("`validation_error`: the code is empty or longer than 200 characters."),
            401: error_response("`authentication_failed`: no, unknown or revoked API key."),
            403: error_response("`permission_denied`: the API key does not have the `checkin` scope."),
            404: error_response("`ticket_not_found`: no ticket has this code; `event_not_found` (details: event)."),
            409: error_response(
                "`already_checked_in` (details: checked_in_at, gate) or `ticket_not_valid` (details: reason: "
                "`order_not_paid`, `order_cancelled`, `refunded` or `other_event`)."
            ),
            429: error_response("`throttled`: too many requests for this API key; see Retry-After."),
        },
        examples=[
            OpenApiExample(
                "Scanned QR code",
                request_only=True,
                value={"code": "q3Yb0r5Xc2Jm8kTn4Wv6Pz1L", "gate": "Gate B", "event": "tedxjakarta-2026"},
            ),
            OpenApiExample("Typed short code", request_only=True, value={"code": "k7q2m9xd4f", "gate": "Gate A"}),
            OpenApiExample(
                "Admitted",
                response_only=True,
                status_codes=["201"],
                value={
                    "result": "admitted",
                    "checked_in_at": "2026-11-28T09:02:41.120817+07:00",
                    "gate": "Gate B",
                    "ticket": {
                        "code": "K7Q2-M9XD-4F",
                        "attendee_name": "Siti Rahma",
                        "ticket_name": "Regular",
                        "event": "tedxjakarta-2026",
                    },
                },
            ),
            *_ERROR_EXAMPLES,
        ],
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        event = _event(data.get("event"))
        checkin = checkin_admit(
            code=data["code"],
            event=event,
            gate=data["gate"],
            source=CheckInSource.API,
            api_key=request.auth,
        )
        body = {
            "result": "admitted",
            "checked_in_at": timezone.localtime(checkin.checked_in_at),
            "gate": checkin.gate,
            "ticket": checkin.ticket,
        }
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)


def _event(slug: str | None) -> Event | None:
    if slug is None:
        return None
    event = Event.objects.filter(slug=slug).first()
    if event is None:
        raise NotFound(f"No event '{slug}'.", code="event_not_found", details={"event": slug})
    return event
