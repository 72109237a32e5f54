from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tedxpay.core.errors import NotFound
from tedxpay.core.schema import error_response
from tedxpay.core.throttling import ClientAddressRateThrottle
from tickets.selectors import event_exists, ticket_list_on_sale


class EventNotFound(NotFound):
    code = "event_not_found"
    default_message = "No such event."


class TicketListApi(APIView):
    """Public catalog: the ticket phases on sale now."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [ClientAddressRateThrottle]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "Ticket"

        class EventSerializer(serializers.Serializer):
            class Meta:
                ref_name = "TicketEvent"

            slug = serializers.CharField()
            name = serializers.CharField()
            starts_at = serializers.DateTimeField(help_text="With the Jakarta offset (+07:00); show it in `time_zone`.")
            venue = serializers.CharField()
            city = serializers.CharField()
            time_zone = serializers.CharField(
                help_text="The event's own zone: Asia/Jakarta, Asia/Makassar or Asia/Jayapura."
            )
            time_zone_abbreviation = serializers.CharField(help_text="WIB, WITA or WIT.")

        id = serializers.IntegerField()
        event = EventSerializer()
        name = serializers.CharField()
        description = serializers.CharField()
        price = serializers.IntegerField(help_text="Whole rupiah.")
        currency = serializers.SerializerMethodField()
        valid_from = serializers.DateTimeField(help_text="Sale opens.")
        valid_until = serializers.DateTimeField(help_text="Sale closes.")
        max_per_order = serializers.IntegerField()
        available = serializers.IntegerField(help_text="Units left to buy now.")
        sold_out = serializers.SerializerMethodField()

        def get_currency(self, ticket) -> str:
            return settings.CURRENCY

        def get_sold_out(self, ticket) -> bool:
            return ticket.available == 0

    @extend_schema(
        operation_id="tickets_list",
        summary="Ticket phases on sale now",
        parameters=[
            OpenApiParameter("event", str, description="An event slug: only that event's phases. Unknown slug: 404.")
        ],
        responses={
            200: OutputSerializer(many=True),
            404: error_response("`event_not_found`"),
            429: error_response("`throttled`: too many requests from your address; see Retry-After."),
        },
    )
    def get(self, request):
        event_slug = request.query_params.get("event") or None
        tickets = list(ticket_list_on_sale(event_slug=event_slug))
        # A typo in the slug should not look like "nothing on sale": the extra query runs
        # only when the list came back empty.
        if event_slug and not tickets and not event_exists(slug=event_slug):
            raise EventNotFound(f"No event '{event_slug}'.", details={"event": event_slug})
        return Response(self.OutputSerializer(tickets, many=True).data)
