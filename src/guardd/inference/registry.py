"""Loads a policy's models once, warms them, and keeps them across reloads while unchanged.

Owned by the composition root. ``load`` runs in the loader thread (startup or
reload), before a snapshot is installed and before health says SERVING, so
no model is ever loaded on the request path. A model is reused when its name,
files (path and stat) and settings are all unchanged; a changed one is loaded
fresh, and the old one lives on only as long as a snapshot still in use holds it.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from guardd.clock import Clock
from guardd.errors import Diagnostic, PolicyError
from guardd.inference.batcher import BatchPolicy, MicroBatcher
from guardd.inference.config import ModelConfig
from guardd.inference.encoder import load_tokenizer
from guardd.inference.metrics import InferenceMetrics
from guardd.inference.model import Model, ModelRunner, ModelSet
from guardd.inference.session import ModelMismatch, OnnxSession, usable_cpus
from guardd.policy.model import PolicySet

log = logging.getLogger(__name__)

DEFAULT_THREADS = 4
"""Bound on inference threads for all models together; each model's ``concurrency`` bounds its own share."""

_WARM_TEXTS = ("warm up", "warm up the model with a somewhat longer text so a second length is padded")


@dataclass(frozen=True, slots=True)
class _Key:
    name: str
    model: tuple[str, int, int, int]
    tokenizer: tuple[str, int, int, int]
    settings: str


class _LoadError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class ModelRegistry:
    """Every model the process has loaded, keyed by what would change it."""

    def __init__(self, metrics: InferenceMetrics, clock: Clock, *, threads: int = DEFAULT_THREADS) -> None:
        self._metrics = metrics
        self._clock = clock
        self._threads = threads
        self._executor = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="guardd-infer")
        self._loaded: dict[_Key, Model] = {}
        self._lock = threading.Lock()

    def load(self, policies: PolicySet) -> ModelSet:
        """Models for ``policies``: reused where unchanged, else loaded and warmed. Raises ``PolicyError``."""
        with self._lock:
            problems: list[Diagnostic] = []
            loaded: dict[_Key, Model] = {}
            for name, config in policies.models.items():
                try:
                    key = _key(name, config, policies.base_dir)
                    loaded[key] = self._loaded.get(key) or self._open(name, config, policies.base_dir)
                except _LoadError as exc:
                    problems.append(policies.model_diagnostic(name, exc.field, str(exc)))
            if problems:
                raise PolicyError(problems)
            self._retire(set(self._loaded) - set(loaded), loaded)
            self._loaded = loaded
            return ModelSet({key.name: model for key, model in loaded.items()})

    def close(self) -> None:
        """Stop the inference threads (after the server has drained)."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _open(self, name: str, config: ModelConfig, base_dir: Path) -> Model:
        path, tokenizer_path = base_dir / config.path, base_dir / config.tokenizer
        digest = _verified_digest(path, config.sha256)
        try:
            tokenizer = load_tokenizer(tokenizer_path, config.max_length)
        except Exception as exc:  # tokenizers raises its own Exception type for a bad file
            raise _LoadError("tokenizer", f"cannot load tokenizer {tokenizer_path}: {exc}") from exc
        try:
            session = OnnxSession(path, config)
            runner = ModelRunner(session, tokenizer, config)
            _warm(runner, config)
        except ModelMismatch as exc:
            raise _LoadError("path", f"{path}: {exc}") from exc
        except Exception as exc:  # onnxruntime raises bare RuntimeError subclasses for unreadable graphs
            raise _LoadError("path", f"cannot load model {path}: {type(exc).__name__}: {exc}") from exc
        observer = self._metrics.observer(name, config.task, session.device)
        # More runs than executor threads would only queue small batches behind each other.
        concurrency = min(usable_cpus(), self._threads) if config.concurrency == "auto" else config.concurrency
        policy = BatchPolicy(config.max_batch, config.max_wait_ms / 1000, concurrency)
        batcher = MicroBatcher(runner, policy, self._executor, self._clock, observer)
        log.info(
            "model loaded",
            extra={"model": name, "task": config.task, "device": session.device, "sha256": digest},
        )
        return Model(name, config, digest, session.device, batcher)

    def _retire(self, gone: set[_Key], kept: Mapping[_Key, Model]) -> None:
        live = {(m.name, m.task, m.device) for m in kept.values()}
        for key in gone:
            model = self._loaded[key]
            if (model.name, model.task, model.device) not in live:
                self._metrics.forget(model.name, model.task, model.device)


def _key(name: str, config: ModelConfig, base_dir: Path) -> _Key:
    return _Key(
        name,
        _stat(base_dir / config.path, "path", "model file"),
        _stat(base_dir / config.tokenizer, "tokenizer", "tokenizer file"),
        config.model_dump_json(),
    )


def _stat(path: Path, field: str, what: str) -> tuple[str, int, int, int]:
    try:
        resolved = path.resolve(strict=True)
        st = resolved.stat()
    except OSError as exc:
        raise _LoadError(field, f"{what} not found: {path}") from exc
    if not resolved.is_file():
        raise _LoadError(field, f"{what} is not a file: {path}")
    return (str(resolved), st.st_ino, st.st_mtime_ns, st.st_size)


def _verified_digest(path: Path, pinned: str | None) -> str:
    with path.open("rb") as file:
        digest = hashlib.file_digest(file, "sha256").hexdigest()
    if pinned is not None and digest != pinned:
        raise _LoadError("sha256", f"{path} has sha256 {digest}, but the policy pins {pinned}")
    return digest


def _warm(runner: ModelRunner, config: ModelConfig) -> None:
    """One real batch per length class: allocates ORT's buffers and proves the output fits the labels."""
    items = [(t, t) for t in _WARM_TEXTS] if config.task == "pair-classification" else list(_WARM_TEXTS)
    outputs = runner(items)
    labels = config.label_names
    width = outputs[0].shape[-1]
    if config.task != "embedding" and width != len(labels):
        raise ModelMismatch(
            f"output has {width} column(s) but labels are {list(labels)}; declare labels: with {width} name(s)"
        )
