"""Wrong voucher codes per client address. A code opens a discount or a hidden phase, so it
must not be found by trying: each code refused at the checkout counts against the address,
and past VOUCHER_MISSES_PER_HOUR no code from it is looked up (a right one neither) until
the hour is over. A right code does not count: a buyer coming back through their voucher
link, or switching the language, is not guessing. Many buyers share a carrier address in
Indonesia, so the limit is for a script, far above a crowd's typos."""

import hashlib
import time

from django.conf import settings

from tedxpay.core.cache_counters import counter_add
from tedxpay.core.client_address import client_address

_HOUR = 3600


def _key(request) -> str:
    window = int(time.time() // _HOUR)
    return "voucher-misses:" + hashlib.sha256(f"{client_address(request)}:{window}".encode()).hexdigest()[:40]


def voucher_guessing_stopped(request) -> bool:
    limit = settings.VOUCHER_MISSES_PER_HOUR
    return limit > 0 and counter_add(_key(request), 0, ttl=_HOUR) >= limit


def voucher_miss(request) -> None:
    if settings.VOUCHER_MISSES_PER_HOUR > 0:
        counter_add(_key(request), 1, ttl=_HOUR)
