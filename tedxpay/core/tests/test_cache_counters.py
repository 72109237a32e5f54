"""The cache counters of throttling and the hoarding caps (tedxpay/core/cache_counters.py):
on Redis one round trip per change and no client built per call; elsewhere the same counts."""

import gc

import redis
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache

from tedxpay.core import cache_counters
from tedxpay.core.cache_counters import counter_add, counter_subtract
from tedxpay.core.tests.test_rate_counter import _commands, redis_cache  # noqa: F401 (a fixture)


def test_on_redis_an_addition_is_one_increment_and_one_expire_and_lives_from_its_first(redis_cache):  # noqa: F811
    counter_add("probe", ttl=60)  # connection set up
    before = _commands(redis_cache)

    values = [counter_add("holds:k", 3, ttl=120), counter_add("holds:k", 2, ttl=10)]

    after = _commands(redis_cache)
    used = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
    used.pop("cmdstat_info", None)
    assert values == [3, 5]
    assert used == {"cmdstat_incrby": 2, "cmdstat_expire": 2}  # no SET NX, no EXISTS
    (key,) = redis_cache.scan_iter(match="*holds:k")
    assert 100 < redis_cache.ttl(key) <= 120  # the second addition did not shorten (or extend) it
    assert cache.get("holds:k") == 5  # readable through the cache API, under its own key name


def test_on_redis_a_subtraction_lowers_only_a_counter_that_still_exists(redis_cache):  # noqa: F811
    counter_add("holds:k", 5, ttl=60)
    counter_subtract("holds:k", 2)
    assert cache.get("holds:k") == 3

    counter_subtract("holds:gone", 2)  # expired meanwhile: not brought back below zero
    assert cache.get("holds:gone") is None
    assert counter_add("holds:gone", 1, ttl=60) == 1


def test_on_redis_the_client_is_built_once_not_per_call(redis_cache, monkeypatch):  # noqa: F811
    counter_add("probe", ttl=60)
    built = []
    original = redis.Redis.__init__

    def counting_init(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting_init)

    for _ in range(5):
        counter_add("holds:k", 1, ttl=60)
        counter_subtract("holds:k", 1)

    assert built == []


def test_with_another_cache_the_counts_are_the_same(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "count"}}

    assert [counter_add("holds:k", 3, ttl=60), counter_add("holds:k", 2, ttl=60)] == [3, 5]
    counter_subtract("holds:k", 4)
    assert cache.get("holds:k") == 1
    counter_subtract("holds:gone", 2)
    assert cache.get("holds:gone") is None


def test_on_redis_a_cache_dropped_takes_its_client_and_pool_with_it(redis_cache):  # noqa: F811
    """The kept client must not keep its cache alive: a thread's cache goes with the thread."""
    location = redis_cache.connection_pool.connection_kwargs
    gc.collect()
    kept = len(cache_counters._clients)

    for _ in range(5):
        a_threads_cache = RedisCache(f"redis://{location['host']}:{location['port']}/3", {})
        _, client = cache_counters._redis(a_threads_cache, "holds:k")
        client.incrby(a_threads_cache.make_and_validate_key("holds:k"), 1)
        del a_threads_cache, client
        gc.collect()

    assert len(cache_counters._clients) == kept
