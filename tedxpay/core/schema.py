"""OpenAPI pieces shared by the API views (drf-spectacular).

Importing this module registers the Api-Key security scheme; CoreConfig.ready() does.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from tedxpay.core.authentication import KEYWORD


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "tedxpay.core.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": f"`Authorization: {KEYWORD} <key>` (keys are issued with `manage.py create_api_key`).",
        }


ErrorBodySerializer = inline_serializer(
    name="ErrorBody",
    fields={
        "error": inline_serializer(
            name="Error",
            fields={
                "code": serializers.CharField(help_text="Stable machine-readable code, e.g. `sold_out`."),
                "message": serializers.CharField(help_text="For humans; may change."),
                "details": serializers.DictField(help_text="Per-code details, e.g. the invalid fields."),
            },
        ),
        "request_id": serializers.CharField(help_text="Also in the `X-Request-ID` response header."),
    },
)


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorBodySerializer, description=description)


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name="Idempotency-Key",
    # The same rule as tedxpay/core/idempotency.py (_ACCEPTABLE_KEY): printable ASCII, no space.
    type={"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]{1,255}$"},
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Up to 255 printable ASCII characters, unique per request you mean (a UUID is good). "
        "The same key and body replays the first response; another body gets 422; a retry "
        "while the first is still running gets 409. Kept 24 hours, per API key."
    ),
)
