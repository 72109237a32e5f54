"""Throttling counts a request in one round trip to the cache (tedxpay/core/rate_counter.py)."""

import os

import pytest
import redis
from django.core.cache import caches

from tedxpay.core.rate_counter import window_hit

REDIS_URL = os.environ.get("REDIS_URL", "")


@pytest.fixture
def redis_cache(settings):
    """The default cache on Redis, as in production (a database of its own, emptied).
    Redis is part of the stack (`make test` starts one): without it these tests fail, they
    are not skipped."""
    if not REDIS_URL:
        pytest.fail("needs Redis: set REDIS_URL (make test starts one)")
    location = REDIS_URL.rsplit("/", 1)[0] + "/3"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}}
    client = redis.Redis.from_url(location)
    client.flushdb()
    yield client
    client.flushdb()
    caches["default"].close()
    client.close()


def _commands(client) -> dict[str, int]:
    return {name: stats["calls"] for name, stats in client.info("commandstats").items()}


def test_on_redis_a_request_is_one_increment_and_one_expire(redis_cache):
    window_hit("probe", window_seconds=60)  # connection set up
    before = _commands(redis_cache)

    counts = [window_hit("api_key:7:29000000", window_seconds=60) for _ in range(3)]

    after = _commands(redis_cache)
    used = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
    used.pop("cmdstat_info", None)
    assert counts == [1, 2, 3]
    # Sent together (one pipelined round trip); no GET and SET of a pickled list.
    assert used == {"cmdstat_incrby": 3, "cmdstat_expire": 3}
    (key,) = redis_cache.scan_iter(match="*api_key:7:29000000")
    assert 0 < redis_cache.ttl(key) <= 60  # the counter goes with its window


def test_with_another_cache_the_count_is_the_same(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rate"}}

    assert [window_hit("api_key:7:1", window_seconds=60) for _ in range(3)] == [1, 2, 3]
    assert window_hit("api_key:7:2", window_seconds=60) == 1  # the next window starts again
