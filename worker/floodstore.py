"""Where the flood check counts: recent texts' fingerprints and recent submissions per sender.

Each key is a sorted set of the submissions seen in the last window, scored by the time each was
received: one per band of a text's fingerprint (its members carry the fingerprint, so that the
check can tell a real copy from a chance match) and one per sender. `record` adds a submission
and reads what the window holds in one round trip (a Lua script), because the flood check runs
for every submission and its cost is mostly that round trip.

A submission is recorded under its id, so a redelivered task that checks it again finds itself
already there and counts nothing twice.

The real store is the Redis that holds the rate-limit counters (settings.ratelimit_storage_url).
`memory://` gives a store in this process's memory, for development: each worker process then
counts only what it checked itself.
"""

from __future__ import annotations

import threading
import time
import zlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import redis

from core.config import ConfigError, Settings

# A key is kept this long after the window it covers, then Redis drops it.
EXPIRY_SLACK_SECONDS = 60
# Entries older than the window are never counted; deleting them is only housekeeping, done by
# one call in this many (by submission id) to spare the others a command per key.
TRIM_EVERY = 8
# After Redis failed, fail at once for this long rather than wait for its timeout on each
# submission of a batch.
RETRY_SECONDS = 5.0


class FloodStoreError(Exception):
    """The flood store cannot be reached; the check fails and the submission waits for a person."""


@dataclass(frozen=True)
class Seen:
    """What the window held when a submission was recorded."""

    # The fingerprints of other submissions that share a band with this one, most recent first.
    similar: tuple[bytes, ...]
    # For each sender key, in order: the submissions in the window, this one included.
    senders: tuple[int, ...]


class FloodStore(ABC):
    """Records submissions and counts what the window holds; see the module's docstring."""

    @abstractmethod
    def record(
        self,
        member: str,
        fingerprint: bytes,
        bands: Sequence[str],
        senders: Sequence[str],
        at: float,
        window: int,
        limit: int,
    ) -> Seen:
        """Record `member` (received at `at`, a POSIX time) and read the `window` before it.

        Only what was received in [at - window, at] counts: copies that came after a submission
        do not change its verdict when it is checked again. At most `limit` similar
        fingerprints are returned, the most recent first: a flood of thousands then costs no
        more to check than the first copies that made it one.
        """


_SCRIPT = """
local band_member, sender_member = ARGV[1], ARGV[2]
local at, since, trim_before, ttl = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local bands, limit = tonumber(ARGV[7]), tonumber(ARGV[8])
local similar, seen, counts = {}, {}, {}
for i, key in ipairs(KEYS) do
  local member = sender_member
  if i <= bands then member = band_member end
  redis.call('ZADD', key, at, member)
  if trim_before ~= '' then redis.call('ZREMRANGEBYSCORE', key, '-inf', trim_before) end
  redis.call('EXPIRE', key, ttl)
  if i > bands then
    counts[#counts + 1] = redis.call('ZCOUNT', key, since, at)
  elseif #similar < limit then
    for _, other in ipairs(redis.call('ZREVRANGEBYSCORE', key, at, since, 'LIMIT', 0, limit + 1)) do
      if other ~= member and not seen[other] and #similar < limit then
        seen[other] = true
        similar[#similar + 1] = other
      end
    end
  end
end
return {similar, counts}
"""


def _band_member(member: str, fingerprint: bytes) -> bytes:
    # The fingerprint rides along with the id; it is the member's fixed-length tail.
    return member.encode() + b":" + fingerprint


