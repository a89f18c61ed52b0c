"""The composition root: wires policy, pipeline, metrics and servers; owns start, drain and stop."""

from __future__ import annotations

import asyncio
import logging
import signal
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from threading import Thread
from typing import Any
from wsgiref.simple_server import WSGIServer

import grpc
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector, start_http_server

from guardd.api.handlers import ErrorMapper, ServiceHandlers, guard_handler
from guardd.api.ports import Subsystems
from guardd.api.server import Health, ServerSettings, build_health_server, build_server
from guardd.api.service import GuardService
from guardd.audit.excerpter import PooledExcerpter
from guardd.audit.writer import AuditLog, AuditSettings
from guardd.circuit import build_store
from guardd.circuit.engine import Breakers
from guardd.circuit.metrics import CircuitMetrics
from guardd.circuit.service import CircuitService
from guardd.clock import Clock, SystemClock
from guardd.events import Fanout
from guardd.guardrails.base import BuildEnv
from guardd.inference.metrics import InferenceMetrics
from guardd.inference.registry import ModelRegistry
from guardd.pipeline.plan import Snapshot, build_snapshot
from guardd.pipeline.runner import Pipeline
from guardd.policy.holder import SnapshotHolder
from guardd.policy.loader import load_policy
from guardd.policy.reload import PolicyReloader
from guardd.security.admin import AdminAuth
from guardd.slo.metrics import SLOMetrics
from guardd.slo.service import SLOService
from guardd.slo.tracker import SLOTracker
from guardd.telemetry.looplag import LoopLag
from guardd.telemetry.metrics import Metrics
from guardd.workers.pool import WorkerPool

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything ``guardd serve`` is started with."""

    policy: Path
    server: ServerSettings = field(default_factory=ServerSettings)
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = 9464
    """None disables the metrics endpoint (tests read the registry directly)."""
    grace_s: float = 10.0
    """Drain time on SIGTERM; keep it below the pod's terminationGracePeriodSeconds."""
    reload_interval_s: float = 1.0
    admin: AdminAuth | None = None
    """Who may call SetCircuitOverride; None: every caller that reaches the port."""
    audit: AuditSettings | None = None
    """The decision log; None: off."""


def load_snapshot(root: Path, workers: WorkerPool | None = None, models: ModelRegistry | None = None) -> Snapshot:
    """Load the policy at ``root`` and build every guardrail in it (GIL-bound ones into ``workers``).

    Models load (or are reused) through ``models``; without one (``guardd check``), a
    throwaway registry loads and warms them, so a bad model file fails here too.
    """
    policies = load_policy(root)
    registry = models or ModelRegistry(InferenceMetrics(CollectorRegistry()), SystemClock())
    loaded = registry.load(policies)
    return build_snapshot(policies, BuildEnv(base_dir=policies.base_dir, workers=workers, models=loaded))


@dataclass(frozen=True, slots=True)
class InstalledPolicies:
    """Loads the policy path and puts snapshots in force: the reloader's ``SnapshotSource``."""

    root: Path
    holder: SnapshotHolder
    metrics: Metrics
    workers: WorkerPool | None = None
    models: ModelRegistry | None = None

    @property
    def version(self) -> str:
        return self.holder.current.version

    def load(self) -> Snapshot:
        return load_snapshot(self.root, self.workers, self.models)

    def install(self, snapshot: Snapshot) -> None:
        previous = self.holder.swap(snapshot)
        self.metrics.install_policy(snapshot.version, snapshot.plans, snapshot.guardrail_labels())
        self.metrics.reloads.inc()
        log.info(
            "policy installed",
            extra={
                "version": snapshot.version,
                "previous_version": previous.version if previous else None,
                "policies": sorted(snapshot.plans),
                "files": list(snapshot.policies.files),
            },
        )


