"""PII detection and redaction on presidio-analyzer, run in worker processes.

presidio and spaCy hold the GIL, so analysis runs in the App's shared
``WorkerPool`` (``BuildEnv.workers``): the event loop only ships the text
and gets back findings (and the redacted text). Without a pool (``guardd
check``/``validate``) the same handler runs in-process on a thread.

The default entity set is chosen for precision, because false positives are
what users of presidio complain about most: it leaves out recognizers that
fire on ordinary tokens (see ``DEFAULT_ENTITIES``).
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Self

import yaml
from pydantic import Field, StringConstraints, ValidationError, model_validator

from guardd.guardrails.base import CLEAN, BuildEnv, CheckContext, Cost, Detection, GuardrailConfig, Result, Span
from guardd.guardrails.pii_engine import NER_ENTITIES, AnalyzerSpec, Engine, check_model_installed
from guardd.guardrails.pii_numbers import DEFAULT_PHONE_REGIONS
from guardd.guardrails.pii_recognizers import ENTITY_NAME, RecognizerConfig, RecognizersFile
from guardd.guardrails.pii_redact import Operator, PiiHandler, PiiVerdict, RedactSpec, make_handler

DEFAULT_ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS")
"""Recognizers that need structure (an @, a checksum, a dialable number) to fire. Left out on purpose:
US_DRIVER_LICENSE (matches ordinary words and numbers), US_BANK_NUMBER and US_PASSPORT (any 8-17 or 9
digits), UK_NHS (1 in 11 ten-digit numbers passes its checksum), DATE_TIME (dates are not PII on their
own), URL (links are content, not people), MEDICAL_LICENSE, US_ITIN. Any of them can be named in
``entities``."""
DEFAULT_SPACY_ENTITIES = (*DEFAULT_ENTITIES, "PERSON", "LOCATION")
MIN_SALT_BYTES = 16
MAX_SPANS = 100
"""Spans reported per entity type; redaction still covers every match."""

Entity = Annotated[str, StringConstraints(pattern=ENTITY_NAME)]
Phrase = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Runner = Callable[[str], Awaitable[PiiVerdict]]


class PiiConfig(GuardrailConfig):
    """Policy entry for ``type: pii``: presidio entities to find, and how to redact them.

    With ``on_fail: modify`` each finding is rewritten by ``operator``:
    ``replace`` (``<EMAIL_ADDRESS>``), ``mask`` (keep the last ``keep_last``
    characters), ``hash`` (salted SHA-256: one value always gives one token
    for a given salt), or ``redact`` (removed).
    """

    can_modify = True

    type: Literal["pii"]
    engine: Engine = "patterns"
    model: str | None = Field(default=None, min_length=1, max_length=500)
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    entities: tuple[Entity, ...] | None = Field(default=None, max_length=100)
    score_threshold: float = Field(default=0.4, ge=0.0, le=1.0)
    allow_list: tuple[Phrase, ...] = Field(default=(), max_length=10_000)
    recognizers: tuple[RecognizerConfig, ...] = Field(default=(), max_length=100)
    recognizers_file: str | None = Field(default=None, min_length=1)
    operator: Operator = "replace"
    keep_last: int = Field(default=4, ge=0, le=64)
    mask_char: str = Field(default="*", min_length=1, max_length=1)
    salt: str | None = Field(default=None, min_length=MIN_SALT_BYTES, repr=False)
    salt_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    salt_file: str | None = Field(default=None, min_length=1)
    phone_regions: tuple[Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")], ...] = Field(
        default=DEFAULT_PHONE_REGIONS, min_length=1, max_length=250
    )
    """Regions whose national phone formats are recognised (ISO 3166 codes); international (+CC) numbers are
    recognised for every country. One pass over the text serves them all (guardd.guardrails.pii_numbers)."""
    processes: int | None = Field(default=None, ge=1, le=64)
    """Worker processes for PII analysis (default: one per CPU). The pool is shared and only grows."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ner = NER_ENTITIES & set(self.entities or ())
        if self.engine == "patterns" and ner:
            raise ValueError(f"{', '.join(sorted(ner))} need(s) engine: spacy (a NER model)")
        if self.engine == "spacy" and self.model is None:
            raise ValueError("engine: spacy needs model: an installed spaCy package name or a pipeline path")
        salts = [s for s in (self.salt, self.salt_env, self.salt_file) if s is not None]
        if len(salts) > 1:
            raise ValueError("set only one of salt, salt_env, salt_file")
        if self.operator == "hash" and self.on_fail == "modify" and not salts:
            raise ValueError("operator: hash needs a per-deployment salt: salt_env, salt_file or salt")
        return self

    @property
    def entity_types(self) -> tuple[str, ...]:
        if self.entities is not None:
            return self.entities
        return DEFAULT_SPACY_ENTITIES if self.engine == "spacy" else DEFAULT_ENTITIES

    @property
    def categories(self) -> tuple[str, ...]:
        return (*self.entity_types, *(r.supported_entity for r in self.recognizers))

    def build(self, env: BuildEnv) -> PiiGuardrail:
        """Load the analyzer into the workers (or in-process); ``ValueError`` says what is missing."""
        spec = self.analyzer_spec(env.base_dir)
        redact = self.redact_spec(env.base_dir) if self.on_fail == "modify" else None
        factory = functools.partial(make_handler, spec, redact)
        if env.workers is None:
            return PiiGuardrail(self.name, _inline(factory()))
        key = f"{spec.key}:{hash_key(redact)}"
        env.workers.prepare_from_thread(key, factory, self.processes)
        return PiiGuardrail(self.name, functools.partial(_pooled, env.workers.call, key))

    def analyzer_spec(self, base_dir: Path) -> AnalyzerSpec:
        model = self.model
        if model is not None and (base_dir / model).is_dir():
            model = str(base_dir / model)
        if model is not None:
            check_model_installed(model)  # fail in `guardd check`, not at the first request
        return AnalyzerSpec(
            engine=self.engine,
            model=model,
            language=self.language,
            entities=self.entity_types,
            score_threshold=self.score_threshold,
            allow_list=self.allow_list,
            recognizers=tuple(r.spec() for r in (*self.recognizers, *self._file_recognizers(base_dir))),
            phone_regions=self.phone_regions,
        )

    def _file_recognizers(self, base_dir: Path) -> tuple[RecognizerConfig, ...]:
        if self.recognizers_file is None:
            return ()
        path = base_dir / self.recognizers_file
        try:
            return RecognizersFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))).recognizers
        except (yaml.YAMLError, ValidationError) as exc:
            raise ValueError(f"recognizers_file {path}: {exc}") from None

    def redact_spec(self, base_dir: Path) -> RedactSpec:
        return RedactSpec(self.operator, self.keep_last, self.mask_char, self._salt(base_dir))

    def _salt(self, base_dir: Path) -> bytes:
        if self.operator != "hash":
            return b""
        if self.salt_env is not None:
            value = os.environ.get(self.salt_env, "")
            where = f"environment variable {self.salt_env}"
        elif self.salt_file is not None:
            value = (base_dir / self.salt_file).read_text(encoding="utf-8").strip()
            where = f"salt_file {self.salt_file}"
        else:
            value, where = self.salt or "", "salt"
        if len(value.encode()) < MIN_SALT_BYTES:
            raise ValueError(f"{where} must hold a salt of at least {MIN_SALT_BYTES} bytes")
        return value.encode()


