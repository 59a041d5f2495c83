"""Conditional requests: GET responses kept with their ETag and revalidated on every use.

Every GET whose answer is cached is sent again with `If-None-Match`; GitHub answers 304 when nothing
changed, and a 304 does not spend the primary rate limit. A cached body is never served without asking
GitHub first: a tool that deletes must not read a listing from before the deletion. Entries are keyed by
a fingerprint of the token (never the token) and the URL, so two identities never share an answer.
Memory is bounded by entry count and total bytes, least recently used first out, however many tokens call.

`LRUMap` bounds the other per-token state (the client's quotas, the pacer's pauses) the same way: a stream of
made-up bearer tokens cannot grow memory.

Why not hishel: see docs/cleanups.md ("Why not hishel for the ETag cache").
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx2

__all__ = ["MAX_IDENTITIES", "CachedResponse", "ETagCache", "LRUMap"]

# How many tokens' state (quotas, pauses) is kept; beyond, the least recently used token's is forgotten.
MAX_IDENTITIES = 1024
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class CachedResponse:
    etag: str
    headers: httpx2.Headers
    content: bytes


class ETagCache:
    """A bounded LRU map from (identity, URL) to the last 200 answer that carried an ETag."""

    def __init__(self, max_entries: int = 1000, max_bytes: int = 32 * 1024 * 1024) -> None:
        self._entries: OrderedDict[tuple[str, str], CachedResponse] = OrderedDict()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, identity: str, url: str) -> CachedResponse | None:
        entry = self._entries.get((identity, url))
        if entry is not None:
            self._entries.move_to_end((identity, url))
        return entry

    def put(self, identity: str, response: httpx2.Response) -> None:
        """Keep a 200 answer that has an ETag; anything else is not worth revalidating."""
        etag = response.headers.get("etag")
        key = (identity, str(response.request.url))
        self._drop(key)
        if response.status_code != 200 or not etag or len(response.content) > self._max_bytes:
            return
        self._entries[key] = CachedResponse(etag, response.headers, response.content)
        self._bytes += len(response.content)
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple[str, str]) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry.content)


class LRUMap(Generic[K, V]):
    """A map that keeps at most `max_items` keys, forgetting the least recently used first."""

    def __init__(self, max_items: int = MAX_IDENTITIES) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._max_items = max_items

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K, default: V) -> V:
        """The value of `key` (now the most recently used), or `default` when it has none; nothing is stored."""
        if key not in self._items:
            return default
        self._items.move_to_end(key)
        return self._items[key]

    def setdefault(self, key: K, make: Callable[[], V]) -> V:
        """The value of `key`, stored from `make()` when it has none."""
        if key not in self._items:
            self[key] = make()
        return self.get(key, self._items[key])

    def __setitem__(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._max_items:
            self._items.popitem(last=False)

    def pop(self, key: K) -> None:
        self._items.pop(key, None)
