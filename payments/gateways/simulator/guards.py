"""Decorators every simulator view wears: no live keys, Xendit's HTTP Basic auth, JSON errors."""

import base64
import binascii
import functools
import hmac
import logging

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from payments.gateways.simulator import clock
from payments.gateways.simulator.serializers import error_json
from payments.gateways.simulator.validation import XenditError

logger = logging.getLogger(__name__)

LIVE_KEY_PREFIX = "xnd_production_"


def live_key_configured() -> bool:
    return settings.XENDIT_SECRET_KEY.startswith(LIVE_KEY_PREFIX)


def refuse_live_key(view):
    """The simulator must never answer while a live Xendit key is configured, DEBUG or not:
    a fake "PAID" next to real money would be a disaster (settings refuse it too when DEBUG
    is off; this also covers DEBUG on)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if live_key_configured():
            logger.error("xendit simulator refused a request: a live Xendit key is configured")
            return JsonResponse(
                error_json("SIMULATOR_DISABLED", "The Xendit simulator does not run with a live Xendit key"),
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapper


def _basic_auth_user(request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, _password = decoded.partition(":")
    return user


def xendit_api(view):
    """Xendit API view: live-key guard, secret key as Basic auth user, XenditError → JSON."""

    @csrf_exempt
    @refuse_live_key
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        # The in-process simulator's clock starts with its first call (make run sets the
        # interval; off by default, so tests tick it themselves).
        clock.clock_start(getattr(settings, "XENDIT_SIMULATOR_CLOCK_SECONDS", 0) or 0)
        user = _basic_auth_user(request)
        if user is None or not hmac.compare_digest(user.encode(), settings.XENDIT_SECRET_KEY.encode()):
            return JsonResponse(error_json("INVALID_API_KEY", "API key is invalid"), status=401)
        try:
            return view(request, *args, **kwargs)
        except XenditError as error:
            return JsonResponse(error_json(error.error_code, error.message), status=error.status)

    return wrapper


def method_not_allowed() -> HttpResponse:
    return JsonResponse(error_json("API_VALIDATION_ERROR", "Method not allowed"), status=405)
