"""One ONNX Runtime session: providers, thread settings, and a check that the graph fits its declaration."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from guardd.inference.config import ModelConfig, Role

CUDA: Final = "CUDAExecutionProvider"
CPU: Final = "CPUExecutionProvider"
_INT_TYPES: Final[dict[str, type[np.integer]]] = {"tensor(int64)": np.int64, "tensor(int32)": np.int32}
SHRINK_ABOVE_TOKENS: Final = 2048
"""A run over this many padded tokens (16 items of 128) hands the arena memory it grew back afterwards,
so a burst of long documents does not set the sidecar's RSS for good. Smaller runs keep it: re-growing
cost a 12-item run up to a third of its time with 2 intra-op threads."""
_OUTPUT_RANKS: Final = {"pair-classification": (2,), "text-classification": (2,), "embedding": (2, 3)}

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]


class ModelMismatch(ValueError):
    """The graph does not match what the policy declares (inputs, outputs, labels)."""


def usable_cpus() -> int:
    """CPUs this process may run on (a container's cpuset, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def providers_for(config: ModelConfig) -> list[str]:
    """Execution providers in preference order; ``cuda`` without a CUDA build is an error."""
    available = ort.get_available_providers()
    if config.device == "cuda":
        if CUDA not in available:
            raise ModelMismatch("device: cuda, but this onnxruntime has no CUDA provider (install onnxruntime-gpu)")
        return [CUDA, CPU]
    if config.device == "auto" and CUDA in available:
        return [CUDA, CPU]
    return [CPU]


def session_options(config: ModelConfig) -> ort.SessionOptions:
    """Threads sized to the CPUs we may use; no spinning, so idle intra-op threads leave the event loop its core."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = config.intra_op_threads or usable_cpus()
    options.inter_op_num_threads = config.inter_op_threads
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # A spinning intra-op pool burns a core between batches; in a sidecar that core serves gRPC.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


@dataclass(frozen=True, slots=True)
class Feed:
    """How token arrays reach the graph: the input name and integer type per role."""

    names: dict[Role, str]
    dtypes: dict[Role, type[np.integer]]


class OnnxSession:
    """A loaded ``InferenceSession`` that reads one output; ``run`` is thread-safe (ORT guarantees it)."""

    def __init__(self, path: Path, config: ModelConfig) -> None:
        self._session = ort.InferenceSession(str(path), session_options(config), providers=providers_for(config))
        self.feed = _feed(self._session, config)
        self.output = _output(self._session, config)
        self._run_options = _run_options(shrink_arena=False)
        self._shrinking = _run_options(shrink_arena=True)

    @property
    def device(self) -> str:
        """``cuda`` when the CUDA provider really came up, else ``cpu``."""
        return "cuda" if self._session.get_providers()[0] == CUDA else "cpu"

    def run(self, arrays: dict[Role, IntArray]) -> FloatArray:
        feeds = {
            self.feed.names[role]: arrays[role].astype(self.feed.dtypes[role], copy=False) for role in self.feed.names
        }
        large = arrays["input_ids"].size > SHRINK_ABOVE_TOKENS
        (result,) = self._session.run([self.output], feeds, self._shrinking if large else self._run_options)
        return np.asarray(result, dtype=np.float32)


def _run_options(*, shrink_arena: bool) -> ort.RunOptions:
    options = ort.RunOptions()
    # Failures reach callers as InferenceError and are logged once there; ORT's own stderr line is noise.
    options.log_severity_level = 4
    if shrink_arena:
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options


def _feed(session: ort.InferenceSession, config: ModelConfig) -> Feed:
    graph = {i.name: i for i in session.get_inputs()}
    declared = config.input_names
    if config.inputs is None:
        # Standard names: feed the ones this graph has (DistilBERT has no token_type_ids).
        declared = {role: name for role, name in declared.items() if name in graph}
    missing = [f"{role}: {name}" for role, name in declared.items() if name not in graph]
    if missing or "input_ids" not in declared:
        raise ModelMismatch(
            f"model inputs are {sorted(graph)}; declared {missing or ['input_ids: (none)']} not found (set inputs:)"
        )
    unfed = sorted(set(graph) - set(declared.values()))
    if unfed:
        raise ModelMismatch(
            f"model inputs {unfed} would not be fed; map them in inputs: (input_ids, attention_mask, token_type_ids)"
        )
    dtypes: dict[Role, type[np.integer]] = {}
    for role, name in declared.items():
        dtype: type[np.integer] | None = _INT_TYPES.get(graph[name].type)
        if dtype is None:
            raise ModelMismatch(f"model input '{name}' is {graph[name].type}; token inputs must be int64 or int32")
        dtypes[role] = dtype
    return Feed(declared, dtypes)


def _output(session: ort.InferenceSession, config: ModelConfig) -> str:
    outputs = {o.name: o for o in session.get_outputs()}
    name = config.output or next(iter(outputs))
    if name not in outputs:
        raise ModelMismatch(f"model has no output '{name}'; its outputs are {sorted(outputs)}")
    rank = len(outputs[name].shape)
    if rank not in _OUTPUT_RANKS[config.task]:
        expected = " or ".join(str(r) for r in _OUTPUT_RANKS[config.task])
        raise ModelMismatch(f"output '{name}' has rank {rank}; task {config.task} needs rank {expected}")
    return name
