from celery.exceptions import SoftTimeLimitExceeded

from payments.gateways.base import GatewayError
from tedxpay.core.time_limits import caused_by_soft_time_limit


def wrapped(inner: BaseException) -> GatewayError:
    try:
        try:
            raise inner
        except BaseException as error:
            raise GatewayError("call failed", retryable=True) from error
    except GatewayError as outer:
        return outer


def test_the_limit_itself_and_the_limit_behind_a_gateway_error():
    assert caused_by_soft_time_limit(SoftTimeLimitExceeded())
    assert caused_by_soft_time_limit(wrapped(SoftTimeLimitExceeded()))


def test_other_failures_are_not_the_limit():
    assert not caused_by_soft_time_limit(wrapped(TimeoutError("read timed out")))
    assert not caused_by_soft_time_limit(ValueError("x"))
    assert not caused_by_soft_time_limit(None)