class App:
    """One guardd process: start, serve, drain, stop."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.registry = CollectorRegistry()
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=self.registry)
        self.metrics = Metrics(self.registry)
        self.holder = SnapshotHolder()
        self.health = Health()
        # One process pool for the life of the App: reloads load into it, never respawn it.
        self.workers = WorkerPool()
        # Models load once per (file, settings) and survive reloads that leave them unchanged.
        self.models = ModelRegistry(InferenceMetrics(self.registry), self.clock)
        self.policies = InstalledPolicies(settings.policy, self.holder, self.metrics, self.workers, self.models)
        self.reloader = PolicyReloader(
            settings.policy, self.policies, self.metrics, interval_s=settings.reload_interval_s
        )
        # The SLO tracker reads SLO definitions from the snapshot in force, so reloads reach it.
        self.slo = SLOTracker(lambda: self.holder.current.policies, SLOMetrics(self.registry), self.clock)
        for slo_collector in self.slo.collectors():
            self.registry.register(slo_collector)
        # Breakers read circuits: from the snapshot in force (hot reload); their store is chosen at start.
        self.breakers = Breakers(
            lambda: self.holder.current.policies.circuits, self.clock, CircuitMetrics(self.registry)
        )
        self._excerpts: PooledExcerpter | None = None
        if settings.audit is not None and settings.audit.excerpt_chars > 0:
            # A worker of their own: excerpts must never queue in front of a request's PII analysis.
            self._excerpts = PooledExcerpter(WorkerPool(processes=1), settings.audit.excerpt_chars)
        self.audit = AuditLog(settings.audit, self.registry, self._excerpts) if settings.audit is not None else None
        self.loop_lag = LoopLag(self.registry, self.clock)
        links = Subsystems(events=Fanout([self.slo, self.breakers]), circuits=self.breakers, audit=self.audit)
        validate = GuardService(self.holder, Pipeline(self.metrics, self.clock), self.metrics, self.clock, links)
        services: list[ServiceHandlers] = [
            validate,
            SLOService(self.holder, self.slo, links),
            CircuitService(self.breakers, settings.admin.build() if settings.admin is not None else None),
        ]
        handler = guard_handler(ErrorMapper(self.metrics), services)
        self._server, self.grpc_port = build_server(settings.server, handler, self.health)
        self._health_server: grpc.aio.Server | None = None
        self.health_port: int | None = None
        if settings.server.health_port is not None:
            host = settings.server.health_host or settings.server.host
            self._health_server, self.health_port = build_health_server(host, settings.server.health_port, self.health)
        self._tasks: set[asyncio.Task[None]] = set()
        self._metrics_http: tuple[WSGIServer, Thread] | None = None
        self._stopped = asyncio.Event()
        self._stopping: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Load the policy (a bad one is fatal at start), then serve."""
        await self.health.set(serving=False)
        self.workers.bind(asyncio.get_running_loop())
        # Building the policy warms it: workers start and load (and try) every PII analyzer first.
        self.policies.install(await asyncio.to_thread(self.policies.load))
        if self._excerpts is not None:
            await self._excerpts.start()  # warm before the first record needs it
        if self.audit is not None:
            self.audit.open()
        store = self.holder.current.policies.store
        self.breakers.use_store(build_store(store, self.clock, uuid.uuid4().hex[:12]), store)
        self._spawn(self.breakers.run())
        await self._server.start()
        if self._health_server is not None:
            await self._health_server.start()
        if self.settings.metrics_port is not None:
            self._metrics_http = start_http_server(
                self.settings.metrics_port, self.settings.metrics_host, registry=self.registry
            )
        self._spawn(self.reloader.run())
        self._spawn(self._expire_slo_joins())
        self._spawn(self.loop_lag.run())
        await self.health.set(serving=True)
        log.info(
            "guardd serving",
            extra={"grpc_port": self.grpc_port, "metrics_port": self.metrics_port, "health_port": self.health_port},
        )

    @property
    def metrics_port(self) -> int | None:
        """The metrics port actually bound (the setting may be 0: any free port)."""
        return None if self._metrics_http is None else int(self._metrics_http[0].server_port)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _expire_slo_joins(self) -> None:
        """Count alone the outcomes and verdicts whose other half never came, even without traffic."""
        while True:
            await asyncio.sleep(1.0)
            self.slo.expire()

    def _request_stop(self) -> None:
        if self._stopping is None:
            self._stopping = asyncio.get_running_loop().create_task(self.stop())

    async def stop(self, grace_s: float | None = None) -> None:
        """Stop accepting, drain in-flight RPCs for up to ``grace_s``, then release everything."""
        grace = self.settings.grace_s if grace_s is None else grace_s
        log.info("guardd draining", extra={"grace_s": grace})
        await self.health.set(serving=False)
        await self._server.stop(grace)
        if self.audit is not None:
            # After the drain: every RPC that got a verdict has queued its record by now.
            await asyncio.to_thread(self.audit.close)
        if self._excerpts is not None:
            await self._excerpts.close()  # after the writer: it excerpts what was still queued
        if self._health_server is not None:
            await self._health_server.stop(None)
        await self.workers.close()
        await asyncio.to_thread(self.models.close)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._metrics_http is not None:
            server, thread = self._metrics_http
            server.shutdown()
            thread.join(timeout=5)
        self._stopped.set()
        log.info("guardd stopped")

    async def run(self) -> None:
        """Serve until SIGTERM or SIGINT; SIGHUP reloads the policy."""
        loop = asyncio.get_running_loop()
        await self.start()
        loop.add_signal_handler(signal.SIGHUP, self.reloader.trigger)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._request_stop)
        await self._stopped.wait()
