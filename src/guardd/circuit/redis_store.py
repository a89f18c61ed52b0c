"""Breaker state shared through Redis: CAS scripts, TTL expiry, pub/sub, and local fallback.

While Redis is unreachable every call falls through to an embedded
``MemoryStore`` seeded with the last states Redis gave us, so replicas keep
deciding locally; a reconnect loop with backoff brings Redis back and re-syncs
what changed meanwhile (OPEN beats CLOSED, a newer generation beats an older).
Nothing here raises into the engine. Keys assume one Redis (not Cluster): the
scripts touch keys they derive.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from guardd.circuit import lua
from guardd.circuit.config import StoreConfig
from guardd.circuit.machine import SharedState, wins
from guardd.circuit.store import ANY_GENERATION, CasResult, Listener, MemoryStore
from guardd.circuit.window import Sample, Tally
from guardd.clock import Clock

log = logging.getLogger(__name__)
T = TypeVar("T")
FAILURES = (RedisError, OSError, TimeoutError)
BACKOFF_START_S, BACKOFF_MAX_S = 0.05, 2.0
PROBE_TALLY_TTL_MS = 600_000


def decode_state(fields: dict[str, Any]) -> SharedState:
    """A ``SharedState`` from the state hash or a pub/sub message."""
    return SharedState(
        state=fields["state"],
        generation=int(fields["gen"]),
        reason=str(fields.get("reason", "")),
        kind=fields.get("kind", "start"),
        changed_at_ms=int(fields.get("changed_at", 0)),
        open_ms=int(fields.get("open_ms", 0)),
    )


class RedisStore:
    """The fleet-wide ``Store`` (redis-py asyncio)."""

    def __init__(self, config: StoreConfig, clock: Clock, replica: str) -> None:
        self._config = config
        self._replica = replica
        timeout = config.op_timeout
        self._redis = Redis.from_url(
            config.url, decode_responses=True, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._cas = self._redis.register_script(lua.CAS)
        self._fleet = self._redis.register_script(lua.FLEET_TALLY)
        self._claim = self._redis.register_script(lua.CLAIM_PROBE)
        self._local = MemoryStore(clock)
        self._known: dict[str, SharedState] = {}
        self._up = True
        self._listener: Listener | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._reconnecting = False
        self._channel = f"{config.prefix}:changes"

    @property
    def up(self) -> bool:
        return self._up

    def _key(self, kind: str, upstream: str) -> str:
        return f"{self._config.prefix}:{kind}:{upstream}"

    async def start(self, listener: Listener) -> None:
        self._listener = listener
        try:
            await self._redis.ping()
        except FAILURES as exc:
            self._went_down(exc)
        if self._config.pubsub:
            self._spawn(self._subscribe())

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._redis.aclose()

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _either(self, remote: Callable[[], Awaitable[T]], local: Callable[[], Awaitable[T]]) -> T:
        """Redis when it answers; otherwise the local fallback, and the reconnect loop starts."""
        if self._up:
            try:
                return await remote()
            except FAILURES as exc:
                self._went_down(exc)
        return await local()

    def _went_down(self, exc: BaseException) -> None:
        if self._up:
            log.warning("circuit store unreachable; deciding locally", extra={"error": repr(exc)})
            self._up = False
            self._local.seed(self._known)
            if self._listener is not None:
                self._listener.store_up(up=False)
        if not self._reconnecting:
            self._reconnecting = True
            self._spawn(self._reconnect())

    async def _reconnect(self) -> None:
        delay = BACKOFF_START_S
        try:
            while True:
                await asyncio.sleep(delay)
                try:
                    await self._redis.ping()
                    await self._resync()
                except FAILURES:
                    delay = min(delay * 2, BACKOFF_MAX_S)
                    continue
                break
        finally:
            self._reconnecting = False
        self._up = True
        log.info("circuit store reachable again; state re-synced")
        if self._listener is not None:
            self._listener.store_up(up=True)

    async def _resync(self) -> None:
        """Push what was decided locally during the outage where it beats Redis; adopt Redis elsewhere."""
        for upstream in sorted(self._local.dirty):
            local = self._local.stored(upstream)
            remote = await self._read(upstream)
            if local is not None and (remote is None or wins(local, remote)):
                floor = max(local.generation, remote.generation if remote else 0) + 1
                stored = await self._write(upstream, -1 if remote is None else remote.generation, local, floor=floor)
                remote = stored or remote
            if remote is not None:
                self._learn(upstream, remote, "reconcile")
            self._local.dirty.discard(upstream)
        for upstream, state in (await self._load_remote(list(self._known))).items():
            self._learn(upstream, state, "reconcile")

    def _learn(self, upstream: str, state: SharedState, via: str) -> None:
        known = self._known.get(upstream)
        if known is None or wins(state, known):
            self._known[upstream] = state
        if self._listener is not None:
            self._listener.apply(upstream, state, "pubsub" if via == "pubsub" else "reconcile")

    async def _read(self, upstream: str) -> SharedState | None:
        fields = await self._redis.hgetall(self._key("c", upstream))
        return decode_state({str(k): v for k, v in fields.items()}) if fields else None

    # --- pub/sub ----------------------------------------------------------------------------------

    async def _subscribe(self) -> None:
        delay = BACKOFF_START_S
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    delay = BACKOFF_START_S
                    # Messages published while we were not subscribed are lost: catch up now.
                    await self._catch_up()
                    async for message in pubsub.listen():
                        self._on_message(message)
            except FAILURES as exc:
                self._went_down(exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)

    async def _catch_up(self) -> None:
        if self._up:
            for upstream, state in (await self._load_remote(list(self._known))).items():
                self._learn(upstream, state, "reconcile")

    def _on_message(self, message: dict[str, Any]) -> None:
        try:
            payload = json.loads(message["data"])
            upstream, state = str(payload["upstream"]), decode_state(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed circuit change message")
            return
        self._learn(upstream, state, "pubsub")

    # --- Store -------------------------------------------------------------------------------------

    async def load(self, upstreams: Iterable[str]) -> dict[str, SharedState]:
        names = list(upstreams)
        return await self._either(lambda: self._load_remote(names), lambda: self._local.load(names))

    async def _load_remote(self, upstreams: list[str]) -> dict[str, SharedState]:
        everyone = await self._redis.smembers(f"{self._config.prefix}:upstreams")
        names = sorted(set(upstreams) | {str(name) for name in everyone})
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(self._key("c", name))
            rows = await pipe.execute()
        states = {name: decode_state(row) for name, row in zip(names, rows, strict=True) if row}
        for name, state in states.items():
            known = self._known.get(name)
            if known is None or wins(state, known):
                self._known[name] = state
        return states

    async def cas(self, upstream: str, expected: int, new: SharedState, *, after_open: bool = False) -> CasResult:
        async def remote() -> CasResult:
            stored = await self._write(upstream, expected, new, after_open=after_open)
            if stored is None:
                return CasResult(None, await self._wait_ms(upstream) if after_open else 0)
            return CasResult(stored)

        return await self._either(remote, lambda: self._local.cas(upstream, expected, new, after_open=after_open))

    async def _wait_ms(self, upstream: str) -> int:
        return max(0, int(await self._redis.pttl(self._key("t", upstream))))

    async def _write(
        self, upstream: str, expected: int, new: SharedState, *, after_open: bool = False, floor: int = 0
    ) -> SharedState | None:
        keys = [self._key("c", upstream), self._key("t", upstream), f"{self._config.prefix}:upstreams"]
        args = [
            expected if expected >= 0 else ANY_GENERATION,
            new.state,
            new.reason,
            new.kind,
            max(1, new.open_ms),
            int(after_open),
            int(self._config.pubsub),
            self._channel,
            upstream,
            floor,
        ]
        written, message = await self._cas(keys=keys, args=args)
        if not written:
            return None
        stored = decode_state(json.loads(message))
        self._known[upstream] = stored
        return stored

    async def fleet_tally(self, upstream: str, generation: int, mine: Tally) -> Tally:
        async def remote() -> Tally:
            ttl_ms = max(1000, int(self._config.reconcile_interval * 3000))
            payload = json.dumps({"g": generation, "c": mine.counts})
            windows = await self._fleet(
                keys=[self._key("r", upstream)], args=[f"{self._key('w', upstream)}:", self._replica, payload, ttl_ms]
            )
            return _sum(windows, generation)

        return await self._either(remote, lambda: self._local.fleet_tally(upstream, generation, mine))

    async def add_probe(self, upstream: str, generation: int, sample: Sample) -> Tally:
        async def remote() -> Tally:
            key = f"{self._key('h', upstream)}:{generation}"
            one = Tally()
            one.add(sample)
            async with self._redis.pipeline(transaction=True) as pipe:
                for field, value in one.counts.items():
                    pipe.hincrby(key, field, value)
                pipe.pexpire(key, PROBE_TALLY_TTL_MS)
                pipe.hgetall(key)
                results = await pipe.execute()
            return Tally({k: int(v) for k, v in results[-1].items()})

        return await self._either(remote, lambda: self._local.add_probe(upstream, generation, sample))

    async def claim_probe(self, upstream: str, generation: int, slots: int, ttl_ms: int) -> bool:
        async def remote() -> bool:
            prefix = f"{self._key('s', upstream)}:{generation}:"
            return bool(await self._claim(keys=[], args=[prefix, slots, ttl_ms]))

        return await self._either(remote, lambda: self._local.claim_probe(upstream, generation, slots, ttl_ms))


def _sum(windows: list[str], generation: int) -> Tally:
    """The fleet's tally: every replica's window of this generation (older ones belong to a past state)."""
    total = Tally()
    for raw in windows:
        window = json.loads(raw)
        if window.get("g") == generation:
            total = total.merge(window["c"])
    return total