def hash_key(redact: RedactSpec | None) -> str:
    """Part of the handler key; a digest, so the salt never appears in logs."""
    import hashlib  # noqa: PLC0415

    return hashlib.sha256(repr(redact).encode()).hexdigest()[:16]


def _inline(handler: PiiHandler) -> Runner:
    async def run(text: str) -> PiiVerdict:
        return await asyncio.to_thread(handler, text)

    return run


async def _pooled(call: Callable[[str, object], Awaitable[object]], key: str, text: str) -> PiiVerdict:
    verdict = await call(key, text)
    assert isinstance(verdict, PiiVerdict)  # noqa: S101 - the handler under this key makes only these
    return verdict


@dataclass(frozen=True, slots=True)
class PiiGuardrail:
    """Finds PII with presidio in a worker; reports entity types with spans, and redacts when modifying."""

    name: str
    runner: Runner
    cost: Cost = "cpu"

    async def check(self, text: str, ctx: CheckContext) -> Result:  # noqa: ARG002 - text is enough
        """Analyse ``text`` off the event loop."""
        if not text:
            return CLEAN
        verdict = await self.runner(text)
        if not verdict.found:
            return CLEAN
        detections = _detections(verdict)
        score = max(d.score for d in detections)
        if verdict.redaction is None:
            return Result(score=score, detections=detections)
        return Result(score, detections, verdict.redaction.text, verdict.redaction.edits)


def _detections(verdict: PiiVerdict) -> tuple[Detection, ...]:
    by_entity: dict[str, list[tuple[int, int, float]]] = {}
    for entity, start, end, score in verdict.found:
        by_entity.setdefault(entity, []).append((start, end, score))
    detections = []
    for entity, hits in sorted(by_entity.items()):
        hits.sort()
        spans = tuple(Span(start, end) for start, end, _ in hits[:MAX_SPANS])
        # The message names the type and count only: quoting the value would leak it into logs.
        detections.append(Detection(entity, max(s for *_, s in hits), f"{entity} found {len(hits)} time(s)", spans))
    return tuple(detections)