class RedisFloodStore(FloodStore):
    """The store in Redis: one script call per submission."""

    def __init__(self, url: str, prefix: str) -> None:
        # Like the rate limits: a Redis that hangs must fail the check quickly, not the worker.
        self.client = redis.Redis.from_url(
            redis_py_url(url), socket_connect_timeout=1, socket_timeout=1
        )
        self.script = self.client.register_script(_SCRIPT)
        self.prefix = f"{prefix}:flood:"
        self._down_until = 0.0

    def record(
        self,
        member: str,
        fingerprint: bytes,
        bands: Sequence[str],
        senders: Sequence[str],
        at: float,
        window: int,
        limit: int,
    ) -> Seen:
        """See FloodStore.record; FloodStoreError if Redis cannot be reached."""
        if not bands and not senders:
            return Seen((), ())
        if time.monotonic() < self._down_until:
            raise FloodStoreError("the flood store was unreachable moments ago")
        keys = [f"{self.prefix}b:{band}" for band in bands]
        keys += [f"{self.prefix}s:{sender}" for sender in senders]
        args: list[str | int | bytes] = [
            _band_member(member, fingerprint),
            member,
            repr(at),
            repr(at - window),
            f"({at - window!r}" if zlib.crc32(member.encode()) % TRIM_EVERY == 0 else "",
            window + EXPIRY_SLACK_SECONDS,
            len(bands),
            limit,
        ]
        try:
            similar, counts = self.script(keys=keys, args=args)
        except redis.RedisError as exc:
            self._down_until = time.monotonic() + RETRY_SECONDS
            raise FloodStoreError(f"the flood store cannot be reached: {exc}") from exc
        size = len(fingerprint)
        return Seen(tuple(m[-size:] for m in similar) if size else (), tuple(counts))


class MemoryFloodStore(FloodStore):
    """The same store in this process's memory (thread-safe), for `memory://`."""

    # Every this many records, keys with nothing left in their window are dropped.
    PRUNE_EVERY = 1000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: dict[str, dict[bytes, float]] = {}
        self._records = 0

    def record(
        self,
        member: str,
        fingerprint: bytes,
        bands: Sequence[str],
        senders: Sequence[str],
        at: float,
        window: int,
        limit: int,
    ) -> Seen:
        """See FloodStore.record."""
        since = at - window
        band_member = _band_member(member, fingerprint)
        sender_member = member.encode()
        similar: dict[bytes, None] = {}
        counts: list[int] = []
        with self._lock:
            for band in bands:
                entries = self._add(f"b:{band}", band_member, at, since)
                recent = sorted(
                    (
                        (score, m)
                        for m, score in entries.items()
                        if score <= at and m != band_member
                    ),
                    reverse=True,
                )
                for _, other in recent:
                    if len(similar) >= limit:
                        break
                    similar.setdefault(other)
            for sender in senders:
                entries = self._add(f"s:{sender}", sender_member, at, since)
                counts.append(sum(1 for score in entries.values() if since <= score <= at))
            self._records += 1
            if self._records % self.PRUNE_EVERY == 0:
                self._prune(time.time() - window - EXPIRY_SLACK_SECONDS)
        size = len(fingerprint)
        return Seen(tuple(m[-size:] for m in similar) if size else (), tuple(counts))

    def _add(self, key: str, member: bytes, at: float, since: float) -> dict[bytes, float]:
        entries = self._sets.setdefault(key, {})
        entries[member] = at
        for old in [m for m, score in entries.items() if score < since]:
            del entries[old]
        return entries

    def _prune(self, before: float) -> None:
        for key in [k for k, entries in self._sets.items() if max(entries.values()) < before]:
            del self._sets[key]


def redis_py_url(url: str) -> str:
    """`url` as redis-py reads it: the `limits` spelling redis+unix:// becomes unix://."""
    if url.startswith("redis+unix://"):
        return "unix://" + url.removeprefix("redis+unix://")
    return url


_stores: dict[tuple[str, str], FloodStore] = {}
_stores_lock = threading.Lock()


def flood_store(settings: Settings) -> FloodStore:
    """The flood store of settings.ratelimit_storage_url, one per process (and prefix)."""
    url = settings.ratelimit_storage_url
    key = (url, settings.ratelimit_prefix)
    store = _stores.get(key)
    if store is not None:
        return store
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = _open(url, settings.ratelimit_prefix)
    return store


def _open(url: str, prefix: str) -> FloodStore:
    if url.startswith("memory://"):
        return MemoryFloodStore()
    if url.startswith(("redis://", "rediss://", "redis+unix://", "unix://")):
        return RedisFloodStore(url, prefix)
    raise ConfigError(
        f"TIPLINE_RATELIMIT_STORAGE_URL: the flood check needs Redis or memory://, not {url!r}"
    )


def reachable(store: FloodStore) -> bool:
    """Whether `store` answers (always, for the memory store)."""
    if isinstance(store, RedisFloodStore):
        try:
            return bool(store.client.ping())
        except redis.RedisError:
            return False
    return True
