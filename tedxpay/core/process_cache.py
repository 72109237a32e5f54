"""A few seconds of memory inside one process, for rows every API request reads and that
change rarely: the API key of the caller, the tickets of an order.

Why: in a flash sale those rows are read thousands of times a second and are the same
every time. Each worker process keeps what it read for `seconds` (a setting) and then
reads again. What a stale copy could get wrong is re-checked where it matters: the
conditional stock UPDATE decides whether seats are left and the phase is on sale, from
the row itself, inside the transaction.

A save of a cached model in this process (the admin, a test) empties its cache at once
(`forget_on_save`); the other processes see the change within `seconds`.
"""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from django.conf import settings
from django.db.models.signals import post_delete, post_save

V = TypeVar("V")

# A bound on what one process keeps: a cache this full is emptied, not evicted piece by
# piece (catalogs are small; a flood of unknown keys must not grow the process).
MAX_ENTRIES = 10_000

_caches: list["ProcessCache"] = []


class ProcessCache(Generic[V]):
    def __init__(self, name: str, *, seconds_setting: str):
        self.name = name
        self.seconds_setting = seconds_setting
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()
        _caches.append(self)

    def get(self, key: Hashable, load: Callable[[], V], *, keep: Callable[[V], bool] = lambda value: True) -> V:
        """The value kept for `key` if it is younger than the setting's seconds, else
        `load()`'s, kept if `keep(value)` says so. None is never kept: an unknown key is
        asked again next time."""
        seconds = getattr(settings, self.seconds_setting)
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < seconds:
            return entry[1]
        value = load()
        if value is not None and seconds > 0 and keep(value):
            with self._lock:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def forget_on_save(self, *models) -> None:
        """Empty this cache whenever a row of one of `models` is saved or deleted here."""
        for model in models:
            post_save.connect(self._on_change, sender=model, weak=False, dispatch_uid=(self.name, model, "save"))
            post_delete.connect(self._on_change, sender=model, weak=False, dispatch_uid=(self.name, model, "delete"))

    def _on_change(self, **kwargs) -> None:
        self.clear()


def process_caches_clear() -> None:
    """Empty every process cache (tests start from nothing)."""
    for cache in _caches:
        cache.clear()
