"""Counters in the default cache, each change one round trip.

Throttling (`rate_counter.py`) and the hoarding caps' counts (`orders/holds.py`) keep
counters in the cache on the order path. Through Django's Redis backend every cache call
builds a new redis-py client (its constructor sets up a table of ~200 response callbacks),
an `add` then `incr` is two round trips, and `incr`/`decr` ask EXISTS first: three round
trips and three client builds for one count. Here, on Redis, an addition is INCRBY and
EXPIRE NX pipelined, a subtraction one small script (only an existing counter is
lowered, as `decr` would), and one client is kept per Django cache client.

Any other backend (the local-memory cache of `make run` and the tests) counts through the
cache API with the same results. The values are plain integers under the cache's own key
names, so `cache.get` and `cache.get_many` read them as usual.
"""

from contextlib import suppress
from weakref import WeakKeyDictionary

import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

# One client per Django cache client (a cache instance per thread, each with its own
# connection pool), built on that pool. Weak, by the Django object: a cache dropped (a
# thread gone, settings changed in a test) takes its client and pool with it. The client
# refers to the pool only, never back to its key.
_clients: WeakKeyDictionary = WeakKeyDictionary()

# Lowers an existing counter; a counter that expired meanwhile is not brought back below zero.
_SUBTRACT = "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decrby', KEYS[1], ARGV[1]) end return 0"


def counter_add(key: str, amount: int = 1, *, ttl: int) -> int:
    """Add `amount` to the counter `key`, which starts at 0 and lives `ttl` seconds from
    its first addition (later additions do not extend it). Returns the new value."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        full_key, client = _redis(cache, key)
        pipeline = client.pipeline(transaction=False)
        pipeline.incrby(full_key, amount)
        pipeline.expire(full_key, ttl, nx=True)
        count, _ = pipeline.execute()
        return int(count)
    if cache.add(key, amount, timeout=ttl):
        return amount
    try:
        return cache.incr(key, amount)
    except ValueError:  # expired between the add and the incr: a new counter
        cache.add(key, 0, timeout=ttl)
        return cache.incr(key, amount)


def counter_subtract(key: str, amount: int) -> None:
    """Take `amount` off the counter `key`, if it still exists."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        full_key, client = _redis(cache, key)
        client.eval(_SUBTRACT, 1, full_key, amount)
        return
    with suppress(ValueError):  # expired: nothing left to take back
        cache.decr(key, amount)


def _redis(cache: RedisCache, key: str) -> tuple[str, redis.Redis]:
    full_key = cache.make_and_validate_key(key)
    django_client = cache._cache
    client = _clients.get(django_client)
    if client is None:
        # On the pool Django's own calls use (`get_client(write=True)`).
        pool = django_client._get_connection_pool(True)
        client = _clients.setdefault(django_client, redis.Redis(connection_pool=pool))
    return full_key, client
