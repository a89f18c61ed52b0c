"""A loaded model as guardrails see it: ``await model.infer(items)``, plus its task and labels."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

from tokenizers import Tokenizer

from guardd.inference.batcher import MicroBatcher
from guardd.inference.config import ModelConfig, Task
from guardd.inference.encoder import Item, Postprocess, encode, pad, sub_batches
from guardd.inference.session import FloatArray, OnnxSession


class ModelRunner:
    """Runs one closed batch in the inference thread: tokenise, then each item alone (or length buckets), post-process."""

    def __init__(self, session: OnnxSession, tokenizer: Tokenizer, config: ModelConfig) -> None:
        self.session = session
        self._tokenizer = tokenizer
        self._post = Postprocess(config)
        self._padded = config.padding == "buckets"

    def __call__(self, items: Sequence[Item]) -> list[FloatArray]:
        encodings = encode(self._tokenizer, items)
        results: list[FloatArray | None] = [None] * len(items)
        lengths = [len(e.ids) for e in encodings]
        groups = sub_batches(lengths) if self._padded else [[i] for i in range(len(items))]
        for group in groups:
            arrays = pad([encodings[i] for i in group])
            vectors = self._post(self.session.run(arrays), arrays["attention_mask"])
            for index, vector in zip(group, vectors, strict=True):
                results[index] = vector
        return [r for r in results if r is not None]


@dataclass(frozen=True, slots=True)
class Model:
    """One policy model, shared by every guardrail and request that names it."""

    name: str
    config: ModelConfig
    sha256: str
    device: str
    batcher: MicroBatcher[Item, FloatArray]

    @property
    def task(self) -> Task:
        return self.config.task

    def label_index(self, label: str) -> int:
        """Column of ``label`` in the classifier's output; ``ValueError`` names the choices."""
        labels = self.config.label_names
        if label not in labels:
            raise ValueError(f"model '{self.name}' has no label '{label}'; its labels are {list(labels)}")
        return labels.index(label)

    async def infer(self, items: Sequence[Item]) -> list[FloatArray]:
        """Probabilities per label (classifiers) or a unit vector (embeddings), one per item, in order."""
        if not items:
            return []
        return await self.batcher.submit(items)


class ModelSet(Mapping[str, Model]):
    """The models of one policy version, by name; what ``BuildEnv.models`` hands guardrails."""

    def __init__(self, models: Mapping[str, Model]) -> None:
        self._models = dict(models)

    def __getitem__(self, name: str) -> Model:
        return self._models[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)

    def require(self, name: str, tasks: Collection[Task]) -> Model:
        """The model ``name`` if it does one of ``tasks``; ``ValueError`` (a build error) otherwise."""
        model = self._models.get(name)
        if model is None:
            known = ", ".join(sorted(self._models)) or "none"
            raise ValueError(f"unknown model '{name}'; models in this policy: {known}")
        if model.task not in tasks:
            raise ValueError(f"model '{name}' has task {model.task}; this guardrail needs {' or '.join(sorted(tasks))}")
        return model
