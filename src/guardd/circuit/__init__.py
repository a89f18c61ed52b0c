"""Circuit breakers per upstream, fed by outcomes and verdicts, shared through a store."""

from __future__ import annotations

import os
from collections.abc import Mapping

from guardd.circuit.config import StoreConfig
from guardd.circuit.redis_store import RedisStore
from guardd.circuit.store import MemoryStore, Store
from guardd.clock import Clock


def build_store(config: StoreConfig, clock: Clock, replica: str, environ: Mapping[str, str] = os.environ) -> Store:
    """The store ``config`` names; no I/O here (Redis connects when the engine starts).

    Raises ``PolicyError`` when ``store.url_env`` names a variable that ``environ`` lacks.
    """
    if config.kind == "redis":
        return RedisStore(config.resolve(environ), clock, replica)
    return MemoryStore(clock)
